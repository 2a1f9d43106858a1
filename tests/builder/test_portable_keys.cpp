// Portable cache keys (docs/cache-keys.md "Portable keys"): two checkouts of the
// same content at other paths, with other owners, mtimes and umask-derived
// modes, give the same COPY/ADD content digest whenever the layer gets the same
// bytes and metadata.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "../skip.hpp"
#include "builder/content_hash.hpp"
#include "copy_fixture.hpp"

using namespace mkimage;
using namespace mkimage::testing;
namespace fs = std::filesystem;

namespace {

store::Digest digest_of(CopyFixture& f, const builder::CopyOp& op) {
  auto plan = builder::plan_copy(op, f.context_source(), builder::PlanOptions{f.scratch, false});
  REQUIRE(plan.ok());
  auto d = builder::copy_content_digest(*plan, nullptr);
  REQUIRE(d.ok());
  return *d;
}

// The same small app; `file_mode` is what a checkout under some umask gives.
void write_app(const fs::path& ctx, mode_t file_mode, mode_t dir_mode) {
  write_file(ctx / "app/main.sh", "echo hi\n", file_mode);
  write_file(ctx / "app/lib/util.sh", "true\n", file_mode);
  ::chmod((ctx / "app/lib").c_str(), dir_mode);
  ::chmod((ctx / "app").c_str(), dir_mode);
  ::chmod(ctx.c_str(), dir_mode);
}

void set_mtime(const fs::path& p, time_t sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// A POSIX access ACL (user::rw-, user:1234:r--, group::r--, mask::r--, other::r--)
// in the kernel's xattr form; the mode bits stay 0644.
bool set_acl(const fs::path& p) {
  auto entry = [](std::uint16_t tag, std::uint16_t perm, std::uint32_t id) {
    std::string e(8, '\0');
    std::memcpy(e.data(), &tag, 2);
    std::memcpy(e.data() + 2, &perm, 2);
    std::memcpy(e.data() + 4, &id, 4);
    return e;
  };
  std::uint32_t version = 2;
  std::string acl(reinterpret_cast<const char*>(&version), 4);
  acl += entry(0x01, 6, ~0u) + entry(0x02, 4, 1234) + entry(0x04, 4, ~0u) + entry(0x10, 4, ~0u) + entry(0x20, 4, ~0u);
  return lsetxattr(p.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0) == 0;
}

builder::CopyOp with_chmod(builder::CopyOp op, std::string chmod) {
  op.flags.chmod = std::move(chmod);
  return op;
}

}  // namespace

PRIVILEGED_TEST_CASE("portable keys: the host owner, path and mtimes of context files do not count") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture a, b;
  write_app(a.ctx, 0644, 0755);
  write_app(b.ctx, 0644, 0755);
  set_mtime(b.ctx / "app/main.sh", 978307200);
  set_mtime(b.ctx / "app/lib", 978307200);
  REQUIRE(::lchown((b.ctx / "app/main.sh").c_str(), 1234, 1234) == 0);
  REQUIRE(::lchown((b.ctx / "app").c_str(), 1234, 1234) == 0);
  for (const auto& op : {copy_op({"app"}, "/srv/"), copy_op({"app/main.sh"}, "/m"), copy_op({"."}, "/w/")}) {
    CHECK(digest_of(a, op) == digest_of(b, op));
  }
}

TEST_CASE("portable keys: COPY keeps source modes, so they count unless --chmod sets every bit") {
  CopyFixture a, b;
  write_app(a.ctx, 0644, 0755);  // umask 022
  write_app(b.ctx, 0664, 0775);  // umask 002
  auto op = copy_op({"app"}, "/srv/");
  CHECK(digest_of(a, op) != digest_of(b, op));  // docker keeps the mode bits in the layer
  for (const char* chmod : {"0644", "755", "u=rwX,go=rX", "a=r"}) {
    CAPTURE(chmod);
    CHECK(digest_of(a, with_chmod(op, chmod)) == digest_of(b, with_chmod(op, chmod)));
  }
  // A chmod that edits bits keeps the rest of the source mode, which reaches the layer.
  CHECK(digest_of(a, with_chmod(op, "u+x")) != digest_of(b, with_chmod(op, "u+x")));
}

PRIVILEGED_TEST_CASE("portable keys: the context directory itself counts as 0755 without xattrs, as BuildKit sends it") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture a, b;
  write_app(a.ctx, 0644, 0755);
  write_app(b.ctx, 0644, 0755);
  ::chmod(b.ctx.c_str(), 0775);  // a checkout under umask 002: only its own directory differs
  bool xattr = lsetxattr(b.ctx.c_str(), "user.origin", "x", 1, 0) == 0;
  for (const auto& op : {copy_op({"."}, "/w/"), copy_op({"/"}, "/w/"), copy_op({"app/.."}, "/w/")}) {
    CHECK(digest_of(a, op) == digest_of(b, op));
  }
  // The layer agrees with the key: the destination directory it creates is 0755.
  REQUIRE(b.run(copy_op({"."}, "/w/")) == "");
  CHECK((mode_of(b.rootfs / "w") & 07777) == 0755);
  if (xattr) {
    char buf[8];
    CHECK(lgetxattr((b.rootfs / "w").c_str(), "user.origin", buf, sizeof buf) < 0);
  }
  // A subdirectory is sent with its mode, and keeps it.
  ::chmod((b.ctx / "app").c_str(), 0775);
  CHECK(digest_of(a, copy_op({"."}, "/w/")) != digest_of(b, copy_op({"."}, "/w/")));
}

TEST_CASE("portable keys: ADD of a local tar keys on the archive's bytes, not its mode or xattrs") {
  CopyFixture a, b;
  write_file(a.tmp / "src/f.txt", "in the archive\n");
  std::string cmd = "tar -C '" + (a.tmp / "src").string() + "' --owner=0 --group=0 -cf '" +
                    (a.ctx / "app.tar").string() + "' .";
  REQUIRE(std::system(cmd.c_str()) == 0);
  fs::copy_file(a.ctx / "app.tar", b.ctx / "app.tar");
  ::chmod((a.ctx / "app.tar").c_str(), 0644);
  ::chmod((b.ctx / "app.tar").c_str(), 0664);
  (void)lsetxattr((b.ctx / "app.tar").c_str(), "user.origin", "x", 1, 0);
  builder::CopyOp add = copy_op({"app.tar"}, "/x/");
  add.kind = builder::CopyKind::add;
  CHECK(digest_of(a, add) == digest_of(b, add));
  // Not unpacked: the archive is copied as a file, mode and all.
  add.flags.unpack = false;
  CHECK(digest_of(a, add) != digest_of(b, add));
  // Other bytes: another key.
  add.flags.unpack = true;
  auto before = digest_of(b, add);
  write_file(b.tmp / "src/f.txt", "changed\n");
  cmd = "tar -C '" + (b.tmp / "src").string() + "' --owner=0 --group=0 -cf '" + (b.ctx / "app.tar").string() + "' .";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(digest_of(b, add) != before);
}

PRIVILEGED_TEST_CASE("portable keys: host ACLs (system.* xattrs) never reach a layer, so they do not count") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture a, b;
  write_app(a.ctx, 0644, 0755);
  write_app(b.ctx, 0644, 0755);
  SKIP_IF_MISSING(set_acl(b.ctx / "app/main.sh") ? "" : "needs a filesystem with POSIX ACLs under " + b.ctx.parent_path().parent_path().string());
  REQUIRE(mode_of(b.ctx / "app/main.sh") == 0644);
  auto op = copy_op({"app"}, "/srv/");
  CHECK(digest_of(a, op) == digest_of(b, op));
  REQUIRE(b.run(op) == "");
  CHECK(lgetxattr((b.rootfs / "srv/main.sh").c_str(), "system.posix_acl_access", nullptr, 0) < 0);
  // xattrs that a copy keeps still count.
  if (lsetxattr((b.ctx / "app/main.sh").c_str(), "user.note", "1", 1, 0) == 0) CHECK(digest_of(a, op) != digest_of(b, op));
}
