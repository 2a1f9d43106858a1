// Miss reasons (builder/miss_reason.hpp), in memory: one case per kind of
// cause, each by its exact text (docs/cache.md "Why a step ran").
#include <doctest/doctest.h>

#include "builder/cache_key.hpp"
#include "builder/miss_reason.hpp"
#include "builder/step_inputs_codec.hpp"

using namespace mkimage::builder;

namespace {

const std::string k_alpine_a = "sha256:" + std::string(64, 'a');
const std::string k_alpine_b = "sha256:" + std::string(64, 'b');

// A stage being keyed: FROM, then links, as the step runner collects them.
struct Keyed {
  std::vector<KeyLink> links;
  CacheKey key;

  explicit Keyed(const std::string& base = k_alpine_a, const std::string& ref = "alpine:3.19") {
    KeyHasher h;
    key = key_for_from(h, base, "linux/amd64", std::nullopt);
    links.push_back(KeyLink{"FROM " + ref, h.fields()});
  }
  Keyed& meta(const std::string& keyword, const std::vector<std::string>& args) {
    KeyHasher h;
    key = key_for_metadata(h, key, keyword, args);
    links.push_back(KeyLink{keyword, h.fields()});
    return *this;
  }
  // A RUN step: its inputs; the chain restarts after it.
  StepInputs run(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env = {}) {
    RunKeyInputs in;
    in.argv = {"/bin/sh", "-c", command};
    in.env = env;
    in.workdir = "/";
    KeyHasher h;
    key = key_for_run(h, key, in);
    return take(KeyLink{"RUN " + command, h.fields()}, {});
  }
  // COPY . /app/ of `files`; the sources digest stands for the list.
  StepInputs copy(const FileListing& files) {
    CopyKeyInputs in;
    in.dest = "/app/";
    in.workdir = "/";
    in.sources = {"."};
    in.sources_digest = encode_file_listing_digest(files);
    KeyHasher h;
    key = key_for_copy(h, key, in);
    StepInputs s = take(KeyLink{"COPY . /app/", h.fields()}, files);
    s.has_files = true;
    return s;
  }

private:
  static std::string encode_file_listing_digest(const FileListing& files) {
    return file_listing_digest(encode_file_listing(files));
  }
  StepInputs take(KeyLink own, FileListing files) {
    StepInputs s;
    s.chain = std::move(links);
    s.chain.push_back(std::move(own));
    s.files = std::move(files);
    links.clear();
    return s;
  }
};

FileDigestEntry file(const std::string& path, const std::string& content, std::uint32_t mode = 0644) {
  return FileDigestEntry{path, mode, content};
}

const FileListing k_app = {file("package.json", "1111111111111111"), file("run.sh", "2222222222222222", 0755),
                           file("src", "3333333333333333", 0755), file("src/a.js", "4444444444444444"),
                           file("src/b.js", "5555555555555555"), file("src/c.js", "6666666666666666"),
                           file("z.txt", "7777777777777777")};

FileListing with(FileListing l, const std::string& path, const std::string& content, std::uint32_t mode = 0644) {
  for (auto& e : l)
    if (e.path == path) {
      e.content = content;
      e.mode = mode;
      return l;
    }
  l.push_back(file(path, content, mode));
  return l;
}

FileListing without(FileListing l, const std::string& path) {
  std::erase_if(l, [&](const FileDigestEntry& e) { return e.path == path; });
  return l;
}

}  // namespace

TEST_CASE("miss reason: no earlier build of this step") {
  CHECK(miss_reason(Keyed().run("make"), std::nullopt, {}) == "no earlier build of this step");
}

TEST_CASE("miss reason: --no-cache and --no-cache-filter come first") {
  StepInputs now = Keyed().run("make");
  MissFlags f;
  f.no_cache = true;
  CHECK(miss_reason(now, now, f) == "--no-cache");
  MissFlags g;
  g.no_cache_filter = true;
  CHECK(miss_reason(now, now, g) == "--no-cache-filter");
}

TEST_CASE("miss reason: one file changed is named") {
  auto before = Keyed().copy(k_app);
  auto now = Keyed().copy(with(k_app, "package.json", "aaaaaaaaaaaaaaaa"));
  CHECK(miss_reason(now, before, {}) == "package.json changed");
}

TEST_CASE("miss reason: several files changed, up to three names, then a count") {
  auto before = Keyed().copy(k_app);
  FileListing three = with(with(with(k_app, "src/a.js", "a"), "src/b.js", "b"), "src/c.js", "c");
  CHECK(miss_reason(Keyed().copy(three), before, {}) == "3 files changed: src/a.js, src/b.js, src/c.js");
  FileListing five = with(with(three, "z.txt", "z"), "package.json", "p");
  CHECK(miss_reason(Keyed().copy(five), before, {}) ==
        "5 files changed: package.json, src/a.js, src/b.js and 2 more");
}

TEST_CASE("miss reason: files added") {
  auto before = Keyed().copy(k_app);
  auto now = Keyed().copy(with(with(k_app, "x", "8888888888888888"), "y", "9999999999999999"));
  CHECK(miss_reason(now, before, {}) == "2 files added: x, y");
}

TEST_CASE("miss reason: a file removed") {
  auto before = Keyed().copy(k_app);
  CHECK(miss_reason(Keyed().copy(without(k_app, "z.txt")), before, {}) == "1 file removed: z.txt");
}

TEST_CASE("miss reason: a file's mode changed") {
  auto before = Keyed().copy(k_app);
  auto now = Keyed().copy(with(k_app, "run.sh", "2222222222222222", 0644));
  CHECK(miss_reason(now, before, {}) == "mode of run.sh changed");
}

TEST_CASE("miss reason: several kinds of file change at once, in a fixed order") {
  auto before = Keyed().copy(k_app);
  auto now = Keyed().copy(with(without(with(k_app, "package.json", "p"), "z.txt"), "new.txt", "n"));
  CHECK(miss_reason(now, before, {}) == "package.json changed; 1 file added: new.txt; 1 file removed: z.txt");
}

TEST_CASE("miss reason: without the earlier file list, the files are named in general") {
  auto before = Keyed().copy(k_app);
  before.has_files = false;
  before.files.clear();
  CHECK(miss_reason(Keyed().copy(with(k_app, "run.sh", "x")), before, {}) == "source files changed");
}

TEST_CASE("miss reason: an ARG value changed, old → new") {
  auto before = Keyed().meta("ARG", {"VERSION=1.0"}).run("make");
  auto now = Keyed().meta("ARG", {"VERSION=1.1"}).run("make");
  CHECK(miss_reason(now, before, {}) == "ARG VERSION changed: 1.0 → 1.1");
}

TEST_CASE("miss reason: the value of a secret-looking ARG or ENV is never shown") {
  auto before = Keyed().meta("ARG", {"API_TOKEN=abc"}).run("make");
  auto now = Keyed().meta("ARG", {"API_TOKEN=def"}).run("make");
  CHECK(miss_reason(now, before, {}) == "ARG API_TOKEN changed");
  auto e1 = Keyed().meta("ENV", {"DB_PASSWORD=abc"}).run("make");
  auto e2 = Keyed().meta("ENV", {"DB_PASSWORD=def"}).run("make");
  CHECK(miss_reason(e2, e1, {}) == "ENV DB_PASSWORD changed");
  // BuildKit's allow list: a "version" or "public" token makes the name no secret.
  auto k1 = Keyed().meta("ARG", {"KEY_VERSION=1"}).run("make");
  auto k2 = Keyed().meta("ARG", {"KEY_VERSION=2"}).run("make");
  CHECK(miss_reason(k2, k1, {}) == "ARG KEY_VERSION changed: 1 → 2");
}

TEST_CASE("miss reason: an ENV value changed; an ENV added or removed") {
  auto before = Keyed().meta("ENV", {"X=a"}).run("make");
  CHECK(miss_reason(Keyed().meta("ENV", {"X=b"}).run("make"), before, {}) == "ENV X changed: a → b");
  CHECK(miss_reason(Keyed().meta("ENV", {"X=a"}).meta("ENV", {"Y=1"}).run("make"), before, {}) == "ENV added");
  CHECK(miss_reason(Keyed().run("make"), before, {}) == "ENV removed");
}

TEST_CASE("miss reason: another metadata instruction changed") {
  auto before = Keyed().meta("USER", {"app"}).run("make");
  CHECK(miss_reason(Keyed().meta("USER", {"root"}).run("make"), before, {}) == "USER changed");
}

TEST_CASE("miss reason: the base image changed, with both digests") {
  auto before = Keyed(k_alpine_a).run("make");
  auto now = Keyed(k_alpine_b).run("make");
  CHECK(miss_reason(now, before, {}) ==
        "base image changed: alpine:3.19 sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…");
  auto other = Keyed(k_alpine_b, "alpine:3.20 AS build").run("make");
  CHECK(miss_reason(other, before, {}) ==
        "base image changed: alpine:3.19 sha256:aaaaaaaaaaaa… → alpine:3.20 sha256:bbbbbbbbbbbb…");
}

TEST_CASE("miss reason: the instruction changed") {
  auto before = Keyed().run("npm install");
  CHECK(miss_reason(Keyed().run("npm ci"), before, {}) == "instruction changed");
}

TEST_CASE("miss reason: the parent step ran") {
  Keyed k1;
  k1.copy(k_app);
  auto before = k1.run("npm ci");
  Keyed k2;
  k2.copy(with(k_app, "package.json", "p"));
  auto now = k2.run("npm ci");
  MissFlags f;
  f.parent_ran = true;
  CHECK(miss_reason(now, before, f) == "parent step ran");
  // The parent has another key but came from the cache.
  CHECK(miss_reason(now, before, {}) == "parent step changed");
}

TEST_CASE("miss reason: an ARG above the step, after an earlier filesystem step") {
  Keyed k1;
  k1.run("apk add make");
  auto before = k1.meta("ARG", {"V=1"}).run("make");
  Keyed k2;
  k2.run("apk add make");
  auto now = k2.meta("ARG", {"V=2"}).run("make");
  CHECK(miss_reason(now, before, {}) == "ARG V changed: 1 → 2");
}

TEST_CASE("miss reason: the entry was there but its layer is gone") {
  MissFlags f;
  f.layer_gone = true;
  CHECK(miss_reason(Keyed().run("make"), std::nullopt, f) == "cached layer was removed");
}

TEST_CASE("miss reason: network mode, environment from the image") {
  auto before = Keyed().run("make", {{"PATH", "/bin"}});
  CHECK(miss_reason(Keyed().run("make", {{"PATH", "/usr/bin"}}), before, {}) == "ENV PATH changed: /bin → /usr/bin");
}

TEST_CASE("step inputs codec: chains and file lists round-trip") {
  auto in = Keyed().meta("ARG", {"V=1"}).copy(k_app);
  auto chain = decode_chain(encode_chain(in.chain));
  REQUIRE(chain.ok());
  CHECK(*chain == in.chain);
  std::string encoded = encode_file_listing(k_app);
  auto files = decode_file_listing(encoded);
  REQUIRE(files.ok());
  CHECK(*files == k_app);
  CHECK(file_listing_digest(encoded) == file_listing_digest(encode_file_listing(k_app)));
  CHECK(file_listing_digest(encoded) != file_listing_digest(encode_file_listing(without(k_app, "z.txt"))));
  CHECK_FALSE(decode_file_listing("not zstd").ok());
  CHECK_FALSE(decode_chain("{}").ok());
  // 10 000 entries stay small: front-coded paths, 8 bytes of digest each.
  FileListing big;
  for (int i = 0; i < 10000; ++i) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016x", i * 2654435761u);
    big.push_back(file("src/module" + std::to_string(i / 100) + "/file" + std::to_string(i) + ".js", hex));
  }
  std::string b = encode_file_listing(big);
  CHECK(b.size() < 10000 * 16);
  CHECK(decode_file_listing(b).value() == big);
}
