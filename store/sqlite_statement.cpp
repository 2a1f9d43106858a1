#include "store/sqlite_statement.hpp"

#include <sqlite3.h>

namespace mkimage::store {

SqliteStatement::SqliteStatement(sqlite3* db, const char* sql) : m_db(db) {
  m_rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr);
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(m_stmt); }

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

std::string SqliteStatement::text(int col) const {
  const unsigned char* t = sqlite3_column_text(m_stmt, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
           : std::string();
}

std::optional<std::string> SqliteStatement::opt_text(int col) const {
  if (sqlite3_column_type(m_stmt, col) == SQLITE_NULL) return std::nullopt;
  return text(col);
}

std::int64_t SqliteStatement::integer(int col) const { return sqlite3_column_int64(m_stmt, col); }

util::Error SqliteStatement::error(const char* what) const {
  return util::Error{std::string("index database: ") + what + " \"" + (m_stmt ? sqlite3_sql(m_stmt) : "?") +
                     "\": " + sqlite3_errmsg(m_db)};
}

}  // namespace mkimage::store
