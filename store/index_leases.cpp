// Index rows of leases (store/lease.hpp): what a running build holds
// against the garbage collector.
#include <sqlite3.h>

#include <ctime>

#include "store/index.hpp"
#include "store/sqlite_statement.hpp"

namespace mkimage::store {

namespace {
using Stmt = SqliteStatement;
}  // namespace

util::Result<void> Index::put_lease(const LeaseRecord& l) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO leases(id, pid, pid_start, boot_id, description, created) VALUES(?,?,?,?,?,?) "
              "ON CONFLICT(id) DO UPDATE SET pid=excluded.pid, pid_start=excluded.pid_start, "
              "boot_id=excluded.boot_id, description=excluded.description")
      .bind(l.id)
      .bind(l.pid)
      .bind(l.pid_start)
      .bind(l.boot_id)
      .bind(l.description)
      .bind(l.created ? l.created : static_cast<std::int64_t>(std::time(nullptr)))
      .run();
}

util::Result<void> Index::delete_lease(const std::string& id) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "DELETE FROM leases WHERE id=?").bind(id).run();
}

util::Result<std::vector<LeaseRecord>> Index::list_leases() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT id, pid, pid_start, boot_id, description, created FROM leases ORDER BY id");
  return s.all([](Stmt& r) {
    return LeaseRecord{r.text(0), r.integer(1), r.integer(2), r.text(3), r.text(4), r.integer(5)};
  });
}

util::Result<void> Index::add_lease_refs(const std::string& id, const std::vector<Digest>& refs) {
  return transaction([&]() -> util::Result<void> {
    for (const auto& d : refs) {
      MKIMAGE_TRY_VOID(Stmt(m_statements, "INSERT OR IGNORE INTO lease_refs(lease, ref) VALUES(?,?)").bind(id).bind(d).run());
    }
    return {};
  });
}

util::Result<std::vector<std::pair<std::string, std::string>>> Index::list_lease_refs() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT lease, ref FROM lease_refs ORDER BY lease, ref");
  return s.all([](Stmt& r) { return std::make_pair(r.text(0), r.text(1)); });
}

}  // namespace mkimage::store
