#include <doctest/doctest.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include "../skip.hpp"
#include "layer_test_util.hpp"
#include "store/layer_writer.hpp"
#include "util/sha256.hpp"

using namespace mkimage;
using namespace layer_test;

namespace {

void set_mtime(const fs::path& p, long long sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

// A tree with every entry type a layer holds (devices only as root).
void make_tree(const fs::path& root) {
  fs::create_directories(root / "etc");
  write_file(root / "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  write_file(root / "bin/tool", std::string(200000, 'x'), 04755);
  write_file(root / "empty", "");
  write_file(root / "a.b", "dot\n");
  fs::create_directories(root / "a/sub");
  write_file(root / "a/z", "z\n", 0600);
  fs::create_symlink("../etc/passwd", root / "a/link");
  fs::create_symlink("/nowhere/dangling", root / "dangling");
  fs::create_hard_link(root / "etc/passwd", root / "a/hard");
  ::mkfifo((root / "fifo").c_str(), 0640);
  ::setxattr((root / "a/z").c_str(), "user.test", "v1", 2, 0);
  if (is_root()) {
    ::mknod((root / "null").c_str(), S_IFCHR | 0666, makedev(1, 3));
    ::mknod((root / "sda").c_str(), S_IFBLK | 0660, makedev(8, 0));
    ::lchown((root / "a/z").c_str(), 1234, 5678);
    // security.capability: cap_net_bind_service=ep (VFS_CAP_REVISION_2)
    const unsigned char cap[20] = {1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    ::setxattr((root / "bin/tool").c_str(), "security.capability", cap, sizeof cap, 0);
    ::setxattr((root / "a").c_str(), "trusted.overlay.origin", "junk", 4, 0);
  }
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    set_mtime(it->path(), 1600000000);
  }
  set_mtime(root / "a/z", 1700000123);
}

store::WrittenLayer write_dir(const fs::path& dir, StringSink& sink, store::LayerWriteOptions opts = {}) {
  auto w = store::write_layer_from_dir(dir, sink, opts);
  REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
  return *w;
}

const TarEntry& find(const std::vector<TarEntry>& es, const std::string& name) {
  for (const auto& e : es) {
    if (e.name == name) return e;
  }
  FAIL("no entry " << name);
  throw std::runtime_error("unreachable");
}

}  // namespace

TEST_CASE("layer_path_less orders paths in walk order") {
  CHECK(store::layer_path_less("a", "a.b"));
  CHECK(store::layer_path_less("a/z", "a.b"));  // '/' sorts below '.'
  CHECK(store::layer_path_less("a", "a/b"));
  CHECK_FALSE(store::layer_path_less("b", "a/b"));
  CHECK_FALSE(store::layer_path_less("a", "a"));
}

TEST_CASE("layer from a directory: every entry type, sorted, numeric owners") {
  TempDir t;
  make_tree(t / "root");
  StringSink sink;
  auto w = write_dir(t / "root", sink);

  CHECK(w.size == static_cast<std::int64_t>(sink.bytes.size()));
  CHECK(w.diff_id.digest.hex() == util::sha256_hex(sink.bytes));
  CHECK(sink.bytes.size() % 512 == 0);
  // no padding to a 10240-byte record: ends with exactly two zero blocks after the data
  CHECK(sink.bytes.substr(sink.bytes.size() - 1024) == std::string(1024, '\0'));

  auto es = read_tar(sink.bytes);
  std::vector<std::string> want = {"a/", "a/hard", "a/link", "a/sub/", "a/z", "a.b", "bin/", "bin/tool",
                                   "dangling", "empty", "etc/", "etc/passwd", "fifo"};
  if (is_root()) {
    want.push_back("null");
    want.push_back("sda");
  }
  CHECK(names_of(es) == want);
  CHECK(w.entries == static_cast<std::int64_t>(want.size()));

  for (const auto& e : es) {
    CHECK(e.uname.empty());
    CHECK(e.gname.empty());
    CHECK(e.mtime_nsec == 0);
    CHECK(e.xattrs.count("trusted.overlay.origin") == 0);
  }
  CHECK(find(es, "a/").type == 'd');
  // the first path in walk order carries the data; the later one is a hardlink to it
  CHECK(find(es, "a/hard").type == 'f');
  CHECK(find(es, "a/hard").data == "root:x:0:0::/root:/bin/sh\n");
  CHECK(find(es, "etc/passwd").type == 'h');
  CHECK(find(es, "etc/passwd").link == "a/hard");
  CHECK(find(es, "a/link").type == 'l');
  CHECK(find(es, "a/link").link == "../etc/passwd");
  CHECK(find(es, "dangling").link == "/nowhere/dangling");
  CHECK(find(es, "bin/tool").mode == 04755);
  CHECK(find(es, "bin/tool").data.size() == 200000);
  CHECK(find(es, "a/z").mode == 0600);
  CHECK(find(es, "a/z").mtime == 1700000123);
  CHECK(find(es, "a/z").xattrs.at("user.test") == "v1");
  CHECK(find(es, "empty").data.empty());
  CHECK(find(es, "fifo").type == 'p');
  CHECK(find(es, "fifo").mode == 0640);
  if (is_root()) {
    CHECK(find(es, "a/z").uid == 1234);
    CHECK(find(es, "a/z").gid == 5678);
    CHECK(find(es, "null").type == 'c');
    CHECK(find(es, "null").rdev == makedev(1, 3));
    CHECK(find(es, "sda").type == 'b');
    CHECK(find(es, "sda").rdev == makedev(8, 0));
    CHECK(find(es, "bin/tool").xattrs.count("security.capability") == 1);
  }
}

TEST_CASE("layer tar is deterministic: twice, and on a copy with other inodes and atimes") {
  TempDir t;
  make_tree(t / "root");
  StringSink s1, s2, s3;
  auto w1 = write_dir(t / "root", s1);
  auto w2 = write_dir(t / "root", s2);
  CHECK(w1.diff_id == w2.diff_id);
  CHECK(s1.bytes == s2.bytes);

  REQUIRE(sh("cp -a '" + (t / "root").string() + "' '" + (t / "copy").string() + "'") == 0);
  // other atimes (mtime kept)
  for (auto it = fs::recursive_directory_iterator(t / "copy"); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    struct timespec ts[2] = {{12345, 0}, st.st_mtim};
    ::utimensat(AT_FDCWD, it->path().c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }
  struct stat a, b;
  ::stat((t / "root/etc/passwd").c_str(), &a);
  ::stat((t / "copy/etc/passwd").c_str(), &b);
  REQUIRE(a.st_ino != b.st_ino);
  auto w3 = write_dir(t / "copy", s3);
  CHECK(w3.diff_id == w1.diff_id);
}

TEST_CASE("SOURCE_DATE_EPOCH clamps later mtimes only") {
  TempDir t;
  make_tree(t / "root");
  StringSink sink;
  store::LayerWriteOptions opts;
  opts.source_date_epoch = 1650000000;
  write_dir(t / "root", sink, opts);
  auto es = read_tar(sink.bytes);
  CHECK(find(es, "a/z").mtime == 1650000000);        // was 1700000123
  CHECK(find(es, "etc/passwd").mtime == 1600000000); // earlier: kept
}

PRIVILEGED_TEST_CASE("layer from an overlay upperdir: whiteouts, opaque directories, excludes") {
  SKIP_IF_MISSING(is_root() ? "" : "needs root (overlay whiteouts: 0/0 char devices, trusted.* xattrs)");
  TempDir t;
  fs::path up = t / "upper";
  fs::create_directories(up / "etc");
  write_file(up / "etc/new", "n\n");
  REQUIRE(::mknod((up / "etc/gone").c_str(), S_IFCHR, makedev(0, 0)) == 0);
  fs::create_directories(up / "var/cache");
  write_file(up / "var/cache/fresh", "f\n");
  REQUIRE(::setxattr((up / "var/cache").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  REQUIRE(::setxattr((up / "etc").c_str(), "trusted.overlay.impure", "y", 1, 0) == 0);
  fs::create_directories(up / "proc");
  write_file(up / "etc/hosts", "");
  for (auto it = fs::recursive_directory_iterator(up); it != fs::recursive_directory_iterator(); ++it) {
    set_mtime(it->path(), 1600000000);
  }
  StringSink sink;
  auto w = store::write_layer_from_upperdir(up, {"/proc", "etc/hosts"}, sink);
  REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
  auto es = read_tar(sink.bytes);
  CHECK(names_of(es) == std::vector<std::string>{"etc/", "etc/.wh.gone", "etc/new", "var/", "var/cache/",
                                                 "var/cache/.wh..wh..opq", "var/cache/fresh"});
  const auto& wh = find(es, "etc/.wh.gone");
  CHECK(wh.type == 'f');
  CHECK(wh.mode == 0);
  CHECK(wh.mtime == 0);
  CHECK(wh.data.empty());
  CHECK(find(es, "etc/").xattrs.empty());

  SUBCASE("redirect_dir upperdirs are refused") {
    fs::create_directories(up / "moved");
    ::setxattr((up / "moved").c_str(), "trusted.overlay.redirect", "/old", 4, 0);
    StringSink s2;
    auto r = store::write_layer_from_upperdir(up, {}, s2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("trusted.overlay.redirect") != std::string::npos);
  }
}

TEST_CASE("layer from a list of changes") {
  TempDir t;
  make_tree(t / "root");
  StringSink sink;
  std::vector<store::LayerChange> changes = {
      {store::LayerChange::Kind::modify, "/etc/passwd"},
      {store::LayerChange::Kind::remove, "old/thing"},
      {store::LayerChange::Kind::add, "a"},
      {store::LayerChange::Kind::add, "a/z"},
      {store::LayerChange::Kind::add, "a/hard"},
  };
  auto w = store::write_layer_from_changes(t / "root", changes, sink);
  REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
  auto es = read_tar(sink.bytes);
  CHECK(names_of(es) == std::vector<std::string>{"a/", "a/hard", "a/z", "etc/passwd", "old/.wh.thing"});
  CHECK(find(es, "etc/passwd").type == 'h');  // same inode as a/hard, which came first

  SUBCASE("duplicates and .. are refused") {
    StringSink s2;
    auto dup = store::write_layer_from_changes(t / "root", {{store::LayerChange::Kind::add, "a"},
                                                            {store::LayerChange::Kind::modify, "/a"}}, s2);
    CHECK_FALSE(dup.ok());
    auto dots = store::write_layer_from_changes(t / "root", {{store::LayerChange::Kind::add, "a/../../x"}}, s2);
    CHECK_FALSE(dots.ok());
  }
  SUBCASE("a change below a symlink is not followed") {
    StringSink s3;
    fs::create_symlink("/etc", t / "root/sys-etc");
    auto r = store::write_layer_from_changes(t / "root", {{store::LayerChange::Kind::add, "sys-etc/passwd"}}, s3);
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("empty directory gives the empty layer") {
  TempDir t;
  fs::create_directories(t / "e");
  StringSink sink;
  auto w = write_dir(t / "e", sink);
  CHECK(sink.bytes == std::string(1024, '\0'));
  CHECK(w.diff_id.digest.str() == "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
}

TEST_CASE("a directory 1,500 levels deep is written on a thread with a 256 KiB stack") {
  // The walk keeps a stack of open directories, not one recursion per level:
  // under ASan the recursive walk overflowed a worker thread's 8 MiB here.
  TempDir t;
  fs::path p = t / "deep";
  fs::create_directories(p);
  int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(fd >= 0);
  for (int i = 0; i < 1500; ++i) {  // by descriptor: the whole path is longer than PATH_MAX allows to name
    REQUIRE(::mkdirat(fd, "d", 0755) == 0);
    int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY);
    ::close(fd);
    REQUIRE(next >= 0);
    fd = next;
  }
  ::close(fd);
  struct Job {
    fs::path dir;
    StringSink sink;
    bool ok = false;
    std::string error;
  } job{p, {}, false, {}};
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t th;
  auto run = [](void* arg) -> void* {
    auto* j = static_cast<Job*>(arg);
    auto w = store::write_layer_from_dir(j->dir, j->sink, {});
    j->ok = w.ok();
    if (!w.ok()) j->error = w.error().message;
    return nullptr;
  };
  REQUIRE(::pthread_create(&th, &attr, run, &job) == 0);
  ::pthread_join(th, nullptr);
  ::pthread_attr_destroy(&attr);
  REQUIRE_MESSAGE(job.ok, job.error);
  auto es = read_tar(job.sink.bytes);
  CHECK(es.size() == 1500);
  std::string deepest;
  for (int i = 0; i < 1500; ++i) deepest += "d/";
  CHECK(es.back().name == deepest);
}
