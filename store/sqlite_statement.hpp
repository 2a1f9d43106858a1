// A prepared SQLite statement for store/index.cpp: RAII over sqlite3_stmt with
// positional binding, stepping, typed column reads, and the two row loops the
// index needs (first row or nullopt; every row). Internal to store/.
//
// Example:
//   SqliteStatement s(cache, "SELECT manifest FROM tags WHERE reference=?");
//   s.bind(ref.str());
//   MKIMAGE_TRY(std::optional<Digest> d, s.one([](SqliteStatement& r) { return r.digest(0); }));
//
// Errors say what went wrong in the user's terms (store/sqlite_statement.cpp
// index_error): "index database: busy: ...", "... no space left on device";
// SQLite's message and the SQL text are added only with --debug
// (util/debug.hpp): "[SQLite: step "<sql>": <sqlite3_errmsg>]" (a failed
// prepare is reported as `prepare` by the first step()).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/digest.hpp"
#include "util/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mkimage::store {

namespace detail {
// The row type of a reader returning T or util::Result<T>.
template <class T>
struct RowType {
  using type = T;
};
template <class T>
struct RowType<util::Result<T>> {
  using type = T;
};
}  // namespace detail

// Prepared statements kept for the life of a connection, keyed by SQL text:
// preparing (parsing and planning) a statement costs more than running these
// one-row lookups, and a build runs the same few dozen statements many times.
// Thread-safe; a statement is lent to one SqliteStatement at a time (a nested
// use of the same SQL prepares a private copy). clear() must run before the
// connection is closed.
class SqliteStatementCache {
public:
  explicit SqliteStatementCache(sqlite3* db = nullptr) : m_db(db) {}
  ~SqliteStatementCache() { clear(); }
  SqliteStatementCache(const SqliteStatementCache&) = delete;
  SqliteStatementCache& operator=(const SqliteStatementCache&) = delete;

  void attach(sqlite3* db) { m_db = db; }
  sqlite3* db() const { return m_db; }
  void clear();  // finalises every cached statement

private:
  friend class SqliteStatement;
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool lent = false;
  };
  // A reset statement for `sql` (marked lent), or nullptr when it is lent
  // already or cannot be prepared: the caller then prepares a private one.
  Entry* borrow(const std::string& sql);
  void give_back(Entry& e);

  sqlite3* m_db;
  std::mutex m_mutex;
  std::unordered_map<std::string, Entry> m_entries;
};

// The error for the last failure on `db`: "index database: <what went wrong>",
// plus `detail` (what was being done: the statement) and SQLite's message
// under --debug.
util::Error index_error(sqlite3* db, const std::string& detail);

class SqliteStatement {
public:
  // Prepares `sql` on `db` (sqlite3_prepare_v2). Finalised on destruction.
  SqliteStatement(sqlite3* db, const char* sql);
  SqliteStatement(sqlite3* db, const std::string& sql) : SqliteStatement(db, sql.c_str()) {}
  // Borrows `sql` from `cache` (prepared on first use); reset, its bindings
  // cleared and returned to the cache on destruction.
  SqliteStatement(SqliteStatementCache& cache, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binds the next positional parameter (1, 2, ... in call order; `?1` used
  // twice in the SQL takes one bind). Text is copied; a Digest binds as its
  // "sha256:<hex>" string. Returns *this for chaining.
  SqliteStatement& bind(const std::string& v);
  SqliteStatement& bind(const char* v) { return bind(std::string(v)); }
  SqliteStatement& bind(std::int64_t v);
  SqliteStatement& bind(const Digest& d) { return bind(d.str()); }
  SqliteStatement& bind_null();
  // Binds bytes as a BLOB (copied).
  SqliteStatement& bind_blob(const std::string& bytes);
  // NULL when empty.
  SqliteStatement& bind_opt(const std::optional<std::string>& v) { return v ? bind(*v) : bind_null(); }
  SqliteStatement& bind_opt(const std::optional<Digest>& v) { return v ? bind(*v) : bind_null(); }

  // Runs one step. True when a row is available, false when done.
  // Errors: prepare or step failure (SQLITE_BUSY after the busy timeout, constraint...).
  util::Result<bool> step();
  // Runs a statement that returns no rows (INSERT, UPDATE, DELETE).
  util::Result<void> run();

  // Reads the first row with `read(*this)` (returning T or util::Result<T>);
  // nullopt when there is no row. Errors: step's, or read's.
  template <class Read>
  auto one(Read&& read) -> util::Result<std::optional<typename detail::RowType<std::invoke_result_t<Read&, SqliteStatement&>>::type>> {
    using T = typename detail::RowType<std::invoke_result_t<Read&, SqliteStatement&>>::type;
    MKIMAGE_TRY(bool row, step());
    if (!row) return std::optional<T>{};
    util::Result<T> value = read(*this);
    if (!value) return value.error();
    return std::optional<T>(std::move(*value));
  }

  // Reads every row, in the statement's order, with `read(*this)`.
  // Errors: step's, or the first of read's.
  template <class Read>
  auto all(Read&& read) -> util::Result<std::vector<typename detail::RowType<std::invoke_result_t<Read&, SqliteStatement&>>::type>> {
    using T = typename detail::RowType<std::invoke_result_t<Read&, SqliteStatement&>>::type;
    std::vector<T> out;
    while (true) {
      MKIMAGE_TRY(bool row, step());
      if (!row) break;
      util::Result<T> value = read(*this);
      if (!value) return value.error();
      out.push_back(std::move(*value));
    }
    return out;
  }

  // Columns of the current row, numbered from 0. NULL reads as "" / 0.
  std::string text(int col) const;
  // The text without a copy: valid until the next step(), reset or column
  // read of another type on this column.
  std::string_view text_view(int col) const;
  std::string blob(int col) const;  // a BLOB's (or text's) bytes; "" for NULL
  std::optional<std::string> opt_text(int col) const;  // nullopt for NULL
  std::int64_t integer(int col) const;
  bool is_null(int col) const;
  // Errors: the text is not a valid digest.
  util::Result<Digest> digest(int col) const { return Digest::parse(text(col)); }

private:
  util::Error error(const char* what) const;

  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
  SqliteStatementCache* m_cache = nullptr;             // set with m_borrowed
  SqliteStatementCache::Entry* m_borrowed = nullptr;  // non-null: m_stmt belongs to m_cache
  int m_rc;
  int m_n = 0;  // parameters bound so far
};

}  // namespace mkimage::store
