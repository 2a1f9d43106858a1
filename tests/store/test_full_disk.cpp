// A disk that fills up (simulated with RLIMIT_FSIZE: write(2) fails with EFBIG,
// as it fails with ENOSPC on a full file system) never leaves a snapshot or an
// export behind; `store check --deep` compares snapshots with their layers.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>

#include "layer_test_util.hpp"
#include "store/archive.hpp"
#include "store/layer_apply.hpp"
#include "store/snapshot_verify.hpp"
#include "store/layer_writer.hpp"
#include "store/snapshots.hpp"
#include "store/store.hpp"

using namespace mkimage;
using namespace layer_test;

namespace {

// Writes a layer tar file from a directory.
void layer_file(const fs::path& dir, const fs::path& out) {
  StringSink sink;
  auto w = store::write_layer_from_dir(dir, sink);
  REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
  std::ofstream(out, std::ios::binary) << sink.bytes;
}

// Files written by this process may not grow beyond `bytes` while it lives.
class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &m_old);
    m_old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit l = m_old;
    l.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &l);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &m_old);
    std::signal(SIGXFSZ, m_old_handler);
  }

private:
  struct rlimit m_old {};
  void (*m_old_handler)(int) = nullptr;
};

std::string big_content() {
  std::string s(512 * 1024, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a write that fails while a layer is unpacked fails the apply and leaves no snapshot") {
  TempDir t;
  write_file(t / "src/small", "s");
  write_file(t / "src/big", big_content());
  layer_file(t / "src", t / "l.tar");
  fs::create_directories(t / "snaps");
  {
    FileSizeLimit limit(64 * 1024);
    auto r = store::apply_layer(t / "l.tar", t / "snaps/one", store::ApplyMode::snapshot);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("big") != std::string::npos);
    CHECK(r.error().message.find(std::strerror(EFBIG)) != std::string::npos);
  }
  CHECK(entries_of(t / "snaps").empty());  // neither the snapshot nor its staging directory

  SUBCASE("flat apply reports it too") {
    fs::create_directories(t / "flat");
    FileSizeLimit limit(64 * 1024);
    auto r = store::apply_layer(t / "l.tar", t / "flat", store::ApplyMode::flat);
    CHECK_FALSE(r.ok());
  }
  SUBCASE("with room the same layer unpacks and matches") {
    auto r = store::apply_layer(t / "l.tar", t / "snaps/one", store::ApplyMode::snapshot);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(read_file(t / "snaps/one/big") == big_content());
    auto v = store::verify_snapshot(t / "l.tar", t / "snaps/one");
    REQUIRE(v.ok());
    CHECK(v->empty());
  }
}

TEST_CASE("verify_snapshot finds zero-filled, missing, changed and extra content") {
  TempDir t;
  write_file(t / "src/etc/conf", "key=value\n");
  write_file(t / "src/bin/tool", big_content(), 0755);
  fs::create_directories(t / "src/empty");
  fs::create_symlink("tool", t / "src/bin/alias");
  layer_file(t / "src", t / "l.tar");
  auto fresh = [&] {
    fs::remove_all(t / "snap");
    auto r = store::apply_layer(t / "l.tar", t / "snap", store::ApplyMode::snapshot);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  };
  auto problems = [&] {
    auto v = store::verify_snapshot(t / "l.tar", t / "snap");
    REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
    std::string all;
    for (const auto& p : *v) all += p + "\n";
    return all;
  };
  fresh();
  CHECK(problems().empty());

  SUBCASE("a zero-filled file of the right size") {
    fs::resize_file(t / "snap/bin/tool", 0);
    fs::resize_file(t / "snap/bin/tool", big_content().size());
    CHECK(problems().find("\"/bin/tool\": content differs") != std::string::npos);
  }
  SUBCASE("a truncated file") {
    fs::resize_file(t / "snap/etc/conf", 3);
    CHECK(problems().find("\"/etc/conf\": 3 bytes") != std::string::npos);
  }
  SUBCASE("a missing file and a changed symlink") {
    fs::remove(t / "snap/etc/conf");
    fs::remove(t / "snap/bin/alias");
    fs::create_symlink("other", t / "snap/bin/alias");
    std::string p = problems();
    CHECK(p.find("\"/etc/conf\": missing") != std::string::npos);
    CHECK(p.find("\"/bin/alias\": symlink to \"other\"") != std::string::npos);
  }
  SUBCASE("a changed mode and a type change") {
    ::chmod((t / "snap/etc/conf").c_str(), 0600);
    fs::remove(t / "snap/empty");
    write_file(t / "snap/empty", "");
    std::string p = problems();
    CHECK(p.find("\"/etc/conf\": mode 600, the layer has 644") != std::string::npos);
    CHECK(p.find("\"/empty\": is a regular file, the layer has a directory") != std::string::npos);
  }
  SUBCASE("an extra whiteout is reported; other extra content (RUN mount points) is not") {
    write_file(t / "snap/etc/resolv.conf", "nameserver 10.0.0.1\n");
    write_file(t / "snap/mnt/point/empty", "");
    if (is_root()) REQUIRE(::mknod((t / "snap/etc/gone").c_str(), S_IFCHR, makedev(0, 0)) == 0);
    std::string p = problems();
    if (is_root()) CHECK(p.find("\"/etc/gone\": a whiteout the layer does not have") != std::string::npos);
    CHECK(p.find("resolv") == std::string::npos);
    CHECK(p.find("mnt") == std::string::npos);
  }
}

TEST_CASE("Store::check deep: corrupt and stale snapshots, orphaned blobs; repair removes them") {
  TempDir t;
  write_file(t / "src/data", big_content());
  layer_file(t / "src", t / "l.tar");
  auto opened = store::Store::open(t / "root");
  REQUIRE(opened.ok());
  store::Store& s = **opened;
  std::string tar = read_file(t / "l.tar");
  auto blob = s.blobs().put(tar);
  REQUIRE(blob.ok());
  auto rec = s.add_layer(*blob, std::nullopt);
  REQUIRE(rec.ok());
  auto snap = store::ensure_snapshot(s, rec->chain_id);
  REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));

  auto clean = s.check(store::Repair::no, store::CheckDepth::deep);
  REQUIRE(clean.ok());
  CHECK(clean->ok());
  CHECK(clean->snapshots_checked == 1);
  CHECK(clean->stale.empty());

  // the damage a full disk used to leave, a snapshot no row names, an old orphan
  fs::resize_file(*snap / "data", 0);
  fs::resize_file(*snap / "data", big_content().size());
  fs::create_directories(s.root().snapshots_dir() / std::string(64, 'a') / "etc");
  auto orphan = s.blobs().put("nobody knows me");
  REQUIRE(orphan.ok());
  auto young = s.blobs().put("written a moment ago");
  REQUIRE(young.ok());
  struct timespec old[2] = {{std::time(nullptr) - 3600, 0}, {std::time(nullptr) - 3600, 0}};
  REQUIRE(::utimensat(AT_FDCWD, s.blobs().path(orphan->digest).c_str(), old, 0) == 0);

  auto shallow = s.check(store::Repair::no);
  REQUIRE(shallow.ok());
  CHECK(shallow->ok());  // only --deep looks at snapshots
  auto r = s.check(store::Repair::no, store::CheckDepth::deep);
  REQUIRE(r.ok());
  CHECK_FALSE(r->ok());
  REQUIRE(r->bad_snapshots.size() == 1);
  CHECK(r->bad_snapshots[0].find("\"/data\": content differs") != std::string::npos);
  REQUIRE(r->stale.size() == 1);
  CHECK(r->stale[0].find(std::string(64, 'a')) != std::string::npos);
  CHECK(r->orphaned.size() == 2);

  auto fixed = s.check(store::Repair::yes, store::CheckDepth::deep);
  REQUIRE(fixed.ok());
  CHECK_FALSE(fs::exists(*snap));
  CHECK_FALSE(fs::exists(s.root().snapshots_dir() / std::string(64, 'a')));
  CHECK_FALSE(s.blobs().exists(orphan->digest));
  CHECK(s.blobs().exists(young->digest));  // a running build may be about to record it
  auto row = s.index().get_layer(rec->chain_id);
  REQUIRE(row.ok());
  REQUIRE(row->has_value());
  CHECK_FALSE((*row)->snapshot.has_value());

  // the snapshot is re-made from the blob on next use
  auto again = store::ensure_snapshot(s, rec->chain_id);
  REQUIRE(again.ok());
  CHECK(read_file(*again / "data") == big_content());
  auto after = s.check(store::Repair::no, store::CheckDepth::deep);
  REQUIRE(after.ok());
  CHECK(after->ok());
  CHECK(after->stale.empty());
}
