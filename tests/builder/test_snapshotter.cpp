// builder/snapshotter.hpp: overlay and copy-and-diff snapshots give the same
// overlay-format upperdir; many lowers; lifecycle.
#include <sys/vfs.h>
#include <sys/xattr.h>

#include "exec_fixture.hpp"

using namespace mkimage::builder;
using namespace exec_test;

namespace {

// Two stacked layers in overlay form: bottom has a/1, a/2, d/x, f; top
// deletes a/2 (whiteout) and replaces d with an opaque dir holding only y.
void make_layers(const fs::path& bottom, const fs::path& top) {
  write_file(bottom / "a/1", "one");
  write_file(bottom / "a/2", "two");
  write_file(bottom / "d/x", "x");
  write_file(bottom / "f", "f");
  fs::create_directories(top / "a");
  REQUIRE(::mknod((top / "a/2").c_str(), S_IFCHR, makedev(0, 0)) == 0);
  write_file(top / "d/y", "y");
  REQUIRE(lsetxattr((top / "d").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
}

void check_view_and_changes(Snapshotter& snapshotter, const TempDir& t) {
  auto snap = snapshotter.prepare({t / "top", t / "bottom"});
  REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));
  fs::path root = (*snap)->rootfs();
  // The stacked view honours whiteouts and opaque directories.
  CHECK(read_file(root / "a/1") == "one");
  CHECK(!lexists(root / "a/2"));
  CHECK(!lexists(root / "d/x"));
  CHECK(read_file(root / "d/y") == "y");
  // Changes: modify, delete, add, replace a directory.
  write_file(root / "a/1", "ONE");
  fs::remove(root / "f");
  write_file(root / "new/n", "n");
  fs::remove_all(root / "d");
  fs::create_directories(root / "d");
  write_file(root / "d/z", "z");
  auto upper = (*snap)->finish();
  REQUIRE(upper.ok());
  CHECK(read_file(*upper / "a/1") == "ONE");
  CHECK(is_whiteout(*upper / "f"));
  CHECK(read_file(*upper / "new/n") == "n");
  CHECK(read_file(*upper / "d/z") == "z");
  CHECK((!lexists(*upper / "d/y") || is_whiteout(*upper / "d/y")));  // opaque dir (overlay) or whiteout (copy)
  CHECK(!lexists(*upper / "a/2"));  // already deleted below: nothing to record
  fs::path dir = (*snap)->dir();
  snap->reset();
  CHECK(!lexists(dir));
}

}  // namespace

PRIVILEGED_TEST_CASE("overlay snapshot: stacked lowers, whiteouts, opaque dirs, upperdir changes") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_layers(t / "bottom", t / "top");
  Snapshotter snapshotter(t / "active", SnapshotMode::overlay);
  check_view_and_changes(snapshotter, t);
}

PRIVILEGED_TEST_CASE("copy fallback gives the same upperdir as overlay") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_layers(t / "bottom", t / "top");
  Snapshotter snapshotter(t / "active", SnapshotMode::copy);
  CHECK(snapshotter.mode() == SnapshotMode::copy);
  check_view_and_changes(snapshotter, t);
}

PRIVILEGED_TEST_CASE("copy fallback: a RUN in the copied rootfs") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_busybox_lower(t / "lower");
  Snapshotter snapshotter(t / "active", SnapshotMode::copy);
  auto snap = snapshotter.prepare({t / "lower"});
  REQUIRE(snap.ok());
  ContainerSpec spec;
  spec.rootfs = (*snap)->rootfs();
  spec.process.args = {"/bin/sh", "-c", "echo hi > /hi; rm /bin/cat"};
  (*snap)->record_mount_points(default_mount_destinations());
  auto r = run_in(spec, t / "bundle");
  CHECK(r.code == 0);
  auto upper = (*snap)->finish();
  REQUIRE(upper.ok());
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(*upper)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"bin", "hi"});
  CHECK(is_whiteout(*upper / "bin/cat"));
}

PRIVILEGED_TEST_CASE("overlay snapshot over 150 lowers (mount data beyond one page with long paths)") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  std::vector<fs::path> lowers;
  // Long directory names: 150 * ~100 bytes would not fit a 4096-byte mount option.
  for (int i = 0; i < 150; ++i) {
    fs::path l = t / ("snapshots/" + std::string(80, 'a' + i % 26) + std::to_string(i));
    write_file(l / ("f" + std::to_string(i)), std::to_string(i));
    write_file(l / "shared", std::to_string(i));
    lowers.insert(lowers.begin(), l);  // top first: the last made is on top
  }
  Snapshotter snapshotter(t / "active", SnapshotMode::overlay);
  auto snap = snapshotter.prepare(lowers);
  REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));
  fs::path root = (*snap)->rootfs();
  CHECK(read_file(root / "f0") == "0");
  CHECK(read_file(root / "f149") == "149");
  CHECK(read_file(root / "shared") == "149");
  auto upper = (*snap)->finish();
  REQUIRE(upper.ok());
  CHECK(fs::is_empty(*upper));
  CHECK(!has_mount_under(t / "active"));

  std::vector<fs::path> too_many(501, lowers[0]);
  CHECK(!snapshotter.prepare(too_many).ok());
}

PRIVILEGED_TEST_CASE("prepare_in keeps the writable layer across restarts") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  write_file(t / "lower/base", "b");
  for (auto mode : {SnapshotMode::overlay, SnapshotMode::copy}) {
    Snapshotter snapshotter(t / "active", mode);
    fs::path dir = t / (mode == SnapshotMode::overlay ? "c-overlay" : "c-copy");
    {
      auto snap = snapshotter.prepare_in(dir, {t / "lower"});
      REQUIRE(snap.ok());
      write_file((*snap)->rootfs() / "state", "1");
      REQUIRE((*snap)->finish().ok());
    }
    CHECK(read_file(dir / "upper/state") == "1");
    {
      auto snap = snapshotter.prepare_in(dir, {t / "lower"});
      REQUIRE(snap.ok());
      CHECK(read_file((*snap)->rootfs() / "state") == "1");
      CHECK(read_file((*snap)->rootfs() / "base") == "b");
    }
    CHECK(!has_mount_under(dir));
    CHECK(lexists(dir / "upper/state"));
  }
}

PRIVILEGED_TEST_CASE("a snapshot without lowers is its upperdir, bind-mounted (no overlay)") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  Snapshotter snapshotter(t / "active", SnapshotMode::overlay);
  auto snap = snapshotter.prepare({});
  REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));
  fs::path root = (*snap)->rootfs();
  // A bind mount of the upperdir: what the step writes is in the upperdir at once.
  write_file(root / "etc/conf", "c");
  fs::create_directories(root / "d/e");
  fs::path upper_now = (*snap)->upperdir();
  CHECK(read_file(upper_now / "etc/conf") == "c");
  CHECK(fs::is_directory(upper_now / "d/e"));
  struct statfs sf {};
  REQUIRE(::statfs(root.c_str(), &sf) == 0);
  CHECK(sf.f_type != 0x794c7630);  // OVERLAYFS_SUPER_MAGIC: no overlay was mounted
  fs::remove(root / "etc/conf");              // nothing below: no whiteout either
  auto upper = (*snap)->finish();
  REQUIRE(upper.ok());
  CHECK(*upper == upper_now);
  CHECK(!lexists(*upper / "etc/conf"));
  CHECK(fs::is_directory(*upper / "d/e"));
  fs::path dir = (*snap)->dir();
  snap->reset();
  CHECK(!lexists(dir));
}
