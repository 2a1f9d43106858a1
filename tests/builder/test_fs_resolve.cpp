#include <doctest/doctest.h>

#include "../skip.hpp"
#include "builder/fs_resolve.hpp"
#include "builder_test_util.hpp"

using namespace mkimage;
using namespace mkimage::builder;
using mkimage::testing::TempDir;
namespace fs = std::filesystem;

TEST_CASE("clean_path and join_path follow Go's path.Clean/Join") {
  CHECK(clean_path("") == ".");
  CHECK(clean_path("/") == "/");
  CHECK(clean_path("a//b/./c/") == "a/b/c");
  CHECK(clean_path("/../a/..") == "/");
  CHECK(clean_path("../a") == "../a");
  CHECK(clean_path("a/../..") == "..");
  CHECK(join_path("/app", "sub/") == "/app/sub");
  CHECK(join_path("/app", "/abs") == "/abs");
  CHECK(join_path("/app", "..") == "/");
  CHECK(join_path("", "x") == "/x");
}

TEST_CASE("resolve_in_root keeps symlinks inside the root") {
  TempDir t;
  fs::path root = t / "root";
  fs::create_directories(root / "usr/lib");
  fs::create_symlink("/usr/lib", root / "lib");       // absolute link: relative to root
  fs::create_symlink("../../..", root / "usr/lib/up");  // climbs above root: clamped
  fs::create_symlink("/etc/passwd", root / "pw");     // host file must not be reached
  fs::create_symlink("loop2", root / "loop1");
  fs::create_symlink("loop1", root / "loop2");

  auto r = resolve_in_root(root, "/lib/x");
  REQUIRE(r.ok());
  CHECK(*r == root / "usr/lib/x");
  r = resolve_in_root(root, "lib/up/etc");
  REQUIRE(r.ok());
  CHECK(*r == root / "etc");
  r = resolve_in_root(root, "/pw");
  REQUIRE(r.ok());
  CHECK(*r == root / "etc/passwd");
  r = resolve_in_root(root, "/pw", FollowFinal::no);
  REQUIRE(r.ok());
  CHECK(*r == root / "pw");
  r = resolve_in_root(root, "../../../..");
  REQUIRE(r.ok());
  CHECK(rootfs_path_of(root, *r) == "/");
  CHECK_FALSE(resolve_in_root(root, "/loop1").ok());

  mkimage::testing::write_file(root / "file", "x");
  auto e = resolve_in_root(root, "/file/below");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message.find("Not a directory") != std::string::npos);
}

PRIVILEGED_TEST_CASE("mkdir_all_in_root creates only missing directories with the given owner") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the directories get owners"));
  TempDir t;
  fs::path root = t / "root";
  fs::create_directories(root / "srv");
  ::chmod((root / "srv").c_str(), 0750);
  fs::create_symlink("/srv", root / "link");
  auto r = mkdir_all_in_root(root, "/link/app/sub", DirAttrs{1000, 1001, 0755, 1234});
  REQUIRE(r.ok());
  CHECK(*r == root / "srv/app/sub");
  auto srv = mkimage::testing::lstat_of(root / "srv");
  CHECK(srv.st_uid == 0);
  CHECK((srv.st_mode & 07777) == 0750);
  for (auto p : {root / "srv/app", root / "srv/app/sub"}) {
    auto st = mkimage::testing::lstat_of(p);
    CHECK(S_ISDIR(st.st_mode));
    CHECK(st.st_uid == 1000);
    CHECK(st.st_gid == 1001);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(st.st_mtime == 1234);
  }
  // Existing: no change, no error.
  REQUIRE(mkdir_all_in_root(root, "/srv/app", DirAttrs{5, 5, 0700, std::nullopt}).ok());
  CHECK(mkimage::testing::lstat_of(root / "srv/app").st_uid == 1000);
  // A file in the way.
  mkimage::testing::write_file(root / "f", "x");
  CHECK_FALSE(mkdir_all_in_root(root, "/f/x").ok());
  // A link climbing out of the root stays inside.
  fs::create_symlink("../../../../tmp", root / "esc");
  r = mkdir_all_in_root(root, "/esc/made");
  REQUIRE(r.ok());
  CHECK(*r == root / "tmp/made");
}
