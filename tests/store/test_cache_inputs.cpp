// The inputs kept beside cache entries for miss reasons (store/cache_inputs.hpp):
// the nearest earlier record, file lists stored once, rows and lists removed with
// their cache entries (delete, clear, the GC), and the schema 5 → 7 migration.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include "store/cache_inputs.hpp"
#include "store/gc.hpp"
#include "store/index.hpp"
#include "store/store.hpp"
#include "temp_dir.hpp"

using namespace mkimage;
using namespace mkimage::store;

namespace mkimage::store {
const std::vector<const char*>& index_migrations();  // store/index_schema.cpp
}

namespace {

std::int64_t count(Index& idx, const char* table) {
  sqlite3_stmt* s = nullptr;
  std::string sql = std::string("SELECT count(*) FROM ") + table;
  REQUIRE(sqlite3_prepare_v2(idx.handle(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  std::int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return n;
}

void entry(Index& idx, const std::string& key, std::int64_t last_used) {
  CacheRecord r;
  r.key = key;
  r.result = R"({"diff_id": null, "created": "2026-01-01T00:00:00Z"})";
  r.created = last_used;
  r.last_used = last_used;
  REQUIRE(idx.put_cache(r).ok());
}

CacheInputsRecord inputs(const std::string& key, const std::string& stage, int position, const std::string& step,
                         const std::string& files = "") {
  return CacheInputsRecord{key, "/src/app\nDockerfile", stage, position, step, "[]", files};
}

}  // namespace

TEST_CASE("cache inputs: the nearest earlier record of a step") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db").value();
  entry(*idx, "k1", 100);
  entry(*idx, "k2", 200);
  entry(*idx, "k3", 300);
  entry(*idx, "k4", 400);
  REQUIRE(put_cache_inputs(*idx, inputs("k1", "app", 3, "RUN npm ci"), nullptr).ok());
  REQUIRE(put_cache_inputs(*idx, inputs("k2", "app", 3, "RUN npm install"), nullptr).ok());
  REQUIRE(put_cache_inputs(*idx, inputs("k3", "other", 2, "RUN npm ci"), nullptr).ok());
  CacheInputsRecord elsewhere = inputs("k4", "app", 3, "RUN npm ci");
  elsewhere.scope = "/src/other\nDockerfile";
  REQUIRE(put_cache_inputs(*idx, elsewhere, nullptr).ok());

  // Same instruction in the same stage first, even when another is more recent.
  auto r = nearest_cache_inputs(*idx, "/src/app\nDockerfile", "app", 3, "RUN npm ci", "kx").value();
  REQUIRE(r);
  CHECK(r->key == "k1");
  // Then the same position in the stage.
  r = nearest_cache_inputs(*idx, "/src/app\nDockerfile", "app", 3, "RUN yarn", "kx").value();
  REQUIRE(r);
  CHECK(r->key == "k2");
  // Then the same instruction in another stage.
  r = nearest_cache_inputs(*idx, "/src/app\nDockerfile", "build", 5, "RUN npm ci", "kx").value();
  REQUIRE(r);
  CHECK(r->key == "k3");
  // Never the step's own key, never another project.
  CHECK_FALSE(nearest_cache_inputs(*idx, "/src/app\nDockerfile", "x", 9, "RUN make", "kx").value());
  r = nearest_cache_inputs(*idx, "/src/app\nDockerfile", "app", 3, "RUN npm ci", "k1").value();
  REQUIRE(r);
  CHECK(r->key == "k2");
}

TEST_CASE("cache inputs: a file list is stored once and goes with the last entry naming it") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db").value();
  entry(*idx, "k1", 100);
  entry(*idx, "k2", 200);
  entry(*idx, "k3", 300);
  std::string list("compressed list bytes\0with a NUL", 32);
  REQUIRE(put_cache_inputs(*idx, inputs("k1", "app", 2, "COPY . /app", "sha256:list"), &list).ok());
  REQUIRE(put_cache_inputs(*idx, inputs("k2", "app", 2, "COPY . /app", "sha256:list"), &list).ok());
  REQUIRE(put_cache_inputs(*idx, inputs("k3", "app", 3, "RUN make"), nullptr).ok());
  CHECK(count(*idx, "cache_inputs") == 3);
  CHECK(count(*idx, "cache_file_lists") == 1);
  CHECK(get_cache_file_list(*idx, "sha256:list").value() == list);
  // An entry keeps its first inputs.
  REQUIRE(put_cache_inputs(*idx, inputs("k3", "app", 9, "RUN other"), nullptr).ok());
  CHECK(nearest_cache_inputs(*idx, "/src/app\nDockerfile", "app", 3, "RUN make", "kx").value()->step == "RUN make");

  REQUIRE(idx->delete_cache("k1").ok());
  CHECK(count(*idx, "cache_inputs") == 2);
  CHECK(count(*idx, "cache_file_lists") == 1);  // k2 still names it
  REQUIRE(idx->delete_cache("k2").ok());
  CHECK(count(*idx, "cache_inputs") == 1);
  CHECK(count(*idx, "cache_file_lists") == 0);
  REQUIRE(idx->clear_cache().ok());
  CHECK(count(*idx, "cache_inputs") == 0);
  // Inputs need their entry.
  CHECK_FALSE(put_cache_inputs(*idx, inputs("gone", "app", 1, "RUN x"), nullptr).ok());
}

TEST_CASE("cache inputs: cache prune (the GC) removes them with the entries") {
  test::TempDir tmp;
  auto st = Store::open(tmp.path() / "root").value();
  Index& idx = st->index();
  std::string list = "list";
  for (int i = 0; i < 5; ++i) {
    std::string key = "sha256:" + std::string(63, '0') + std::to_string(i);
    entry(idx, key, 100 + i);
    REQUIRE(put_cache_inputs(idx, inputs(key, "app", 2, "COPY . /app", i < 3 ? "sha256:a" : "sha256:b"), &list).ok());
  }
  CHECK(count(idx, "cache_inputs") == 5);
  CHECK(count(idx, "cache_file_lists") == 2);
  GcPolicy p;  // `cache prune`: every entry no image needs (these made no layer)
  auto report = collect_garbage(*st, p);
  REQUIRE(report.ok());
  CHECK(report->deleted.size() == 5);
  CHECK(count(idx, "cache") == 0);
  CHECK(count(idx, "cache_inputs") == 0);
  CHECK(count(idx, "cache_file_lists") == 0);
}

TEST_CASE("Index migrates a schema-5 store to 7 (through 6): cache entries stay, inputs can be added") {
  test::TempDir tmp;
  auto db = tmp.path() / "index.db";
  {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    const auto& migrations = mkimage::store::index_migrations();
    REQUIRE(migrations.size() >= 7);
    for (int i = 0; i < 5; ++i) REQUIRE(sqlite3_exec(h, migrations[i], nullptr, nullptr, nullptr) == SQLITE_OK);
    std::string sql = "PRAGMA user_version=5;"
                      "INSERT INTO cache(key, result, created, last_used, step, hits) "
                      "VALUES('sha256:old', '{}', 5, 6, '[1/2] RUN make', 2);";
    REQUIRE(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(h);
  }
  auto idx = Index::open(db);
  REQUIRE(idx.ok());
  CHECK((*idx)->schema_version() == Index::latest_schema_version());
  CHECK(Index::latest_schema_version() >= 7);
  auto old = (*idx)->list_cache().value();
  REQUIRE(old.size() == 1);
  CHECK(old[0].step == "[1/2] RUN make");
  CHECK(old[0].hits == 2);
  // A record made before the migration has no inputs: nothing to compare with.
  CHECK_FALSE(nearest_cache_inputs(**idx, "/src/app\nDockerfile", "0", 2, "RUN make", "kx").value());
  REQUIRE(put_cache_inputs(**idx, inputs("sha256:old", "0", 2, "RUN make"), nullptr).ok());
  CHECK(nearest_cache_inputs(**idx, "/src/app\nDockerfile", "0", 2, "RUN make", "kx").value()->key == "sha256:old");
  REQUIRE((*idx)->delete_cache("sha256:old").ok());
  CHECK(count(**idx, "cache_inputs") == 0);
}
