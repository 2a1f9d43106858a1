// Content digests of COPY sources for cache keys, mirroring
// testdata/handed/cases/12-cache-copy-key and 14-cache-copy-from.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <thread>

#include "builder/content_hash.hpp"
#include "builder/stat_cache_index.hpp"
#include "copy_fixture.hpp"
#include "../skip.hpp"

using namespace mkimage;
using namespace mkimage::testing;
namespace fs = std::filesystem;

namespace {

void set_mtime(const fs::path& p, time_t sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), ts, 0) == 0);
}

// Makes every ctime in `dir` older than the racy-clean window by waiting; the
// test contexts are tiny, so set ctime by waiting instead of faking the clock.
void age_ctimes() { std::this_thread::sleep_for(std::chrono::milliseconds(2100)); }

struct Digests {
  CopyFixture& f;
  builder::StatCache* cache;
  builder::FileDigester* digester;
  store::Digest of(const builder::CopyOp& op, const fs::path* from = nullptr) {
    builder::SourceTree src = from ? builder::SourceTree{*from, builder::SourceTree::Origin::rootfs, nullptr}
                                   : f.context_source();
    auto plan = builder::plan_copy(op, src, builder::PlanOptions{f.scratch, false});
    REQUIRE(plan.ok());
    auto d = builder::copy_content_digest(*plan, cache, digester);
    REQUIRE(d.ok());
    return *d;
  }
};

}  // namespace

TEST_CASE("COPY content digest: rename, chmod and same-size same-mtime edits miss; mtime-only hits (case 12)") {
  CopyFixture f;
  write_file(f.ctx / "payload/1.txt", "one\n");
  write_file(f.ctx / "payload/2.txt", "two\n");
  set_mtime(f.ctx / "payload/1.txt", 1577836800);
  set_mtime(f.ctx / "payload/2.txt", 1577836800);
  age_ctimes();
  builder::MemoryStatCache cache;
  builder::FileDigester files(&cache);
  Digests d{f, &cache, &files};
  auto op = copy_op({"payload/"}, "/payload/");

  auto d1 = d.of(op);
  CHECK(files.files_read() == 2);
  CHECK(cache.size() == 2);
  // Build 2: nothing changed; the stat cache answers, no file is read.
  auto d2 = d.of(op);
  CHECK(d2 == d1);
  CHECK(files.files_read() == 2);
  CHECK(files.cache_hits() == 2);
  // Build 3: mtime only.
  set_mtime(f.ctx / "payload/1.txt", 978307200);
  CHECK(d.of(op) == d1);
  // Build 4: rename.
  fs::rename(f.ctx / "payload/2.txt", f.ctx / "payload/3.txt");
  auto d4 = d.of(op);
  CHECK(d4 != d1);
  // Build 5: chmod.
  ::chmod((f.ctx / "payload/1.txt").c_str(), 0755);
  auto d5 = d.of(op);
  CHECK(d5 != d4);
  age_ctimes();
  auto d5b = d.of(op);  // now cached with the new ctime
  CHECK(d5b == d5);
  auto reads_before = files.files_read();
  CHECK(d.of(op) == d5);
  CHECK(files.files_read() == reads_before);  // served by the cache
  // Build 6: same size, same mtime, new bytes: ctime moved, so the cache misses.
  auto st = lstat_of(f.ctx / "payload/1.txt");
  write_file(f.ctx / "payload/1.txt", "ONE\n", 0755);
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  REQUIRE(utimensat(AT_FDCWD, (f.ctx / "payload/1.txt").c_str(), ts, 0) == 0);
  auto st2 = lstat_of(f.ctx / "payload/1.txt");
  REQUIRE(st2.st_size == st.st_size);
  REQUIRE(st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
  auto d6 = d.of(op);
  CHECK(d6 != d5);
  CHECK(files.files_read() == reads_before + 1);
  // Build 7: nothing changed again.
  CHECK(d.of(op) == d6);
}

TEST_CASE("COPY content digest: ownership, --chmod, symlink targets, xattrs and empty dirs count") {
  CopyFixture f;
  write_file(f.ctx / "d/a", "a");
  fs::create_symlink("a", f.ctx / "d/l");
  builder::FileDigester files;
  Digests d{f, nullptr, &files};
  auto op = copy_op({"d"}, "/x/");
  auto base = d.of(op);
  auto chown = op;
  chown.flags.chown = "1000";
  CHECK(d.of(chown) != base);
  auto chmod = op;
  chmod.flags.chmod = "700";
  CHECK(d.of(chmod) != base);
  fs::remove(f.ctx / "d/l");
  fs::create_symlink("b", f.ctx / "d/l");
  auto relinked = d.of(op);
  CHECK(relinked != base);
  fs::create_directories(f.ctx / "d/empty");
  auto with_dir = d.of(op);
  CHECK(with_dir != relinked);
  if (lsetxattr((f.ctx / "d/a").c_str(), "user.test", "1", 1, 0) == 0) {
    CHECK(d.of(op) != with_dir);
  } else {
    MESSAGE("filesystem without user xattrs: xattr part not exercised");
  }
  // The destination and source names are not part of the content digest of a
  // single file (the instruction text is in the key), but the file name is.
  write_file(f.ctx / "n1", "same");
  write_file(f.ctx / "n2", "same");
  CHECK(d.of(copy_op({"n1"}, "/o/")) != d.of(copy_op({"n2"}, "/o/")));
  // .dockerignore'd files do not count.
  write_file(f.ctx / "d/ignored.log", "x");
  auto with_log = d.of(op);
  auto made = builder::make_dockerignore_filter({"**/*.log"});
  REQUIRE(made.ok());
  f.filter = std::move(made.value());
  write_file(f.ctx / "d/ignored.log", "changed");
  auto filtered1 = d.of(op);
  write_file(f.ctx / "d/ignored.log", "changed again, longer");
  CHECK(d.of(op) == filtered1);
  CHECK(filtered1 != with_log);
}

TEST_CASE("COPY --from content digest follows the stage's bytes (case 14)") {
  CopyFixture f;
  fs::path stage = f.tmp / "stage";
  write_file(stage / "out/result.txt", "HELLO\n", 0600);
  builder::MemoryStatCache cache;
  builder::FileDigester files(&cache);
  Digests d{f, &cache, &files};
  auto op = copy_op({"/out/"}, "/app/");
  auto d1 = d.of(op, &stage);
  CHECK(d.of(op, &stage) == d1);
  // The stage produced new bytes: miss.
  write_file(stage / "out/result.txt", "WORLD\n", 0600);
  auto d3 = d.of(op, &stage);
  CHECK(d3 != d1);
  // Re-run of the stage, byte-identical output in a fresh snapshot: content-keyed hit.
  fs::path stage2 = f.tmp / "stage2";
  write_file(stage2 / "out/result.txt", "WORLD\n", 0600);
  CHECK(d.of(op, &stage2) == d3);
  // Back to the first bytes: the first digest again.
  write_file(stage2 / "out/result.txt", "HELLO\n", 0600);
  CHECK(d.of(op, &stage2) == d1);
  // Ownership is kept from a rootfs source, so it counts.
  if (geteuid() == 0) {
    REQUIRE(::chown((stage2 / "out/result.txt").c_str(), 7, 7) == 0);
    CHECK(d.of(op, &stage2) != d1);
  }
}

TEST_CASE("selection_digest never reads mtime, and the stat cache key includes ctime") {
  builder::StatKey a{1, 2, 3, 4, 5, 0100644};
  builder::StatKey b = a;
  b.ctime_ns = 6;
  CHECK(a != b);
  builder::MemoryStatCache cache;
  auto dg = store::Digest::sha256_of("x");
  REQUIRE(cache.put("/p", a, dg).ok());
  CHECK(cache.get("/p", a)->value() == dg);
  CHECK_FALSE(cache.get("/p", b)->has_value());
  CHECK_FALSE(cache.get("/q", a)->has_value());
}

TEST_CASE("FileDigester does not cache files changed in the last 2 seconds") {
  TempDir t;
  write_file(t / "f", "fresh");
  builder::MemoryStatCache cache;
  builder::FileDigester files(&cache);
  auto st = lstat_of(t / "f");
  auto d = files.digest_file(t / "f", st);
  REQUIRE(d.ok());
  CHECK(*d == store::Digest::sha256_of("fresh"));
  CHECK(cache.size() == 0);
}

TEST_CASE("IndexStatCache: one-pass preload; nothing changed reads and writes nothing; an edit rehashes one file") {
  CopyFixture f;
  for (int i = 0; i < 50; ++i) {
    write_file(f.ctx / ("d" + std::to_string(i % 5)) / ("f" + std::to_string(i)), "x" + std::to_string(i));
  }
  age_ctimes();
  auto opened = store::Index::open(f.tmp / "index.db");
  REQUIRE(opened.ok());
  auto& index = **opened;
  auto op = copy_op({"."}, "/ctx/");

  // Build 1: every file is read; their digests are written at flush, in one transaction.
  store::Digest d1;
  {
    builder::IndexStatCache cache(index);
    builder::FileDigester files(&cache);
    d1 = Digests{f, &cache, &files}.of(op);
    CHECK(files.files_read() == 50);
  }
  int rows = 0;
  REQUIRE(index.for_each_stat(f.ctx.string() + "/", [&](const store::StatCacheRow&) { ++rows; }).ok());
  CHECK(rows == 50);
  // Build 2 (a new process): answered from the preloaded records; the index is not written.
  int changes_before = sqlite3_total_changes(index.handle());
  {
    builder::IndexStatCache cache(index);
    builder::FileDigester files(&cache);
    CHECK(Digests{f, &cache, &files}.of(op) == d1);
    CHECK(files.files_read() == 0);
    CHECK(files.cache_hits() == 50);
  }
  CHECK(sqlite3_total_changes(index.handle()) == changes_before);
  // Build 3: one file edited: only it is read, and the key changes.
  write_file(f.ctx / "d3" / "f13", "edited");
  {
    builder::IndexStatCache cache(index);
    builder::FileDigester files(&cache);
    CHECK(Digests{f, &cache, &files}.of(op) != d1);
    CHECK(files.files_read() == 1);
    CHECK(files.cache_hits() == 49);
  }
  // A path outside the preloaded directory still finds its record (one lookup).
  builder::IndexStatCache cache(index);
  auto st = lstat_of(f.ctx / "d0" / "f0");
  auto hit = cache.get((f.ctx / "d0" / "f0").string(), builder::StatKey::of(st));
  REQUIRE(hit.ok());
  CHECK(hit->has_value());
}

namespace {

// A build through an IndexStatCache as a new process makes it (preload, then
// flush), with its FileDigester's counters.
struct IndexedBuild {
  store::Digest digest;
  std::uint64_t files_read = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t xattr_reads = 0;
};

IndexedBuild indexed_build(CopyFixture& f, store::Index& index, const builder::CopyOp& op) {
  builder::IndexStatCache cache(index);
  builder::FileDigester files(&cache);
  IndexedBuild b;
  b.digest = Digests{f, &cache, &files}.of(op);
  b.files_read = files.files_read();
  b.cache_hits = files.cache_hits();
  b.xattr_reads = files.xattr_reads();
  return b;
}

// The digest with no stat cache at all: every file read, every xattr listed.
store::Digest uncached(CopyFixture& f, const builder::CopyOp& op) {
  builder::FileDigester files;
  return Digests{f, nullptr, &files}.of(op);
}

}  // namespace

TEST_CASE("IndexStatCache never answers stale: every kind of edit gives the uncached digest") {
  CopyFixture f;
  const char* names[] = {"same_mtime", "touched", "chmod", "xattr", "renamed", "symlinked", "linked", "plain"};
  for (const char* n : names) write_file(f.ctx / "d" / n, std::string("content of ") + n);
  set_mtime(f.ctx / "d" / "same_mtime", 1577836800);
  bool user_xattrs = lsetxattr((f.ctx / "d" / "plain").c_str(), "user.probe", "1", 1, 0) == 0;
  if (user_xattrs) REQUIRE(lremovexattr((f.ctx / "d" / "plain").c_str(), "user.probe") == 0);
  age_ctimes();
  auto opened = store::Index::open(f.tmp / "index.db");
  REQUIRE(opened.ok());
  auto& index = **opened;
  auto op = copy_op({"."}, "/ctx/");

  // Build 1 records every file (their ctimes are old enough), with "no xattrs".
  auto b1 = indexed_build(f, index, op);
  CHECK(b1.files_read == 8);
  CHECK(b1.digest == uncached(f, op));
  int flagged = 0;
  REQUIRE(index.for_each_stat(f.ctx.string() + "/", [&](const store::StatCacheRow& r) { flagged += r.no_xattrs; }).ok());
  CHECK(flagged == 8);
  // Build 2, nothing changed: no file opened, no xattr listed, the same key.
  auto b2 = indexed_build(f, index, op);
  CHECK(b2.digest == b1.digest);
  CHECK(b2.files_read == 0);
  CHECK(b2.cache_hits == 8);
  CHECK(b2.xattr_reads == 0);

  store::Digest last = b1.digest;
  // Each edit below touches a file whose record is still valid; the rebuild
  // must equal the uncached digest and differ from the one before.
  auto check_edit = [&](const char* what) {
    INFO(what);
    auto b = indexed_build(f, index, op);
    CHECK(b.digest == uncached(f, op));
    CHECK(b.digest != last);
    last = b.digest;
  };
  {  // Same size, same mtime (to the nanosecond): only ctime tells.
    auto st = lstat_of(f.ctx / "d" / "same_mtime");
    write_file(f.ctx / "d" / "same_mtime", "CONTENT OF SAME_MTIME");
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    REQUIRE(utimensat(AT_FDCWD, (f.ctx / "d" / "same_mtime").c_str(), ts, 0) == 0);
    REQUIRE(lstat_of(f.ctx / "d" / "same_mtime").st_size == st.st_size);
    check_edit("same size, same mtime");
  }
  {  // touch -d: new bytes of the same size, then the mtime set to an old date.
    write_file(f.ctx / "d" / "touched", "CONTENT OF TOUCHED");
    set_mtime(f.ctx / "d" / "touched", 946684800);
    check_edit("touch -d");
  }
  REQUIRE(::chmod((f.ctx / "d" / "chmod").c_str(), 0600) == 0);
  check_edit("chmod");
  if (user_xattrs) {
    // The record says "no xattrs"; setting one moves ctime, so the record no longer matches.
    REQUIRE(lsetxattr((f.ctx / "d" / "xattr").c_str(), "user.k", "v1", 2, 0) == 0);
    check_edit("xattr added");
    REQUIRE(lsetxattr((f.ctx / "d" / "xattr").c_str(), "user.k", "v2", 2, 0) == 0);
    check_edit("xattr value changed");
    REQUIRE(lremovexattr((f.ctx / "d" / "xattr").c_str(), "user.k") == 0);
    auto b = indexed_build(f, index, op);
    CHECK(b.digest == uncached(f, op));
    last = b.digest;
  } else {
    MESSAGE("filesystem without user xattrs: the xattr edits are not exercised");
  }
  fs::rename(f.ctx / "d" / "renamed", f.ctx / "d" / "renamed2");
  check_edit("rename");
  fs::remove(f.ctx / "d" / "symlinked");
  fs::create_symlink("plain", f.ctx / "d" / "symlinked");
  check_edit("replaced by a symlink");
  fs::create_hard_link(f.ctx / "d" / "linked", f.ctx / "d" / "linked2");
  check_edit("hard link");

  // Once the edited files are old enough, they are recorded again and a
  // rebuild opens nothing; a file with xattrs has them listed every time.
  if (user_xattrs) REQUIRE(lsetxattr((f.ctx / "d" / "plain").c_str(), "user.keep", "1", 1, 0) == 0);
  age_ctimes();
  auto settled = indexed_build(f, index, op);
  CHECK(settled.digest == uncached(f, op));
  auto again = indexed_build(f, index, op);
  CHECK(again.digest == settled.digest);
  CHECK(again.files_read == 0u);
  CHECK(again.xattr_reads == (user_xattrs ? 1u : 0u));
}

PRIVILEGED_TEST_CASE("xattr changes move ctime (what a stat-cache record's \"no xattrs\" relies on)") {
  TempDir t;
  write_file(t / "f", "x");
  bool user_xattrs = lsetxattr((t / "f").c_str(), "user.probe", "1", 1, 0) == 0;
  SKIP_IF_MISSING(user_xattrs ? "" : "user xattrs on the test directory's filesystem");
  REQUIRE(lremovexattr((t / "f").c_str(), "user.probe") == 0);
  auto before = lstat_of(t / "f");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(lsetxattr((t / "f").c_str(), "user.k", "v", 1, 0) == 0);
  auto set = lstat_of(t / "f");
  CHECK((set.st_ctim.tv_sec != before.st_ctim.tv_sec || set.st_ctim.tv_nsec != before.st_ctim.tv_nsec));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(lremovexattr((t / "f").c_str(), "user.k") == 0);
  auto removed = lstat_of(t / "f");
  CHECK((removed.st_ctim.tv_sec != set.st_ctim.tv_sec || removed.st_ctim.tv_nsec != set.st_ctim.tv_nsec));
}

TEST_CASE("IndexStatCache: a record made without the no-xattrs mark learns it once, then no xattr is listed") {
  CopyFixture f;
  write_file(f.ctx / "a", "a");
  age_ctimes();
  auto opened = store::Index::open(f.tmp / "index.db");
  REQUIRE(opened.ok());
  auto& index = **opened;
  {
    // As a schema-5 store left it: the digest only.
    builder::IndexStatCache cache(index);
    REQUIRE(cache.put((f.ctx / "a").string(), builder::StatKey::of(lstat_of(f.ctx / "a")), store::Digest::sha256_of("a")).ok());
    REQUIRE(cache.flush().ok());
  }
  auto op = copy_op({"."}, "/ctx/");
  auto first = indexed_build(f, index, op);
  CHECK(first.files_read == 0);
  CHECK(first.xattr_reads == 1);
  auto second = indexed_build(f, index, op);
  CHECK(second.digest == first.digest);
  CHECK(second.files_read == 0);
  CHECK(second.xattr_reads == 0);
  CHECK(second.digest == uncached(f, op));
}

TEST_CASE("plan_copy with PlanOptions::preload reads the context's stat-cache records on another thread") {
  CopyFixture f;
  write_file(f.ctx / "a/1.txt", "one\n");
  write_file(f.ctx / "b/2.txt", "two\n");
  // Counts preload() calls and the thread each came from.
  struct Counting : builder::MemoryStatCache {
    std::mutex m;
    std::vector<std::pair<std::string, std::thread::id>> calls;
    util::Result<void> preload(const std::string& dir) override {
      std::lock_guard lock(m);
      calls.emplace_back(dir, std::this_thread::get_id());
      return {};
    }
  } cache;
  auto op = copy_op({"."}, "/ctx/");
  builder::PlanOptions po{f.scratch, false};
  po.preload = &cache;
  auto plan = builder::plan_copy(op, f.context_source(), po);
  REQUIRE(plan.ok());
  REQUIRE(cache.calls.size() == 1);
  CHECK(cache.calls[0].first == f.ctx.string());
  CHECK(cache.calls[0].second != std::this_thread::get_id());
  auto with = builder::copy_content_digest(*plan, &cache);
  REQUIRE(with.ok());
  auto plain = builder::plan_copy(op, f.context_source(), builder::PlanOptions{f.scratch, false});
  REQUIRE(plain.ok());
  auto without = builder::copy_content_digest(*plain, nullptr);
  REQUIRE(without.ok());
  CHECK(*with == *without);
  // A --from source (a rootfs) preloads nothing.
  cache.calls.clear();
  auto from = builder::plan_copy(op, builder::SourceTree{f.ctx, builder::SourceTree::Origin::rootfs, nullptr}, po);
  REQUIRE(from.ok());
  CHECK(cache.calls.empty());
}
