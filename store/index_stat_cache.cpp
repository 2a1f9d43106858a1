// Index rows of the context stat cache (store/index.hpp, StatCacheRecord):
// what a file looked like when its content hash was taken.
#include <sqlite3.h>

#include <ctime>

#include "store/index.hpp"
#include "store/sqlite_statement.hpp"

namespace mkimage::store {

namespace {
using Stmt = SqliteStatement;
}  // namespace

util::Result<void> Index::put_stat(const StatCacheRecord& r) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO stat_cache(path, dev, ino, size, mtime_ns, ctime_ns, mode, digest, no_xattrs) "
              "VALUES(?,?,?,?,?,?,?,?,?) "
              "ON CONFLICT(path) DO UPDATE SET dev=excluded.dev, ino=excluded.ino, size=excluded.size, "
              "mtime_ns=excluded.mtime_ns, ctime_ns=excluded.ctime_ns, mode=excluded.mode, digest=excluded.digest, "
              "no_xattrs=excluded.no_xattrs")
      .bind(r.path)
      .bind(static_cast<std::int64_t>(r.dev))
      .bind(static_cast<std::int64_t>(r.ino))
      .bind(r.size)
      .bind(r.mtime_ns)
      .bind(r.ctime_ns)
      .bind(static_cast<std::int64_t>(r.mode))
      .bind(r.digest)
      .bind(static_cast<std::int64_t>(r.no_xattrs ? 1 : 0))
      .run();
}

util::Result<std::optional<Digest>> Index::get_stat(const StatCacheRecord& p) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT digest FROM stat_cache WHERE path=? AND dev=? AND ino=? AND size=? AND mtime_ns=? "
         "AND ctime_ns=? AND mode=?");
  s.bind(p.path)
      .bind(static_cast<std::int64_t>(p.dev))
      .bind(static_cast<std::int64_t>(p.ino))
      .bind(p.size)
      .bind(p.mtime_ns)
      .bind(p.ctime_ns)
      .bind(static_cast<std::int64_t>(p.mode));
  return s.one([](Stmt& row) { return row.digest(0); });
}

util::Result<void> Index::for_each_stat(const std::string& prefix,
                                        const std::function<void(const StatCacheRow&)>& fn) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT path, dev, ino, size, mtime_ns, ctime_ns, mode, digest, no_xattrs FROM stat_cache "
         "WHERE path>=? AND path<? "
         "ORDER BY path");
  // [prefix, prefix with its last byte incremented): every path starting with prefix.
  std::string upper = prefix;
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (upper.empty()) {
    s.bind(prefix).bind(std::string(1, '\x7f') + "\xff\xff\xff");
  } else {
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    s.bind(prefix).bind(upper);
  }
  // Serialised connection: held once here, each step and column read below
  // re-enters it as a recursive lock (no atomic operation per call).
  sqlite3_mutex* db_mutex = sqlite3_db_mutex(m_db);
  sqlite3_mutex_enter(db_mutex);
  StatCacheRow r;
  util::Result<void> result;
  while (true) {
    auto row = s.step();
    if (!row.ok()) {
      result = row.error();
      break;
    }
    if (!*row) break;
    auto d = Digest::parse(s.text_view(7));
    if (!d.ok()) continue;  // a damaged record is a miss
    r.digest = *d;
    r.path = s.text_view(0);
    r.dev = static_cast<std::uint64_t>(s.integer(1));
    r.ino = static_cast<std::uint64_t>(s.integer(2));
    r.size = s.integer(3);
    r.mtime_ns = s.integer(4);
    r.ctime_ns = s.integer(5);
    r.mode = static_cast<std::uint32_t>(s.integer(6));
    r.no_xattrs = s.integer(8) == 1;
    fn(r);
  }
  sqlite3_mutex_leave(db_mutex);
  return result;
}

util::Result<void> Index::put_stats(const std::vector<StatCacheRecord>& records) {
  if (records.empty()) return {};
  return transaction([&]() -> util::Result<void> {
    for (const auto& r : records) MKIMAGE_TRY_VOID(put_stat(r));
    return {};
  });
}

}  // namespace mkimage::store
