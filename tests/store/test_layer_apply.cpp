#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <set>

#include "../skip.hpp"
#include "layer_test_util.hpp"
#include "store/layer_apply.hpp"
#include "store/layer_writer.hpp"

using namespace mkimage;
using namespace layer_test;

namespace {

// Writes a layer tar file from a directory; returns its diff_id hex.
std::string layer_file(const fs::path& dir, const fs::path& out) {
  StringSink sink;
  auto w = store::write_layer_from_dir(dir, sink);
  REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
  std::ofstream(out, std::ios::binary) << sink.bytes;
  return w->diff_id.digest.hex();
}

// Writes a tar file from (name, content-or-nullptr-for-dir) pairs with libarchive.
struct Member {
  std::string name;
  char type = 'f';  // f d l h
  std::string data_or_link;
  unsigned mode = 0644;
};
void tar_file(const fs::path& out, const std::vector<Member>& members) {
  StringSink sink;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &sink, nullptr,
      [](archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
        static_cast<StringSink*>(ctx)->bytes.append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_mtime(e, 1600000000, 0);
    archive_entry_set_perm(e, m.mode);
    if (m.type == 'd') {
      archive_entry_set_filetype(e, AE_IFDIR);
    } else if (m.type == 'l') {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, m.data_or_link.c_str());
    } else if (m.type == 'h') {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, m.data_or_link.c_str());
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, static_cast<la_int64_t>(m.data_or_link.size()));
    }
    archive_write_header(a, e);
    if (m.type == 'f') archive_write_data(a, m.data_or_link.data(), m.data_or_link.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  std::ofstream(out, std::ios::binary) << sink.bytes;
}

// "path type size mode" lines of everything below `root` (sorted), to compare trees.
std::vector<std::string> listing(const fs::path& root) {
  std::vector<std::string> out;
  if (!fs::exists(root)) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    std::string content;
    if (S_ISREG(st.st_mode)) content = read_file(it->path());
    if (S_ISLNK(st.st_mode)) content = fs::read_symlink(it->path()).string();
    out.push_back(fs::relative(it->path(), root).string() + " " + std::to_string(st.st_mode) + " " +
                  std::to_string(st.st_mtim.tv_sec) + " " + content);
  }
  std::sort(out.begin(), out.end());
  return out;
}

store::ApplyStats apply_ok(const fs::path& layer, const fs::path& target, store::ApplyMode mode) {
  auto r = store::apply_layer(layer, target, mode);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return *r;
}

}  // namespace

TEST_CASE("flat apply reproduces the tree (same diff_id when written again)") {
  TempDir t;
  fs::create_directories(t / "src/d/e");
  write_file(t / "src/d/e/f", "hello\n", 0640);
  write_file(t / "src/x", std::string(3 << 20, 'q'), 0755);
  fs::create_symlink("d/e/f", t / "src/link");
  fs::create_hard_link(t / "src/x", t / "src/x2");
  ::mkfifo((t / "src/fifo").c_str(), 0600);
  ::setxattr((t / "src/d/e/f").c_str(), "user.k", "v", 1, 0);
  ::chmod((t / "src/d").c_str(), 0750);
  std::string diff = layer_file(t / "src", t / "l.tar");
  fs::create_directories(t / "out");
  apply_ok(t / "l.tar", t / "out", store::ApplyMode::flat);
  CHECK(layer_file(t / "out", t / "again.tar") == diff);
  struct stat a, b;
  ::stat((t / "out/x").c_str(), &a);
  ::stat((t / "out/x2").c_str(), &b);
  CHECK(a.st_ino == b.st_ino);
}

TEST_CASE("flat apply: OCI whiteouts hide lower content, not the same layer's entries") {
  TempDir t;
  fs::create_directories(t / "root/a/keep");
  write_file(t / "root/a/x", "x");
  write_file(t / "root/a/keep/y", "y");
  write_file(t / "root/c", "c");
  fs::create_directories(t / "root/gone/deep");
  write_file(t / "root/gone/deep/f", "f");
  write_file(t / "root/q", "old q");
  fs::create_directories(t / "root/filedir/sub");
  tar_file(t / "l.tar", {{".wh.c", 'f', ""},
                         {"a/", 'd', "", 0755},
                         {"a/.wh..wh..opq", 'f', ""},
                         {"a/z", 'f', "z"},
                         {".wh.gone", 'f', ""},
                         {"q", 'f', "new q"},
                         {".wh.q", 'f', ""},
                         {"filedir", 'f', "now a file"},
                         {".wh.missing", 'f', ""}});
  auto st = apply_ok(t / "l.tar", t / "root", store::ApplyMode::flat);
  CHECK(st.whiteouts == 5);
  CHECK_FALSE(fs::exists(t / "root/c"));
  CHECK_FALSE(fs::exists(t / "root/gone"));
  CHECK_FALSE(fs::exists(t / "root/a/x"));
  CHECK_FALSE(fs::exists(t / "root/a/keep"));
  CHECK(read_file(t / "root/a/z") == "z");
  CHECK(read_file(t / "root/q") == "new q");  // whiteout and entry in one layer: the entry stays
  CHECK(read_file(t / "root/filedir") == "now a file");
  CHECK_FALSE(fs::exists(t / "root/.wh.c"));
  CHECK_FALSE(fs::exists(t / "root/a/.wh..wh..opq"));
}

TEST_CASE("flat apply refuses to write below a symlink of a lower layer, target untouched") {
  TempDir t;
  fs::create_directories(t / "outside");
  fs::create_directories(t / "root");
  fs::create_symlink("../outside", t / "root/lnk");
  write_file(t / "root/keep", "keep");
  tar_file(t / "l.tar", {{"first", 'f', "1"}, {"lnk/evil", 'f', "evil"}});
  auto before = listing(t.path());
  auto r = store::apply_layer(t / "l.tar", t / "root", store::ApplyMode::flat);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("symlink \"lnk\"") != std::string::npos);
  CHECK(listing(t.path()) == before);
  // replacing the symlink itself is fine
  tar_file(t / "l2.tar", {{"lnk/", 'd', "", 0755}, {"lnk/ok", 'f', "ok"}});
  apply_ok(t / "l2.tar", t / "root", store::ApplyMode::flat);
  CHECK(fs::is_directory(fs::symlink_status(t / "root/lnk")));
  CHECK(fs::is_empty(t / "outside"));
}

TEST_CASE("flat apply: a directory replaces a lower symlink or file, with whiteouts inside it") {
  // `RUN ln -s /x-target /x` then `RUN rm /x && mkdir /x && echo l > /x/b`: the
  // second layer has x/ as an opaque directory (overlayfs marks a directory made
  // where something was deleted); docker and containerd replace the symlink.
  TempDir t;
  fs::create_directories(t / "root");
  fs::create_symlink("/x-target", t / "root/x");
  write_file(t / "root/f", "a file");
  tar_file(t / "l.tar", {{"x/", 'd', "", 0755},
                         {"x/.wh..wh..opq", 'f', ""},
                         {"x/b", 'f', "l\n"},
                         {"f/", 'd', "", 0750},
                         {"f/.wh.gone", 'f', ""},
                         {"f/c", 'f', "c"}});
  apply_ok(t / "l.tar", t / "root", store::ApplyMode::flat);
  CHECK(fs::is_directory(fs::symlink_status(t / "root/x")));
  CHECK(read_file(t / "root/x/b") == "l\n");
  CHECK(fs::is_directory(fs::symlink_status(t / "root/f")));
  CHECK(read_file(t / "root/f/c") == "c");
  CHECK_FALSE(fs::exists(t / "root/f/.wh.gone"));
}

TEST_CASE("hardlink to a file of a lower layer (flat)") {
  TempDir t;
  fs::create_directories(t / "root/usr");
  write_file(t / "root/usr/a", "shared");
  tar_file(t / "l.tar", {{"b", 'h', "usr/a"}});
  apply_ok(t / "l.tar", t / "root", store::ApplyMode::flat);
  CHECK(read_file(t / "root/b") == "shared");
  tar_file(t / "l2.tar", {{"c", 'h', "usr/nothing"}});
  auto r = store::apply_layer(t / "l2.tar", t / "root", store::ApplyMode::flat);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("does not exist") != std::string::npos);
}

PRIVILEGED_TEST_CASE("snapshot apply: OCI whiteouts become overlay whiteouts") {
  SKIP_IF_MISSING(is_root() ? "" : "needs root (overlay whiteouts need CAP_MKNOD and CAP_SYS_ADMIN)");
  TempDir t;
  tar_file(t / "l.tar", {{"etc/", 'd', "", 0755},
                         {"etc/.wh.gone", 'f', ""},
                         {"etc/new", 'f', "n"},
                         {"var/cache/.wh..wh..opq", 'f', ""},
                         {"var/cache/fresh", 'f', "f"},
                         {".wh.back", 'f', ""},
                         {"back", 'f', "again"}});
  apply_ok(t / "l.tar", t / "snap", store::ApplyMode::snapshot);
  struct stat st;
  REQUIRE(::lstat((t / "snap/etc/gone").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(0, 0));
  char v[8] = {};
  CHECK(::getxattr((t / "snap/var/cache").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1);
  CHECK(v[0] == 'y');
  CHECK(read_file(t / "snap/back") == "again");
  CHECK_FALSE(fs::exists(t / "snap/etc/.wh.gone"));
  // no staging directory left behind
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(t.path())) ++entries;
  CHECK(entries == 2);  // l.tar, snap

  SUBCASE("the snapshot works as an overlay lowerdir") {
    fs::create_directories(t / "lower/etc");
    write_file(t / "lower/etc/gone", "old");
    write_file(t / "lower/etc/stays", "s");
    fs::create_directories(t / "lower/var/cache");
    write_file(t / "lower/var/cache/stale", "s");
    fs::create_directories(t / "merged");
    std::string opts = "lowerdir=" + (t / "snap").string() + ":" + (t / "lower").string();
    if (::mount("overlay", (t / "merged").c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0) {
      SKIP_IF_MISSING(std::string("needs overlay mounts (mount: ") + std::strerror(errno) + ")");
    }
    bool gone = !fs::exists(t / "merged/etc/gone");
    bool stays = fs::exists(t / "merged/etc/stays");
    bool stale_hidden = !fs::exists(t / "merged/var/cache/stale");
    bool fresh = fs::exists(t / "merged/var/cache/fresh");
    ::umount((t / "merged").c_str());
    CHECK(gone);
    CHECK(stays);
    CHECK(stale_hidden);
    CHECK(fresh);
  }
}

TEST_CASE("snapshot apply refuses a non-empty target and a tar holding a 0/0 device") {
  TempDir t;
  write_file(t / "busy/x", "x");
  tar_file(t / "l.tar", {{"a", 'f', "a"}});
  auto r = store::apply_layer(t / "l.tar", t / "busy", store::ApplyMode::snapshot);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("not an empty directory") != std::string::npos);
}

// Found by fuzzing: a pax header cut short leaves libarchive without an error
// message (archive_error_string() is NULL); reading it crashed.
TEST_CASE("a layer cut short inside a pax header is an error, not a crash") {
  fs::path layer = fs::path(MKIMAGE_TESTDATA_DIR) / "fuzz/layer_apply/regressions/pax-header-cut-short.tar";
  REQUIRE(fs::file_size(layer) == 32768);
  auto c = store::check_layer(layer);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find(layer.string()) != std::string::npos);
  TempDir t;
  fs::create_directories(t / "target");
  auto r = store::apply_layer(layer, t / "target", store::ApplyMode::flat);
  REQUIRE_FALSE(r.ok());
  CHECK(fs::is_empty(t / "target"));
}

TEST_CASE("hostile layers are refused with a clear error and nothing is written") {
  fs::path dir = fs::path(MKIMAGE_TESTDATA_DIR) / "hostile-layers";
  std::ifstream expected(dir / "expected-errors.txt");
  std::string line;
  int count = 0;
  while (std::getline(expected, line)) {
    auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    std::string name = line.substr(0, tab), want = line.substr(tab + 1);
    for (auto mode : {store::ApplyMode::flat, store::ApplyMode::snapshot}) {
      CAPTURE(name);
      CAPTURE(static_cast<int>(mode));
      TempDir t;
      fs::create_directories(t / "sandbox/target");
      fs::create_directories(t / "sandbox/outside");
      write_file(t / "sandbox/outside/secret.txt", "secret\n");
      write_file(t / "sandbox/target/existing.txt", "existing\n");
      fs::path target = mode == store::ApplyMode::flat ? t / "sandbox/target" : t / "sandbox/snap";
      auto before = listing(t / "sandbox");
      store::ApplyOptions opts;
      opts.allow_devices = false;
      auto r = store::apply_layer(dir / name, target, mode, opts);
      REQUIRE_FALSE(r.ok());
      CHECK_MESSAGE(r.error().message.find(want) != std::string::npos, r.error().message);
      CHECK(r.error().message.find(name) != std::string::npos);  // names the layer
      CHECK(listing(t / "sandbox") == before);
      CHECK_FALSE(fs::exists("/tmp/mkimage-hostile-absolute.txt"));
      CHECK_FALSE(fs::exists("/tmp/mkimage-hostile-through-symlink.txt"));
      auto c = store::check_layer(dir / name, opts);
      CHECK_FALSE(c.ok());
    }
    ++count;
  }
  CHECK(count >= 10);
}
