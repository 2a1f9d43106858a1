// Index rows of containers (builder/container.hpp): `mkimage run`'s records.
#include <sqlite3.h>

#include <ctime>

#include "store/index.hpp"
#include "store/sqlite_statement.hpp"

namespace mkimage::store {

namespace {
using Stmt = SqliteStatement;
ContainerRecord container_from_row(Stmt& s) {
  ContainerRecord c;
  c.id = s.text(0);
  c.name = s.text(1);
  if (auto d = Digest::parse(s.text(2))) c.image = *d;
  c.image_ref = s.text(3);
  c.state = s.text(4);
  c.pid = s.integer(5);
  c.exit_code = s.integer(6);
  c.created = s.integer(7);
  c.started = s.integer(8);
  c.finished = s.integer(9);
  c.config = s.text(10);
  return c;
}
constexpr const char* k_container_cols =
    "id, name, image, image_ref, state, pid, exit_code, created, started, finished, config";
}  // namespace

util::Result<void> Index::put_container(const ContainerRecord& c) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO containers(id, name, image, image_ref, state, pid, exit_code, created, started, finished, "
              "config) VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
              "image=excluded.image, image_ref=excluded.image_ref, state=excluded.state, pid=excluded.pid, "
              "exit_code=excluded.exit_code, created=excluded.created, started=excluded.started, "
              "finished=excluded.finished, config=excluded.config")
      .bind(c.id)
      .bind(c.name)
      .bind(c.image)
      .bind(c.image_ref)
      .bind(c.state)
      .bind(c.pid)
      .bind(c.exit_code)
      .bind(c.created ? c.created : static_cast<std::int64_t>(std::time(nullptr)))
      .bind(c.started)
      .bind(c.finished)
      .bind(c.config.empty() ? std::string("{}") : c.config)
      .run();
}

util::Result<std::optional<ContainerRecord>> Index::get_container(const std::string& id_or_name) {
  std::lock_guard lock(m_mutex);
  // Exact id, exact name, then a unique id prefix (docker's lookup order).
  {
    Stmt s(m_statements, (std::string("SELECT ") + k_container_cols + " FROM containers WHERE id=?1 OR name=?1").c_str());
    s.bind(id_or_name);
    MKIMAGE_TRY(std::optional<ContainerRecord> exact, s.one(container_from_row));
    if (exact) return exact;
  }
  if (id_or_name.empty()) return std::optional<ContainerRecord>{};
  Stmt s(m_statements, (std::string("SELECT ") + k_container_cols + " FROM containers WHERE substr(id,1,?)=? LIMIT 2").c_str());
  s.bind(static_cast<std::int64_t>(id_or_name.size())).bind(id_or_name);
  MKIMAGE_TRY(bool row, s.step());
  if (!row) return std::optional<ContainerRecord>{};
  ContainerRecord c = container_from_row(s);
  MKIMAGE_TRY(bool second, s.step());
  if (second) return util::Error{"container ID prefix \"" + id_or_name + "\" is ambiguous"};
  return std::optional<ContainerRecord>{c};
}

util::Result<std::vector<ContainerRecord>> Index::list_containers() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_container_cols + " FROM containers ORDER BY created DESC, id").c_str());
  return s.all(container_from_row);
}

util::Result<void> Index::delete_container(const std::string& id) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "DELETE FROM containers WHERE id=?").bind(id).run();
}

}  // namespace mkimage::store
