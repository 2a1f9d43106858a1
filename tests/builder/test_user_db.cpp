#include <doctest/doctest.h>

#include "builder/user_db.hpp"
#include "builder_test_util.hpp"

using namespace mkimage;
using namespace mkimage::builder;
using mkimage::testing::TempDir;
using mkimage::testing::write_file;
namespace fs = std::filesystem;

namespace {
void make_db(const fs::path& root) {
  write_file(root / "etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\n"
             "# comment\n"
             "app:x:1000:1001:App:/home/app:/bin/sh\n"
             "svc:x:2000:2000::/srv:/sbin/nologin\n");
  write_file(root / "etc/group",
             "root:x:0:\n"
             "staff:x:50:app,svc\n"
             "app:x:1001:\n"
             "docker:x:999:app\n");
}
}  // namespace

TEST_CASE("resolve_exec_user: USER for RUN (libcontainer GetExecUser)") {
  TempDir t;
  make_db(t.path());
  auto u = resolve_exec_user(t.path(), "app");
  REQUIRE(u.ok());
  CHECK(u->uid == 1000);
  CHECK(u->gid == 1001);
  CHECK(u->home == "/home/app");
  CHECK(u->additional_gids == std::vector<std::uint32_t>{1001, 50, 999});
  u = resolve_exec_user(t.path(), "1000");
  REQUIRE(u.ok());
  CHECK(u->gid == 1001);
  u = resolve_exec_user(t.path(), "app:staff");
  REQUIRE(u.ok());
  CHECK(u->gid == 50);
  CHECK(u->additional_gids == std::vector<std::uint32_t>{50});
  u = resolve_exec_user(t.path(), "4242");  // numeric, not in passwd
  REQUIRE(u.ok());
  CHECK(u->uid == 4242);
  CHECK(u->gid == 0);
  CHECK(u->additional_gids == std::vector<std::uint32_t>{0});
  u = resolve_exec_user(t.path() / "missing", "1234:1234");  // fast path: no files read
  REQUIRE(u.ok());
  CHECK(u->additional_gids == std::vector<std::uint32_t>{1234});
  u = resolve_exec_user(t.path() / "missing", "root:root");
  REQUIRE(u.ok());
  CHECK(u->uid == 0);
  CHECK(u->gid == 0);
  u = resolve_exec_user(t.path(), "");
  REQUIRE(u.ok());
  CHECK(u->uid == 0);
  auto e = resolve_exec_user(t.path(), "nobody");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message == "unable to find user nobody: no matching entries in passwd file");
  e = resolve_exec_user(t.path(), "app:nogroup");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message == "unable to find group nogroup: no matching entries in group file");
  // No /etc/passwd at all: "uid:gid" and a bare uid still work (case 16).
  TempDir empty;
  u = resolve_exec_user(empty.path(), "1000:1000");
  REQUIRE(u.ok());
  CHECK(u->uid == 1000);
  CHECK(u->gid == 1000);
  CHECK(resolve_exec_user(empty.path(), "1000").ok());
  CHECK_FALSE(resolve_exec_user(empty.path(), "app").ok());
}

TEST_CASE("resolve_owner: --chown and WORKDIR ownership (BuildKit parseUser/readUser)") {
  TempDir t;
  make_db(t.path());
  auto o = resolve_owner(t.path(), "app");
  REQUIRE(o.ok());
  CHECK(*o == Owner{1000, 1001});
  o = resolve_owner(t.path(), "1000");  // numeric alone: gid = uid
  REQUIRE(o.ok());
  CHECK(*o == Owner{1000, 1000});
  o = resolve_owner(t.path(), "svc:staff");
  REQUIRE(o.ok());
  CHECK(*o == Owner{2000, 50});
  o = resolve_owner(t.path(), "7:8");
  REQUIRE(o.ok());
  CHECK(*o == Owner{7, 8});
  CHECK(resolve_owner(t.path(), "")->uid == 0);
  CHECK(resolve_owner(t.path(), "nobody").error().message == "unable to find user nobody");
  CHECK(resolve_owner(t.path(), "app:nogroup").error().message == "unable to find group nogroup");
  CHECK_FALSE(resolve_owner(t.path(), "99999999999").ok());
  CHECK(owner_is_numeric("1:2"));
  CHECK(owner_is_numeric("1"));
  CHECK_FALSE(owner_is_numeric("app:1"));
  // /etc/passwd reached through a symlink stays inside the rootfs.
  TempDir l;
  fs::create_directories(l / "etc");
  fs::create_directories(l / "real");
  write_file(l / "real/passwd", "x:x:5:6::/:/bin/sh\n");
  fs::create_symlink("/real/passwd", l / "etc/passwd");
  o = resolve_owner(l.path(), "x");
  REQUIRE(o.ok());
  CHECK(*o == Owner{5, 6});
}
