#include <doctest/doctest.h>

#include "registry/config.hpp"
#include "registry/errors.hpp"
#include "registry/pull.hpp"

using namespace mkimage::registry;
namespace store = mkimage::store;

TEST_CASE("registry configuration: defaults, every key, errors") {
  auto c = RegistryConfig::parse("{}", "x.json");
  REQUIRE(c.ok());
  CHECK(c->max_concurrent_downloads == 3);
  CHECK(c->max_concurrent_uploads == 5);
  c = RegistryConfig::parse(R"({"registry-mirrors": ["https://m.example/"], "mirrors": {"ghcr.io": ["http://127.0.0.1:5001"]},
      "insecure-registries": ["reg.lan:5000"], "max-concurrent-downloads": 7, "stall-timeout-seconds": 3,
      "max-attempts": 2, "upload-chunk-size": 65536})",
                            "x.json");
  REQUIRE(c.ok());
  CHECK(c->mirrors["docker.io"] == std::vector<std::string>{"https://m.example"});
  CHECK(c->mirrors["ghcr.io"] == std::vector<std::string>{"http://127.0.0.1:5001"});
  CHECK(c->insecure.count("reg.lan:5000"));
  CHECK(c->max_concurrent_downloads == 7);
  CHECK(c->stall_timeout_s == 3);
  CHECK(c->max_attempts == 2);
  CHECK(c->upload_chunk_size == 65536);
  CHECK_FALSE(RegistryConfig::parse(R"({"upload-chunk-size": 1})", "x.json").ok());
  auto bad = RegistryConfig::parse("{", "/etc/mkimage/registries.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("/etc/mkimage/registries.json") != std::string::npos);
  bad = RegistryConfig::parse(R"({"max-concurrent-downloads": "many"})", "x.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("max-concurrent-downloads") != std::string::npos);
  CHECK_FALSE(RegistryConfig::parse(R"({"max-attempts": 0})", "x.json").ok());
  CHECK_FALSE(RegistryConfig::parse(R"({"upload-chunk-size": 0})", "x.json").ok());
  CHECK_FALSE(RegistryConfig::parse(R"({"upload-chunk-size": -5})", "x.json").ok());
  CHECK_FALSE(RegistryConfig::parse(R"({"stall-timeout-seconds": -1})", "x.json").ok());
}

TEST_CASE("endpoints: docker.io's API host, https by default, http for loopback and insecure, mirrors first") {
  RegistryConfig c;
  c.certs_dir = "/nonexistent";
  auto e = endpoints_for(c, "docker.io", true);
  REQUIRE(e.size() == 1);
  CHECK(e[0].base_url == "https://registry-1.docker.io");
  // loopback: http first, https (verified) when the server speaks TLS
  for (const char* h : {"localhost:5000", "127.0.0.1:5000", "[::1]:5000"}) {
    CHECK(endpoints_for(c, h, true)[0].base_url == std::string("http://") + h);
    CHECK(endpoints_for(c, h, true)[0].scheme_probe);
  }
  CHECK(endpoints_for(c, "reg.lan:5000", true)[0].base_url == "https://reg.lan:5000");
  CHECK_FALSE(endpoints_for(c, "reg.lan:5000", true)[0].scheme_probe);
  c.insecure.insert("reg.lan:5000");
  CHECK(endpoints_for(c, "reg.lan:5000", true)[0].base_url == "http://reg.lan:5000");
  c.mirrors["docker.io"] = {"http://127.0.0.1:5001"};
  e = endpoints_for(c, "docker.io", true);
  REQUIRE(e.size() == 2);
  CHECK(e[0].mirror);
  CHECK(e[0].base_url == "http://127.0.0.1:5001");
  CHECK(e[1].base_url == "https://registry-1.docker.io");
  CHECK_FALSE(e[1].scheme_probe);
  CHECK(endpoints_for(c, "docker.io", false).size() == 1);  // pushes never go to a mirror
  CHECK(is_loopback("localhost"));
  CHECK(is_loopback("127.9.9.9:80"));
  CHECK_FALSE(is_loopback("128.0.0.1"));
  CHECK_FALSE(is_loopback("localhost.example.com"));
  CHECK_FALSE(is_loopback("127.corp.example"));
  CHECK_FALSE(is_loopback("127.corp.example:5000"));
}

TEST_CASE("select_platform picks os/arch, then the variant") {
  store::ImageIndex idx;
  auto entry = [](const char* arch, const char* variant, char fill) {
    store::Descriptor d;
    d.media_type = store::MediaType::of(store::media_types::oci_manifest);
    d.digest = *store::Digest::from_hex(std::string(64, fill));
    d.platform = store::Platform{arch, "linux", variant};
    return d;
  };
  idx.manifests = {entry("arm64", "v8", 'a'), entry("arm", "v6", 'b'), entry("arm", "v7", 'c'), entry("amd64", "", 'd')};
  auto p = select_platform(idx, store::Platform{});
  REQUIRE(p.has_value());
  CHECK(p->digest.hex()[0] == 'd');
  p = select_platform(idx, store::Platform{"arm", "linux", "v7"});
  REQUIRE(p.has_value());
  CHECK(p->digest.hex()[0] == 'c');
  p = select_platform(idx, store::Platform{"arm64", "linux", ""});
  REQUIRE(p.has_value());
  CHECK(p->digest.hex()[0] == 'a');
  CHECK_FALSE(select_platform(idx, store::Platform{"s390x", "linux", ""}).has_value());
  CHECK_FALSE(select_platform(idx, store::Platform{"amd64", "windows", ""}).has_value());
}

TEST_CASE("registry error documents read in docker's words") {
  mkimage::net::HttpResponse r;
  r.status = 404;
  r.error_body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]})";
  CHECK(response_error_text(r) == "manifest unknown: manifest unknown");
  CHECK(response_error_code(r) == "MANIFEST_UNKNOWN");
  CHECK(status_text(r) == "manifest unknown: manifest unknown");
  r.status = 502;
  r.error_body = "<html>bad gateway</html>";
  CHECK(response_error_text(r).empty());
  CHECK(status_text(r) == "unexpected status code 502 Bad Gateway");
  // a registry's error document with a non-string code: the message stays, no exception
  r.status = 404;
  r.error_body = R"({"errors":[{"code":404,"message":"not here"}]})";
  CHECK(response_error_text(r) == "not here");
  CHECK(status_text(r) == "not here");
}
