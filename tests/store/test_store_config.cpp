#include <doctest/doctest.h>

#include <fstream>

#include "store/store_config.hpp"
#include "temp_dir.hpp"

using namespace mkimage::store;

TEST_CASE("store configuration: cache.max-size in docker's units, bytes, or absent") {
  auto c = parse_store_config(R"({"cache": {"max-size": "10GB"}})", "config.json");
  REQUIRE(c.ok());
  CHECK(c->cache_max_size == 10LL * 1024 * 1024 * 1024);
  c = parse_store_config(R"({"cache": {"max-size": 4096}, "other": {}})", "config.json");
  REQUIRE(c.ok());
  CHECK(c->cache_max_size == 4096);
  c = parse_store_config(R"({"cache": {"max-size": "0"}})", "config.json");
  REQUIRE(c.ok());
  CHECK_FALSE(c->cache_max_size.has_value());
  c = parse_store_config("{}", "config.json");
  REQUIRE(c.ok());
  CHECK_FALSE(c->cache_max_size.has_value());
}

TEST_CASE("store configuration: builder.max-parallelism bounds RUN steps, absent = the default") {
  auto c = parse_store_config(R"({"builder": {"max-parallelism": 3}})", "config.json");
  REQUIRE(c.ok());
  CHECK(c->max_parallelism == 3u);
  CHECK_FALSE(c->cache_max_size.has_value());
  c = parse_store_config(R"({"cache": {"max-size": "1GB"}})", "config.json");
  REQUIRE(c.ok());
  CHECK_FALSE(c->max_parallelism.has_value());
}

TEST_CASE("store configuration: mistakes are errors naming the file") {
  for (const char* bad : {"{", "[]", R"({"cache": 1})", R"({"cache": {"max-size": "lots"}})",
                          R"({"cache": {"maxsize": "1GB"}})", R"({"cache": {"max-size": -1}})",
                          R"({"cache": {"max-size": true}})", R"({"builder": 4})",
                          R"({"builder": {"max-parallelism": 0}})", R"({"builder": {"max-parallelism": "4"}})",
                          R"({"builder": {"maxparallelism": 4}})"}) {
    auto c = parse_store_config(bad, "/etc/mkimage/config.json");
    REQUIRE_MESSAGE(!c.ok(), bad);
    CHECK(c.error().message.find("/etc/mkimage/config.json") != std::string::npos);
  }
  CHECK(parse_store_config(R"({"cache": {"maxsize": "1GB"}})", "f").error().message.find("cache.maxsize") !=
        std::string::npos);
  CHECK(parse_store_config(R"({"builder": {"max-parallelism": -2}})", "f").error().message.find(
            "builder.max-parallelism") != std::string::npos);
}

TEST_CASE("store configuration: ROOT/config.json is read") {
  mkimage::test::TempDir tmp;
  std::ofstream(tmp.path() / "config.json") << R"({"cache": {"max-size": "512MB"}})";
  auto c = load_store_config(tmp.path());
  REQUIRE(c.ok());
  CHECK(c->cache_max_size == 512LL * 1024 * 1024);
  CHECK(c->source == tmp.path() / "config.json");
}
