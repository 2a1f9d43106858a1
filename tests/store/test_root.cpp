#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "store/root.hpp"
#include "temp_dir.hpp"

using namespace mkimage;
using namespace mkimage::store;

TEST_CASE("default_root: --root, MKIMAGE_ROOT, then the uid default") {
  CHECK(default_root("/x/y").value() == "/x/y");
  const char* saved = std::getenv("MKIMAGE_ROOT");
  std::string saved_s = saved ? saved : "";
  ::setenv("MKIMAGE_ROOT", "/from/env", 1);
  CHECK(default_root("").value() == "/from/env");
  CHECK(default_root("/opt").value() == "/opt");
  ::unsetenv("MKIMAGE_ROOT");
  if (geteuid() == 0) {
    CHECK(default_root("").value() == "/var/lib/mkimage");
  } else {
    ::setenv("XDG_DATA_HOME", "/xdg", 1);
    CHECK(default_root("").value() == "/xdg/mkimage");
  }
  if (saved) ::setenv("MKIMAGE_ROOT", saved_s.c_str(), 1);
}

TEST_CASE("Root::open creates an OCI image layout and is idempotent") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path() / "a" / "b");
  REQUIRE(root.ok());
  CHECK(std::filesystem::is_directory(root->blobs_dir()));
  CHECK(std::filesystem::is_directory(root->tmp_dir()));
  auto layout = nlohmann::json::parse(read_file(root->oci_layout()).value());
  CHECK(layout["imageLayoutVersion"] == "1.0.0");
  auto index = nlohmann::json::parse(read_file(root->index_json()).value());
  CHECK(index["schemaVersion"] == 2);
  CHECK(index["manifests"].empty());
  // A second open keeps an existing index.json.
  REQUIRE(write_file_atomic(root->index_json(), R"({"schemaVersion":2,"manifests":[1]})").ok());
  REQUIRE(Root::open(tmp.path() / "a" / "b").ok());
  CHECK(read_file(root->index_json()).value() == R"({"schemaVersion":2,"manifests":[1]})");
  // A foreign layout version is refused.
  REQUIRE(write_file_atomic(root->oci_layout(), R"({"imageLayoutVersion":"9"})").ok());
  auto bad = Root::open(tmp.path() / "a" / "b");
  CHECK_FALSE(bad.ok());
}

TEST_CASE("read_file and write_file_atomic report the path") {
  test::TempDir tmp;
  auto r = read_file(tmp.path() / "missing");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("missing") != std::string::npos);
  CHECK(r.error().message.find("No such file") != std::string::npos);
  auto w = write_file_atomic(tmp.path() / "nodir" / "f", "x");
  CHECK_FALSE(w.ok());
  REQUIRE(write_file_atomic(tmp.path() / "f", "hello").ok());
  CHECK(read_file(tmp.path() / "f").value() == "hello");
}

TEST_CASE("copy_fd_to_file copies a stream into a new file") {
  test::TempDir tmp;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "abc", 3) == 3);
  ::close(fds[1]);
  auto dest = tmp.path() / "out";
  REQUIRE(copy_fd_to_file(fds[0], "-", dest).ok());
  ::close(fds[0]);
  CHECK(read_file(dest).value() == "abc");
  // The destination must be new.
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[1]);
  auto again = copy_fd_to_file(fds[0], "-", dest);
  ::close(fds[0]);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("create \"" + dest.string() + "\"") == 0);
}
