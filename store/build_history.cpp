#include "store/build_history.hpp"

#include <chrono>
#include "util/random.hpp"
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "util/json_text.hpp"

#include "store/lease.hpp"
#include "store/sqlite_statement.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using Stmt = SqliteStatement;

namespace {

constexpr const char* k_build_columns =
    "id, name, started, finished, status, dockerfile, dockerfile_digest, context, target, args, secrets, tags, "
    "image, manifest, error";
constexpr const char* k_step_columns =
    "build, number, label, name, outcome, started, duration_ms, cache_key, miss_reason, log_bytes";

// A builds row (columns in k_build_columns order). JSON columns that do not
// parse read as empty.
util::Result<BuildRecord> read_build(Stmt& r) {
  BuildRecord b;
  b.id = r.text(0);
  b.name = r.text(1);
  b.started_ms = r.integer(2);
  b.finished_ms = r.integer(3);
  b.status = r.text(4);
  b.dockerfile = r.text(5);
  b.dockerfile_digest = r.text(6);
  b.context = r.text(7);
  b.target = r.text(8);
  auto args = nlohmann::json::parse(r.text(9), nullptr, false);
  if (args.is_object())
    for (auto& [k, v] : args.items())
      if (v.is_string()) b.args[k] = v.get<std::string>();
  auto list = [](const std::string& text) {
    std::vector<std::string> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_array())
      for (auto& v : j)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
  };
  b.secrets = list(r.text(10));
  b.tags = list(r.text(11));
  b.image = r.text(12);
  b.manifest = r.text(13);
  b.error = r.text(14);
  return b;
}

util::Result<BuildStepRecord> read_step(Stmt& r) {
  BuildStepRecord s;
  s.build = r.text(0);
  s.number = static_cast<int>(r.integer(1));
  s.label = r.text(2);
  s.name = r.text(3);
  s.outcome = r.text(4);
  s.started_ms = r.integer(5);
  s.duration_ms = r.integer(6);
  s.cache_key = r.text(7);
  s.miss_reason = r.text(8);
  s.log_bytes = r.integer(9);
  return s;
}

}  // namespace

std::string new_build_id() {
  static const char* alphabet = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford base32, lower case
  std::string id;
  std::uint64_t v = util::random_u64();
  for (int i = 0; i < 20; ++i) {
    if (i == 12) v = util::random_u64();
    id += alphabet[v & 31];
    v >>= 5;
  }
  return id;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

fs::path history_dir(const fs::path& root, const std::string& build_id) { return root / "history" / build_id; }

fs::path history_log_path(const fs::path& root, const std::string& build_id, int step) {
  return history_dir(root, build_id) / (std::to_string(step) + ".log");
}

util::Result<void> put_build(Index& index, const BuildRecord& b) {
  nlohmann::json args = nlohmann::json::object();
  for (const auto& [k, v] : b.args) args[k] = v;
  std::string sql = std::string("INSERT OR REPLACE INTO builds(") + k_build_columns +
                    ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  // REPLACE on a row with children would cascade-delete its steps: update instead.
  return index.transaction([&]() -> util::Result<void> {
    Stmt exists(index.handle(), "SELECT 1 FROM builds WHERE id=?");
    exists.bind(b.id);
    MKIMAGE_TRY(bool found, exists.step());
    if (found) {
      Stmt u(index.handle(),
             "UPDATE builds SET name=?, started=?, finished=?, status=?, dockerfile=?, dockerfile_digest=?, "
             "context=?, target=?, args=?, secrets=?, tags=?, image=?, manifest=?, error=? WHERE id=?");
      u.bind(b.name).bind(b.started_ms).bind(b.finished_ms).bind(b.status).bind(b.dockerfile)
          .bind(b.dockerfile_digest).bind(b.context).bind(b.target).bind(util::json_text(args))
          .bind(util::json_text(nlohmann::json(b.secrets))).bind(util::json_text(nlohmann::json(b.tags))).bind(b.image)
          .bind(b.manifest).bind(b.error).bind(b.id);
      return u.run();
    }
    Stmt s(index.handle(), sql);
    s.bind(b.id).bind(b.name).bind(b.started_ms).bind(b.finished_ms).bind(b.status).bind(b.dockerfile)
        .bind(b.dockerfile_digest).bind(b.context).bind(b.target).bind(util::json_text(args))
        .bind(util::json_text(nlohmann::json(b.secrets))).bind(util::json_text(nlohmann::json(b.tags))).bind(b.image)
        .bind(b.manifest).bind(b.error);
    return s.run();
  });
}

util::Result<void> put_build_step(Index& index, const BuildStepRecord& st) {
  Stmt s(index.handle(), std::string("INSERT OR REPLACE INTO build_steps(") + k_step_columns +
                             ") VALUES(?,?,?,?,?,?,?,?,?,?)");
  s.bind(st.build).bind(static_cast<std::int64_t>(st.number)).bind(st.label).bind(st.name).bind(st.outcome)
      .bind(st.started_ms).bind(st.duration_ms).bind(st.cache_key).bind(st.miss_reason).bind(st.log_bytes);
  return s.run();
}

namespace {

// Running rows whose recording lease is gone or dead read as interrupted.
util::Result<void> mark_interrupted(Index& index, std::vector<BuildRecord>& builds) {
  bool any_running = false;
  for (const auto& b : builds) any_running = any_running || b.status == "running";
  if (!any_running) return {};
  MKIMAGE_TRY(auto leases, index.list_leases());
  std::set<std::string> live;
  for (const auto& l : leases)
    if (lease_owner_alive(l)) live.insert(l.description);
  for (auto& b : builds) {
    if (b.status != "running" || live.count(history_lease_description(b.id))) continue;
    b.status = "error";
    b.error = k_interrupted_error;
  }
  return {};
}

util::Result<BuildRecord> checked(Index& index, BuildRecord b) {
  std::vector<BuildRecord> one{std::move(b)};
  MKIMAGE_TRY_VOID(mark_interrupted(index, one));
  return std::move(one.front());
}

}  // namespace

std::string history_lease_description(const std::string& build_id) { return "build history " + build_id; }

util::Result<std::vector<BuildRecord>> list_builds(Index& index) {
  Stmt s(index.handle(), std::string("SELECT ") + k_build_columns + " FROM builds ORDER BY started DESC, id");
  MKIMAGE_TRY(auto builds, s.all(read_build));
  MKIMAGE_TRY_VOID(mark_interrupted(index, builds));
  return builds;
}

util::Result<BuildRecord> find_build(Index& index, const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) {
    Stmt s(index.handle(), std::string("SELECT ") + k_build_columns + " FROM builds ORDER BY started DESC LIMIT 1");
    MKIMAGE_TRY(auto b, s.one(read_build));
    if (!b) return util::Error{"no builds recorded"};
    return checked(index, std::move(*b));
  }
  // A prefix match: ids are lower-case base32, so LIKE needs no escaping beyond % and _.
  for (char c : id_or_prefix)
    if (c == '%' || c == '_') return util::Error{"no build found with ID \"" + id_or_prefix + "\""};
  Stmt s(index.handle(), std::string("SELECT ") + k_build_columns + " FROM builds WHERE id LIKE ? || '%' LIMIT 3");
  s.bind(id_or_prefix);
  MKIMAGE_TRY(auto found, s.all(read_build));
  for (auto& b : found)
    if (b.id == id_or_prefix) return checked(index, std::move(b));
  if (found.empty()) return util::Error{"no build found with ID \"" + id_or_prefix + "\""};
  if (found.size() > 1) return util::Error{"build ID \"" + id_or_prefix + "\" is ambiguous"};
  return checked(index, std::move(found.front()));
}

util::Result<std::vector<BuildStepRecord>> build_steps(Index& index, const std::string& build_id) {
  Stmt s(index.handle(), std::string("SELECT ") + k_step_columns + " FROM build_steps WHERE build=? ORDER BY number");
  s.bind(build_id);
  return s.all(read_step);
}

util::Result<std::vector<BuildStepRecord>> all_build_steps(Index& index) {
  Stmt s(index.handle(), "SELECT s.build, s.number, s.label, s.name, s.outcome, s.started, s.duration_ms, "
                         "s.cache_key, s.miss_reason, s.log_bytes FROM build_steps s JOIN builds b ON b.id = s.build "
                         "ORDER BY b.started, b.id, s.number");
  return s.all(read_step);
}

util::Result<std::vector<std::string>> prune_builds(Index& index, const fs::path& root, std::size_t keep) {
  std::vector<std::string> removed;
  Stmt count(index.handle(), "SELECT COUNT(*) FROM builds");
  MKIMAGE_TRY(auto n, count.one([](Stmt& r) { return r.integer(0); }));
  if (!n || static_cast<std::size_t>(*n) <= keep) return removed;
  MKIMAGE_TRY(auto builds, list_builds(index));
  // A build still running is never removed (list_builds shows one whose process died as an error).
  MKIMAGE_TRY_VOID(index.transaction([&]() -> util::Result<void> {
    for (std::size_t i = keep; i < builds.size(); ++i) {
      const auto& b = builds[i];
      if (b.status == "running") continue;
      Stmt d(index.handle(), "DELETE FROM builds WHERE id=?");
      d.bind(b.id);
      MKIMAGE_TRY_VOID(d.run());
      removed.push_back(b.id);
    }
    return {};
  }));
  for (const auto& id : removed) {
    std::error_code ec;
    fs::remove_all(history_dir(root, id), ec);
  }
  return removed;
}

}  // namespace mkimage::store
