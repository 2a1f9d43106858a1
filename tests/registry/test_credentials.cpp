#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../store/temp_dir.hpp"
#include "registry/credentials.hpp"

using namespace mkimage::registry;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
}  // namespace

TEST_CASE("base64 round trips and rejects bad input") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "user:pa:ss\xff"}) {
    auto d = base64_decode(base64_encode(s));
    REQUIRE(d.has_value());
    CHECK(*d == s);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("a*b").has_value());
}

TEST_CASE("docker.io credentials live under docker's index key") {
  CHECK(credential_server("docker.io") == "https://index.docker.io/v1/");
  CHECK(credential_server("localhost:5000") == "localhost:5000");
}

TEST_CASE("CredentialStore: store, get, erase in config.json, its mode kept (new: 0600), other keys kept") {
  mkimage::test::TempDir dir;
  fs::path file = dir.path() / "docker" / "config.json";
  fs::create_directories(file.parent_path());
  std::ofstream(file) << R"({"psFormat": "table {{.ID}}", "auths": {"other:1": {"auth": "eDp5"}}})";
  fs::permissions(file, fs::perms(0644));
  CredentialStore cs(file);
  auto none = cs.get("localhost:5000");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  auto in_file = cs.store("localhost:5000", Credentials{"alice", "s3:cret", ""});
  REQUIRE(in_file.ok());
  CHECK(*in_file);  // no helper: the secret is in the file
  struct stat st{};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);  // the existing file's mode, as docker keeps it
  CredentialStore fresh(dir.path() / "new" / "config.json");
  REQUIRE(fresh.store("localhost:5000", Credentials{"a", "b", ""}).ok());
  REQUIRE(::stat((dir.path() / "new" / "config.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto j = nlohmann::json::parse(slurp(file));
  CHECK(j["psFormat"] == "table {{.ID}}");
  CHECK(j["auths"]["other:1"]["auth"] == "eDp5");
  CHECK(j["auths"]["localhost:5000"]["auth"] == base64_encode("alice:s3:cret"));

  auto got = cs.get("localhost:5000");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->username == "alice");
  CHECK((*got)->password == "s3:cret");  // only the first ':' separates

  REQUIRE(cs.store("docker.io", Credentials{"bob", "pw", ""}).ok());
  j = nlohmann::json::parse(slurp(file));
  CHECK(j["auths"].contains("https://index.docker.io/v1/"));

  auto erased = cs.erase("localhost:5000");
  REQUIRE(erased.ok());
  CHECK(*erased);
  erased = cs.erase("localhost:5000");
  REQUIRE(erased.ok());
  CHECK_FALSE(*erased);
  got = cs.get("localhost:5000");
  REQUIRE(got.ok());
  CHECK_FALSE(got->has_value());
}

TEST_CASE("CredentialStore: keys with a scheme and path, username/password fields") {
  mkimage::test::TempDir dir;
  fs::path file = dir.path() / "config.json";
  std::ofstream(file) << R"({"auths": {"https://reg.test:5000/v2/": {"username": "u1", "password": "p1"},
                                        "http://plain.test": {"auth": "dTI6cDI="}}})";
  CredentialStore cs(file);
  auto a = cs.get("reg.test:5000");
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->username == "u1");
  CHECK((*a)->password == "p1");
  auto b = cs.get("plain.test");
  REQUIRE(b.ok());
  REQUIRE(b->has_value());
  CHECK((*b)->username == "u2");
  auto erased = cs.erase("reg.test:5000");
  REQUIRE(erased.ok());
  CHECK(*erased);
  auto j = nlohmann::json::parse(slurp(file));
  CHECK_FALSE(j["auths"].contains("https://reg.test:5000/v2/"));
  CHECK(j["auths"].contains("http://plain.test"));
}

TEST_CASE("CredentialStore: a directory or device as config.json is an error; a symlink is followed") {
  mkimage::test::TempDir dir;
  fs::create_directories(dir.path() / "isdir" / "config.json");
  auto r = CredentialStore(dir.path() / "isdir" / "config.json").get("x:1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("not a regular file") != std::string::npos);
  CHECK_FALSE(CredentialStore("/dev/zero").get("x:1").ok());

  fs::create_directories(dir.path() / "real");
  std::ofstream(dir.path() / "real" / "config.json") << "{}";
  fs::create_directories(dir.path() / "link");
  fs::create_symlink("../real/config.json", dir.path() / "link" / "config.json");
  CredentialStore cs(dir.path() / "link" / "config.json");
  REQUIRE(cs.store("x:1", Credentials{"u", "p", ""}).ok());
  CHECK(fs::is_symlink(dir.path() / "link" / "config.json"));
  CHECK(slurp(dir.path() / "real" / "config.json").find(base64_encode("u:p")) != std::string::npos);
}

TEST_CASE("CredentialStore: a malformed config.json is an error naming the file") {
  mkimage::test::TempDir dir;
  fs::path file = dir.path() / "config.json";
  std::ofstream(file) << "{not json";
  auto r = CredentialStore(file).get("localhost:5000");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(file.string()) != std::string::npos);
}

TEST_CASE("CredentialStore: credsStore helper protocol (get, store, erase)") {
  mkimage::test::TempDir dir;
  fs::path bin = dir.path() / "bin";
  fs::create_directories(bin);
  fs::path log = dir.path() / "helper.log";
  // A helper that keeps one credential in a file and logs its verbs and inputs.
  std::ofstream(bin / "docker-credential-fake") << "#!/bin/sh\n"
      "in=$(cat); echo \"$1 $in\" >>" << log << "\n"
      "case $1 in\n"
      "get) if [ \"$in\" = reg.test:1 ]; then echo '{\"ServerURL\":\"reg.test:1\",\"Username\":\"hu\",\"Secret\":\"hs\"}';"
      " elif [ \"$in\" = tok.test ]; then echo '{\"ServerURL\":\"tok.test\",\"Username\":\"<token>\",\"Secret\":\"rt\"}';"
      " else echo 'credentials not found in native keychain'; exit 1; fi;;\n"
      "store|erase) exit 0;;\n"
      "esac\n";
  fs::permissions(bin / "docker-credential-fake", fs::perms::owner_all);
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
  fs::path file = dir.path() / "config.json";
  std::ofstream(file) << R"({"credsStore": "fake"})";
  CredentialStore cs(file);

  auto got = cs.get("reg.test:1");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->username == "hu");
  CHECK((*got)->password == "hs");
  got = cs.get("tok.test");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->identity_token == "rt");
  got = cs.get("missing.test");
  REQUIRE(got.ok());
  CHECK_FALSE(got->has_value());
  auto in_file = cs.store("reg.test:1", Credentials{"u", "p", ""});
  REQUIRE(in_file.ok());
  CHECK_FALSE(*in_file);  // the helper keeps it
  auto j = nlohmann::json::parse(slurp(file));
  CHECK(j["auths"]["reg.test:1"].empty());  // the secret went to the helper only
  CHECK(slurp(log).find(R"(store {"Secret":"p","ServerURL":"reg.test:1","Username":"u"})") != std::string::npos);
  ::setenv("PATH", old_path.c_str(), 1);
}
