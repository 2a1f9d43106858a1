#include "store/sqlite_statement.hpp"

#include <sqlite3.h>

#include "util/debug.hpp"

namespace mkimage::store {

SqliteStatement::SqliteStatement(sqlite3* db, const char* sql) : m_db(db) {
  m_rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr);
}

SqliteStatement::SqliteStatement(SqliteStatementCache& cache, const std::string& sql) : m_db(cache.db()) {
  m_borrowed = cache.borrow(sql);
  if (m_borrowed) {
    m_cache = &cache;
    m_stmt = m_borrowed->stmt;
    m_rc = SQLITE_OK;
  } else {
    m_rc = sqlite3_prepare_v2(m_db, sql.c_str(), static_cast<int>(sql.size()), &m_stmt, nullptr);
  }
}

SqliteStatement::~SqliteStatement() {
  if (!m_borrowed) {
    sqlite3_finalize(m_stmt);
    return;
  }
  // Ends the statement's read transaction and drops bound copies of the values.
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
  m_cache->give_back(*m_borrowed);
}

SqliteStatementCache::Entry* SqliteStatementCache::borrow(const std::string& sql) {
  std::lock_guard lock(m_mutex);
  auto it = m_entries.find(sql);
  if (it == m_entries.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(m_db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    it = m_entries.emplace(sql, Entry{stmt, false}).first;
  }
  if (it->second.lent) return nullptr;
  it->second.lent = true;
  return &it->second;
}

void SqliteStatementCache::give_back(Entry& e) {
  std::lock_guard lock(m_mutex);
  e.lent = false;
}

void SqliteStatementCache::clear() {
  std::lock_guard lock(m_mutex);
  for (auto& [sql, e] : m_entries) sqlite3_finalize(e.stmt);
  m_entries.clear();
}

SqliteStatement& SqliteStatement::bind(const std::string& v) {
  sqlite3_bind_text(m_stmt, ++m_n, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::bind(std::int64_t v) {
  sqlite3_bind_int64(m_stmt, ++m_n, v);
  return *this;
}

SqliteStatement& SqliteStatement::bind_null() {
  sqlite3_bind_null(m_stmt, ++m_n);
  return *this;
}

util::Result<bool> SqliteStatement::step() {
  if (m_rc != SQLITE_OK) return error("prepare");
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error("step");
}

util::Result<void> SqliteStatement::run() {
  MKIMAGE_TRY(bool row, step());
  (void)row;
  return {};
}

SqliteStatement& SqliteStatement::bind_blob(const std::string& bytes) {
  sqlite3_bind_blob(m_stmt, ++m_n, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

std::string SqliteStatement::blob(int col) const {
  const void* b = sqlite3_column_blob(m_stmt, col);
  return b ? std::string(static_cast<const char*>(b), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
           : std::string();
}

std::string SqliteStatement::text(int col) const {
  const unsigned char* t = sqlite3_column_text(m_stmt, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
           : std::string();
}

std::string_view SqliteStatement::text_view(int col) const {
  const unsigned char* t = sqlite3_column_text(m_stmt, col);
  return t ? std::string_view(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
           : std::string_view();
}

std::optional<std::string> SqliteStatement::opt_text(int col) const {
  if (sqlite3_column_type(m_stmt, col) == SQLITE_NULL) return std::nullopt;
  return text(col);
}

std::int64_t SqliteStatement::integer(int col) const { return sqlite3_column_int64(m_stmt, col); }

bool SqliteStatement::is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }

util::Error SqliteStatement::error(const char* what) const {
  std::string detail = std::string(what) + " \"" + (m_stmt ? sqlite3_sql(m_stmt) : "?") + "\"";
  return index_error(m_db, detail);
}

util::Error index_error(sqlite3* db, const std::string& detail) {
  int code = sqlite3_extended_errcode(db);
  std::string phrase;
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      phrase = code == SQLITE_CONSTRAINT_FOREIGNKEY
                   ? "a record refers to content that is not in the store (removed meanwhile by another command?)"
                   : "a record conflicts with one already in the store";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      phrase = "busy: another mkimage process kept it locked for too long";
      break;
    case SQLITE_FULL:
      phrase = "no space left on device";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      phrase = "not writable (check the permissions of the store root)";
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      phrase = "the file is damaged";
      break;
    case SQLITE_IOERR:
      phrase = "I/O error";
      break;
    case SQLITE_CANTOPEN:
      phrase = "cannot open its files";
      break;
    case SQLITE_NOMEM:
      phrase = "out of memory";
      break;
    default:
      phrase = "unexpected failure";
      break;
  }
  std::string msg = "index database: " + phrase;
  // SQLite's own words (and the statement) only for --debug.
  if (util::debug_enabled()) msg += " [SQLite: " + detail + ": " + sqlite3_errmsg(db) + "]";
  else if ((code & 0xff) != SQLITE_FULL) msg += " (--debug shows SQLite's message)";
  return util::Error{msg};
}

}  // namespace mkimage::store
