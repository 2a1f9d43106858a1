// The store root is an OCI image layout that other tools read directly:
// `skopeo inspect oci:ROOT:name:tag` and `umoci unpack --image ROOT:name:tag`.
// skopeo and umoci are test dependencies (scripts/deps.sh installs them).
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "store/store.hpp"
#include "temp_dir.hpp"
#include "tiny_tar.hpp"

using namespace mkimage;
using namespace mkimage::store;

namespace {

// Runs a shell command; returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

Image two_layer_image(Store& s) {
  ImageConfig cfg;
  cfg.created = Timestamp{1700000000, 0};
  cfg.config.env = {"PATH=/usr/bin:/bin"};
  cfg.config.cmd = std::vector<std::string>{"/bin/hello"};
  cfg.config.working_dir = "/app";
  cfg.config.labels = {{"org.example.test", "yes"}};
  std::vector<Descriptor> layers;
  std::optional<ChainId> parent;
  for (const auto& tar : {test::tiny_tar({{"app/", ""}, {"app/hello.txt", "hello from layer 0\n"}}),
                          test::tiny_tar({{"app/", ""}, {"app/second.txt", "layer 1\n", 0600}})}) {
    auto info = s.blobs().put(tar);
    REQUIRE(info.ok());
    REQUIRE(s.add_layer(*info, parent).ok());
    DiffId diff{info->digest};
    parent = chain_id_of(parent ? &*parent : nullptr, diff);
    cfg.diff_ids.push_back(diff);
    layers.push_back(Descriptor{oci_layer_media_type(Compression::none), info->digest, info->size, {}, std::nullopt});
    cfg.history.push_back(HistoryEntry{cfg.created, "COPY . /app", "", "", false});
  }
  auto img = s.put_image(cfg, layers);
  REQUIRE(img.ok());
  return *img;
}

}  // namespace

TEST_CASE("skopeo inspect reads the store root as an OCI layout") {
  REQUIRE_MESSAGE(run("command -v skopeo").first == 0, "skopeo is a test dependency: run scripts/deps.sh");
  test::TempDir tmp;
  auto opened = Store::open(tmp.path() / "root");
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image img = two_layer_image(s);
  REQUIRE(s.tag(Reference::parse("goals:latest").value(), img.record.manifest).ok());
  REQUIRE(s.tag(Reference::parse("localhost:5000/team/app:v2").value(), img.record.manifest).ok());

  for (const char* name : {"goals:latest", "localhost:5000/team/app:v2"}) {
    CAPTURE(name);
    auto [rc, out] = run("skopeo inspect oci:" + s.root().dir().string() + ":" + name);
    REQUIRE_MESSAGE(rc == 0, out);
    auto j = nlohmann::json::parse(out);
    CHECK(j["Digest"] == img.record.manifest.str());
    CHECK(j["Architecture"] == "amd64");
    CHECK(j["Os"] == "linux");
    CHECK(j["Layers"].size() == 2);
    CHECK(j["Layers"][0] == img.manifest.layers[0].digest.str());
    CHECK(j["Labels"]["org.example.test"] == "yes");
  }
  auto [rc, out] = run("skopeo inspect --config oci:" + s.root().dir().string() + ":goals:latest");
  REQUIRE_MESSAGE(rc == 0, out);
  auto cfg = nlohmann::json::parse(out);
  CHECK(cfg["rootfs"]["diff_ids"][1] == img.config.diff_ids[1].digest.str());
  CHECK(cfg["config"]["Cmd"][0] == "/bin/hello");

  // An untagged name is not found.
  CHECK(run("skopeo inspect oci:" + s.root().dir().string() + ":nope:latest").first != 0);
}

TEST_CASE("umoci unpack extracts an image straight from the store root") {
  REQUIRE_MESSAGE(run("command -v umoci").first == 0, "umoci is a test dependency: run scripts/deps.sh");
  test::TempDir tmp;
  auto opened = Store::open(tmp.path() / "root");
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image img = two_layer_image(s);
  REQUIRE(s.tag(Reference::parse("goals").value(), img.record.manifest).ok());

  auto bundle = tmp.path() / "bundle";
  std::string rootless = ::geteuid() == 0 ? "" : " --rootless";
  auto [rc, out] = run("umoci unpack" + rootless + " --image " + s.root().dir().string() + ":goals:latest " + bundle.string());
  REQUIRE_MESSAGE(rc == 0, out);
  std::ifstream f(bundle / "rootfs" / "app" / "hello.txt");
  std::string content((std::istreambuf_iterator<char>(f)), {});
  CHECK(content == "hello from layer 0\n");
  CHECK(std::filesystem::exists(bundle / "rootfs" / "app" / "second.txt"));
  auto runtime = nlohmann::json::parse(std::ifstream(bundle / "config.json"));
  CHECK(runtime["process"]["cwd"] == "/app");
  CHECK(runtime["process"]["args"][0] == "/bin/hello");
  // umoci only reads: the store still checks clean.
  auto report = s.check(Repair::no);
  REQUIRE(report.ok());
  CHECK(report->ok());
  CHECK(report->orphaned.empty());
}
