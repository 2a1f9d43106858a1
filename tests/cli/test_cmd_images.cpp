// The image commands run as the real binary (MKIMAGE_BINARY) against a store
// root filled through the store API.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "mkimage/output_format.hpp"
#include "store/store.hpp"

using namespace mkimage;
using namespace mkimage::store;

namespace {

struct Dir {
  Dir() {
    std::string t = (std::filesystem::temp_directory_path() / "mkimage-cli-test.XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()));
    path = t;
  }
  ~Dir() {
    std::error_code ec;
    if (std::uncaught_exceptions() == 0) std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

std::pair<int, std::string> mk(const Dir& d, const std::string& args, const std::string& input = "") {
  std::string cmd = std::string(MKIMAGE_BINARY) + " --root " + (d.path / "root").string() + " " + args + " 2>&1";
  if (!input.empty()) cmd = "printf '" + input + "' | " + cmd;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

Image add_image(Store& s, const std::string& content, std::int64_t created) {
  auto layer = s.blobs().put(content);
  REQUIRE(layer.ok());
  REQUIRE(s.add_layer(*layer, std::nullopt).ok());
  ImageConfig cfg;
  cfg.created = Timestamp{created, 0};
  cfg.config.env = {"PATH=/bin", "X=" + content};
  cfg.config.cmd = std::vector<std::string>{"sh"};
  cfg.diff_ids = {DiffId{layer->digest}};
  cfg.history = {HistoryEntry{cfg.created, "COPY file / # a long instruction text that docker would truncate", "", "", false},
                 HistoryEntry{cfg.created, "CMD [\"sh\"]", "", "buildkit.dockerfile.v0", true}};
  auto img = s.put_image(cfg, {Descriptor{MediaType::of(media_types::oci_layer), layer->digest, layer->size, {}, std::nullopt}});
  REQUIRE(img.ok());
  return *img;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    out.push_back(s.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("human_size and human_duration match docker's go-units") {
  CHECK(cli::human_size(0) == "0B");
  CHECK(cli::human_size(999) == "999B");
  CHECK(cli::human_size(1234) == "1.23kB");
  CHECK(cli::human_size(5330000) == "5.33MB");
  CHECK(cli::human_size(100000000) == "100MB");
  CHECK(cli::human_duration(0) == "Less than a second");
  CHECK(cli::human_duration(1) == "1 second");
  CHECK(cli::human_duration(59) == "59 seconds");
  CHECK(cli::human_duration(90) == "About a minute");
  CHECK(cli::human_duration(600) == "10 minutes");
  CHECK(cli::human_duration(3600) == "About an hour");
  CHECK(cli::human_duration(5 * 3600) == "5 hours");
  CHECK(cli::human_duration(3 * 86400) == "3 days");
  CHECK(cli::human_duration(20 * 86400) == "2 weeks");
  CHECK(cli::human_duration(100 * 86400) == "3 months");
  CHECK(cli::human_duration(800 * 86400) == "2 years");
}

TEST_CASE("Go template subset for --format") {
  nlohmann::json v = {{"Id", "sha256:abc"},
                      {"RepoTags", {"a:1", "b:2"}},
                      {"Config", {{"Env", {"A=1"}}, {"Labels", {{"k", "v"}}}, {"Cmd", nullptr}}}};
  std::string out, err;
  REQUIRE(cli::apply_go_template("{{.Id}} {{.RepoTags}} {{.Config.Env}} {{.Config.Labels}}", v, out, err));
  CHECK(out == "sha256:abc [a:1 b:2] [A=1] map[k:v]");
  REQUIRE(cli::apply_go_template("{{json .Config.Env}}\\t{{len .RepoTags}} {{.Missing.Field}}", v, out, err));
  CHECK(out == "[\"A=1\"]\t2 <no value>");
  CHECK_FALSE(cli::apply_go_template("{{.Id", v, out, err));
  CHECK_FALSE(cli::apply_go_template("{{printf .Id}}", v, out, err));
  CHECK(err.find("printf") != std::string::npos);
}

TEST_CASE("images, tag, inspect, history, rmi, prune and store check through the CLI") {
  Dir d;
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  Image old_img, new_img;
  {
    auto s = Store::open(d.path / "root");
    REQUIRE(s.ok());
    old_img = add_image(**s, "old layer", now - 3 * 86400);
    new_img = add_image(**s, "new layer", now - 2 * 3600);
    REQUIRE((*s)->tag(Reference::parse("goals").value(), new_img.record.manifest).ok());
  }
  auto [rc, out] = mk(d, "images");
  REQUIRE_MESSAGE(rc == 0, out);
  auto l = lines(out);
  REQUIRE(l.size() == 3);
  CHECK(l[0].starts_with("REPOSITORY   TAG      IMAGE ID       CREATED       SIZE"));
  CHECK(l[1].starts_with("goals        latest   " + new_img.record.config.short_id() + "   2 hours ago   9B"));
  CHECK(l[2].starts_with("<none>       <none>   " + old_img.record.config.short_id() + "   3 days ago"));

  std::tie(rc, out) = mk(d, "tag goals me/app:v1");
  REQUIRE_MESSAGE(rc == 0, out);
  std::tie(rc, out) = mk(d, "images -q");
  CHECK(lines(out) == std::vector<std::string>{new_img.record.config.short_id(), old_img.record.config.short_id()});
  std::tie(rc, out) = mk(d, "images --digests me/app");
  l = lines(out);
  REQUIRE(l.size() == 2);
  CHECK(l[0].find("DIGEST") != std::string::npos);
  CHECK(l[1].find("<none>") != std::string::npos);  // never pushed or pulled: no registry digest
  std::tie(rc, out) = mk(d, "images --format json");
  l = lines(out);
  REQUIRE(l.size() == 3);
  auto row = nlohmann::json::parse(l[0]);
  CHECK(row["ID"] == new_img.record.config.short_id());
  CHECK(row["CreatedSince"] == "2 hours ago");
  std::tie(rc, out) = mk(d, "tag goals Bad:Ref");
  CHECK(rc == 1);
  CHECK(out.find("invalid reference") != std::string::npos);
  std::tie(rc, out) = mk(d, "tag nothere x");
  CHECK(rc == 1);
  CHECK(out.find("No such image: nothere") != std::string::npos);

  std::tie(rc, out) = mk(d, "image inspect goals");
  REQUIRE_MESSAGE(rc == 0, out);
  auto j = nlohmann::json::parse(out);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 1);
  CHECK(j[0]["Id"] == new_img.id());
  CHECK(j[0]["RepoTags"] == nlohmann::json({"goals:latest", "me/app:v1"}));
  CHECK(j[0]["RepoDigests"] == nlohmann::json::array());  // digests come from registries only
  CHECK(j[0]["Architecture"] == "amd64");
  CHECK(j[0]["Os"] == "linux");
  CHECK(j[0]["Size"] == 9);
  CHECK(j[0]["Config"]["Env"][1] == "X=new layer");
  CHECK(j[0]["Config"]["Entrypoint"].is_null());
  CHECK(j[0]["RootFS"]["Layers"][0] == new_img.config.diff_ids[0].digest.str());
  // Tagged moments ago: LastTagTime is now-ish, not docker's zero time.
  auto tag_time = mkimage::store::Timestamp::parse(j[0]["Metadata"]["LastTagTime"].get<std::string>());
  REQUIRE(tag_time.ok());
  CHECK(std::abs(tag_time->seconds - mkimage::store::Timestamp::now().seconds) < 600);
  std::tie(rc, out) = mk(d, "inspect --format '{{.Config.Env}}|{{json .Config.Cmd}}' " + new_img.record.config.short_id());
  CHECK(out == "[PATH=/bin X=new layer]|[\"sh\"]\n");
  std::tie(rc, out) = mk(d, "inspect goals nothere");
  CHECK(rc == 1);
  CHECK(out.find("No such image: nothere") != std::string::npos);

  std::tie(rc, out) = mk(d, "history goals");
  REQUIRE_MESSAGE(rc == 0, out);
  l = lines(out);
  REQUIRE(l.size() == 3);
  CHECK(l[0].starts_with("IMAGE          CREATED       CREATED BY"));
  CHECK(l[1].starts_with(new_img.record.config.short_id() + "   2 hours ago   CMD [\"sh\"]"));
  CHECK(l[1].find("0B") != std::string::npos);
  CHECK(l[1].find("buildkit.dockerfile.v0") != std::string::npos);
  CHECK(l[2].starts_with("<missing>"));
  CHECK(l[2].find("…") != std::string::npos);
  CHECK(l[2].find("9B") != std::string::npos);

  std::tie(rc, out) = mk(d, "rmi " + new_img.record.config.short_id());
  CHECK(rc == 1);
  CHECK(out.find("must be forced") != std::string::npos);
  std::tie(rc, out) = mk(d, "rmi me/app:v1");
  CHECK(rc == 0);
  CHECK(out == "Untagged: me/app:v1\n");

  std::tie(rc, out) = mk(d, "image prune", "n\\n");
  CHECK(out.find("WARNING! This will remove all dangling images.") != std::string::npos);
  std::tie(rc, out) = mk(d, "images -q");
  CHECK(lines(out).size() == 2);
  std::tie(rc, out) = mk(d, "image prune -f");
  REQUIRE_MESSAGE(rc == 0, out);
  CHECK(out.find("deleted: " + old_img.id()) != std::string::npos);
  CHECK(out.find("Total reclaimed space: ") != std::string::npos);
  std::tie(rc, out) = mk(d, "images -q");
  CHECK(lines(out) == std::vector<std::string>{new_img.record.config.short_id()});

  std::tie(rc, out) = mk(d, "store check");
  CHECK(rc == 0);
  CHECK(out.find("checked 3 blobs: 0 corrupt, 0 missing, 0 orphaned") != std::string::npos);
  std::filesystem::remove(d.path / "root" / "blobs" / "sha256" / new_img.manifest.layers[0].digest.hex());
  std::tie(rc, out) = mk(d, "store check");
  CHECK(rc == 1);
  CHECK(out.find("missing: " + new_img.manifest.layers[0].digest.str()) != std::string::npos);
  std::tie(rc, out) = mk(d, "store check --repair");
  CHECK(rc == 0);
  CHECK(out.find("repaired: untagged goals:latest") != std::string::npos);
  std::tie(rc, out) = mk(d, "images -q");
  CHECK(out.empty());

  std::tie(rc, out) = mk(d, "rmi goals");
  CHECK(rc == 1);
  CHECK(out.find("No such image: goals") != std::string::npos);
}
