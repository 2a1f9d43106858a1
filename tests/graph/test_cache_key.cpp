// Cache keys (graph/cache_key.hpp, docs/cache-keys.md).
#include <doctest/doctest.h>

#include "graph/cache_key.hpp"

using namespace mkimage::graph;

namespace {
CacheKey from_scratch() {
  KeyHasher h;
  return key_for_from(h, "scratch", "linux/amd64", std::nullopt);
}
RunKeyInputs run_inputs() {
  RunKeyInputs in;
  in.argv = {"/bin/sh", "-c", "make"};
  in.env = {{"PATH", "/bin"}, {"A", "1"}};
  in.user = "";
  in.workdir = "/src";
  return in;
}
}  // namespace

TEST_CASE("a key is stable and starts with version, op and parent") {
  KeyHasher h1, h2;
  auto k1 = key_for_run(h1, from_scratch(), run_inputs());
  auto k2 = key_for_run(h2, from_scratch(), run_inputs());
  CHECK(k1 == k2);
  CHECK(k1.str().rfind("sha256:", 0) == 0);
  REQUIRE(h1.fields().size() >= 3);
  CHECK(h1.fields()[0].first == "key-version");
  CHECK(h1.fields()[0].second == std::to_string(k_cache_key_version));
  CHECK(h1.fields()[1] == std::pair<std::string, std::string>{"op", "run"});
  CHECK(h1.fields()[2].first == "parent");
  CHECK(h1.fields()[2].second == from_scratch().str());
}

TEST_CASE("every RUN input changes the key") {
  KeyHasher h;
  auto base = key_for_run(h, from_scratch(), run_inputs());
  auto differs = [&](auto mutate) {
    auto in = run_inputs();
    mutate(in);
    KeyHasher hh;
    return !(key_for_run(hh, from_scratch(), in) == base);
  };
  CHECK(differs([](RunKeyInputs& in) { in.argv.back() = "make all"; }));
  CHECK(differs([](RunKeyInputs& in) { in.env.push_back({"B", "2"}); }));
  CHECK(differs([](RunKeyInputs& in) { in.env[1].second = "2"; }));
  CHECK(differs([](RunKeyInputs& in) { in.user = "1000"; }));
  CHECK(differs([](RunKeyInputs& in) { in.workdir = "/"; }));
  CHECK(differs([](RunKeyInputs& in) { in.network = "none"; }));
  CHECK(differs([](RunKeyInputs& in) { in.mounts.push_back("type=cache,target=/root/.npm"); }));
  CHECK(differs([](RunKeyInputs& in) { in.heredocs.push_back(std::string("EOF\0echo", 8)); }));
  // The parent is part of the key.
  KeyHasher hp, hq;
  auto other_parent = key_for_from(hp, "sha256:" + std::string(64, 'a'), "linux/amd64", std::nullopt);
  CHECK(!(key_for_run(hq, other_parent, run_inputs()) == base));
}

TEST_CASE("env order does not matter: the key sorts it by name") {
  auto a = run_inputs(), b = run_inputs();
  std::swap(b.env[0], b.env[1]);
  KeyHasher h1, h2;
  CHECK(key_for_run(h1, from_scratch(), a) == key_for_run(h2, from_scratch(), b));
  CHECK(sorted_env({{"Z", "1"}, {"A", "2"}}) == std::vector<std::string>{"A=2", "Z=1"});
}

TEST_CASE("fields are length-prefixed: moving a byte between fields changes the key") {
  KeyHasher h1, h2;
  h1.add("a", "xy");
  h1.add("b", "z");
  h2.add("a", "x");
  h2.add("b", "yz");
  CHECK(!(h1.finish() == h2.finish()));
  KeyHasher h3, h4;
  h3.add("argv", std::vector<std::string>{"a b"});
  h4.add("argv", std::vector<std::string>{"a", "b"});
  CHECK(!(h3.finish() == h4.finish()));
}

TEST_CASE("COPY keys follow the content digest, not the instruction alone") {
  CopyKeyInputs in;
  in.dest = "/app/";
  in.sources = {"."};
  in.sources_digest = "sha256:" + std::string(64, '1');
  KeyHasher h1, h2, h3;
  auto k1 = key_for_copy(h1, from_scratch(), in);
  in.sources_digest = "sha256:" + std::string(64, '2');
  auto k2 = key_for_copy(h2, from_scratch(), in);
  CHECK(!(k1 == k2));
  in.is_add = true;
  auto k3 = key_for_copy(h3, from_scratch(), in);
  CHECK(!(k3 == k2));
  CHECK(h3.fields()[1].second == "add");
}

TEST_CASE("FROM keys: scratch, a manifest digest and SOURCE_DATE_EPOCH differ") {
  KeyHasher a, b, c;
  auto k1 = key_for_from(a, "scratch", "linux/amd64", std::nullopt);
  auto k2 = key_for_from(b, "sha256:" + std::string(64, '0'), "linux/amd64", std::nullopt);
  auto k3 = key_for_from(c, "scratch", "linux/amd64", 1700000000);
  CHECK(!(k1 == k2));
  CHECK(!(k1 == k3));
}

TEST_CASE("metadata keys chain the config change") {
  KeyHasher a, b, c;
  auto k1 = key_for_metadata(a, from_scratch(), "ENV", {"A=1"});
  auto k2 = key_for_metadata(b, from_scratch(), "ENV", {"A=2"});
  auto k3 = key_for_metadata(c, from_scratch(), "LABEL", {"A=1"});
  CHECK(!(k1 == k2));
  CHECK(!(k1 == k3));
}

TEST_CASE("explanations abbreviate long values and escape newlines") {
  KeyHasher h;
  h.add("heredoc", std::string(300, 'x'));
  h.add("text", "a\nb");
  CHECK(h.fields()[0].second.find("300 bytes") != std::string::npos);
  CHECK(h.fields()[1].second == "a\\nb");
}
