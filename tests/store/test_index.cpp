#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/index.hpp"
#include "temp_dir.hpp"

using namespace mkimage;
using namespace mkimage::store;

namespace {

std::string pragma(Index& idx, const char* sql) {
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(idx.handle(), sql, -1, &s, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  return out;
}

Digest dg(const std::string& s) { return Digest::sha256_of(s); }

}  // namespace

namespace mkimage::store {
const std::vector<const char*>& index_migrations();  // store/index_schema.cpp
}

TEST_CASE("Index migrates an empty file to the latest schema, with WAL and foreign keys") {
  test::TempDir tmp;
  auto db = tmp.path() / "index.db";
  {
    // An empty file, as a crash right after creation would leave.
    FILE* f = std::fopen(db.c_str(), "w");
    std::fclose(f);
  }
  auto idx = Index::open(db);
  REQUIRE(idx.ok());
  CHECK((*idx)->schema_version() == Index::latest_schema_version());
  CHECK(Index::latest_schema_version() >= 1);
  CHECK(pragma(**idx, "PRAGMA journal_mode") == "wal");
  CHECK(pragma(**idx, "PRAGMA foreign_keys") == "1");
  CHECK(pragma(**idx, "PRAGMA user_version") == std::to_string(Index::latest_schema_version()));
  for (const char* table : {"blobs", "layers", "compressed_layers", "images", "image_blobs", "tags", "cache",
                            "cache_refs", "stat_cache", "containers"}) {
    CAPTURE(table);
    std::string q = std::string("SELECT name FROM sqlite_master WHERE type='table' AND name='") + table + "'";
    CHECK(pragma(**idx, q.c_str()) == table);
  }
  idx->reset();
  // Reopening runs no migration again and keeps data.
  auto again = Index::open(db);
  REQUIRE(again.ok());
  CHECK((*again)->schema_version() == Index::latest_schema_version());
  REQUIRE((*again)->put_blob({dg("a"), 1, MediaType::of("a/b")}).ok());
  // A newer schema than this binary knows is refused.
  REQUIRE(sqlite3_exec((*again)->handle(), "PRAGMA user_version=999", nullptr, nullptr, nullptr) == SQLITE_OK);
  again->reset();
  auto newer = Index::open(db);
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().message.find("newer") != std::string::npos);
}

TEST_CASE("Index rows: blobs, layers, compressed layers, images, tags") {
  test::TempDir tmp;
  auto opened = Index::open(tmp.path() / "index.db");
  REQUIRE(opened.ok());
  Index& idx = **opened;

  Digest l0 = dg("l0"), l1 = dg("l1"), cfg = dg("cfg"), man = dg("man"), gz = dg("gz");
  for (const auto& d : {l0, l1, cfg, man, gz}) REQUIRE(idx.put_blob({d, 10, MediaType{}}).ok());
  REQUIRE(idx.put_blob({l0, 10, MediaType::of(media_types::oci_layer)}).ok());
  REQUIRE(idx.put_blob({l0, 10, MediaType{}}).ok());  // an empty media type keeps the known one
  CHECK(idx.get_blob(l0).value()->media_type.str() == media_types::oci_layer);
  CHECK_FALSE(idx.get_blob(dg("nope")).value().has_value());

  ChainId c0 = chain_id_of(nullptr, DiffId{l0});
  ChainId c1 = chain_id_of(&c0, DiffId{l1});
  REQUIRE(idx.put_layer({c0, std::nullopt, DiffId{l0}, l0, 10, std::nullopt}).ok());
  REQUIRE(idx.put_layer({c1, c0, DiffId{l1}, l1, 10, std::nullopt}).ok());
  REQUIRE(idx.set_snapshot(c1, "snapshots/" + c1.digest.hex()).ok());
  auto got = idx.get_layer(c1).value();
  REQUIRE(got.has_value());
  CHECK(got->parent == c0);
  CHECK(got->snapshot == "snapshots/" + c1.digest.hex());
  CHECK(idx.find_layer_by_diff_id(DiffId{l1}).value()->chain_id == c1);
  // Re-putting a layer without a snapshot keeps the snapshot and its children.
  REQUIRE(idx.put_layer({c0, std::nullopt, DiffId{l0}, l0, 10, std::nullopt}).ok());
  CHECK(idx.get_layer(c1).value().has_value());
  // A layer whose parent is unknown is refused (foreign key).
  ChainId orphan = chain_id_of(&c1, DiffId{dg("zz")});
  CHECK_FALSE(idx.put_layer({orphan, ChainId{dg("unknown")}, DiffId{l0}, l0, 1, std::nullopt}).ok());

  CompressedLayerRecord comp{DiffId{l0}, Compression::gzip,
                             Descriptor{MediaType::of(media_types::oci_layer_gzip), gz, 7, {}, std::nullopt}};
  REQUIRE(idx.put_compressed_layer(comp).ok());
  auto gc = idx.get_compressed_layer(DiffId{l0}, Compression::gzip).value();
  REQUIRE(gc.has_value());
  CHECK(gc->descriptor.digest == gz);
  CHECK(gc->descriptor.media_type.str() == media_types::oci_layer_gzip);
  CHECK_FALSE(idx.get_compressed_layer(DiffId{l0}, Compression::zstd).value().has_value());
  CHECK(idx.find_compressed_by_digest(gz).value()->diff_id == DiffId{l0});

  REQUIRE(idx.put_image({man, cfg, 1700000000, 20, 0}, {l0, l1}).ok());
  CHECK(idx.image_blobs(man).value() == std::vector<Digest>{cfg, l0, l1});
  CHECK(idx.images_by_config(cfg).value().size() == 1);
  CHECK(idx.blob_referenced(l1).value());
  CHECK(idx.blob_referenced(gz).value());  // compressed copy of a used layer
  CHECK_FALSE(idx.blob_referenced(dg("nope")).value());

  auto ref = Reference::parse("goals").value();
  REQUIRE(idx.put_tag(ref, man).ok());
  CHECK(idx.get_tag(ref).value() == man);
  CHECK(idx.tags_of(man).value() == std::vector<Reference>{ref});
  CHECK_FALSE(idx.put_tag(Reference::parse("goals@" + man.str()).value(), man).ok());
  CHECK_FALSE(idx.put_tag(Reference::parse("other").value(), dg("no-image")).ok());  // foreign key

  // Deleting the image drops its references and tags; the blobs become unreferenced.
  REQUIRE(idx.delete_image(man).ok());
  CHECK(idx.list_tags().value().empty());
  CHECK(idx.image_blobs(man).value().empty());
  CHECK_FALSE(idx.blob_referenced(l1).value());
  // Deleting a blob cascades to layers built on it (and their children) ...
  REQUIRE(idx.delete_blob(l0).ok());
  CHECK_FALSE(idx.get_layer(c0).value().has_value());
  CHECK_FALSE(idx.get_layer(c1).value().has_value());
  // ... and a compressed copy's row goes with the compressed blob.
  CHECK(idx.get_compressed_layer(DiffId{l0}, Compression::gzip).value().has_value());
  REQUIRE(idx.delete_blob(gz).ok());
  CHECK_FALSE(idx.get_compressed_layer(DiffId{l0}, Compression::gzip).value().has_value());
}

TEST_CASE("Index add_cache keeps the first stored result of a key") {
  test::TempDir tmp;
  auto opened = Index::open(tmp.path() / "index.db");
  REQUIRE(opened.ok());
  Index& idx = **opened;
  REQUIRE(idx.put_blob({dg("first"), 5, MediaType{}}).ok());
  REQUIRE(idx.put_blob({dg("second"), 6, MediaType{}}).ok());
  CacheRecord first{"sha256:k", R"({"created":"first"})", {dg("first")}, 100, 100};
  auto added = idx.add_cache(first);
  REQUIRE(added.ok());
  CHECK_FALSE(added->has_value());  // stored
  CacheRecord second{"sha256:k", R"({"created":"second"})", {dg("second")}, 200, 200};
  auto again = idx.add_cache(second);
  REQUIRE(again.ok());
  REQUIRE(again->has_value());  // not stored: the first one comes back
  CHECK((*again)->result == first.result);
  CHECK((*again)->refs == first.refs);
  CHECK((*again)->created == 100);
  auto kept = idx.get_cache("sha256:k").value();
  REQUIRE(kept.has_value());
  CHECK(kept->result == first.result);
  CHECK(kept->refs == first.refs);
  CHECK_FALSE(idx.blob_referenced(dg("second")).value());
}

TEST_CASE("Index cache, stat cache and containers") {
  test::TempDir tmp;
  auto opened = Index::open(tmp.path() / "index.db");
  REQUIRE(opened.ok());
  Index& idx = **opened;

  REQUIRE(idx.put_blob({dg("layer"), 5, MediaType{}}).ok());
  CacheRecord rec{"sha256:key1", R"({"chain_id":"x"})", {dg("layer")}, 100, 100};
  REQUIRE(idx.put_cache(rec).ok());
  auto hit = idx.get_cache("sha256:key1").value();
  REQUIRE(hit.has_value());
  CHECK(hit->result == rec.result);
  CHECK(hit->refs == rec.refs);
  CHECK(hit->created == 100);
  CHECK(hit->last_used > 100);  // a hit sets last_used to now ...
  CHECK(hit->hits == 1);         // ... and counts itself
  auto again = idx.get_cache("sha256:key1").value();
  CHECK(again->hits == 2);
  // Listing counts no hit; the step text is kept.
  REQUIRE(idx.put_cache({"sha256:key3", "null", {}, 100, 100, "[2/3] RUN make", 0}).ok());
  auto listed = idx.list_cache().value();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].hits == 2);
  CHECK(listed[1].step == "[2/3] RUN make");
  CHECK(idx.list_cache().value()[0].hits == 2);
  // Replacing an entry (a --no-cache rebuild) keeps its hits and, given none, its step.
  REQUIRE(idx.put_cache({"sha256:key1", "{}", {dg("layer")}, 200, 200}).ok());
  CHECK(idx.list_cache().value()[0].hits == 2);
  REQUIRE(idx.put_cache({"sha256:key3", "null", {}, 300, 300}).ok());
  CHECK(idx.list_cache().value()[1].step == "[2/3] RUN make");
  REQUIRE(idx.delete_cache("sha256:key3").ok());
  CHECK(idx.blob_referenced(dg("layer")).value());
  CHECK_FALSE(idx.get_cache("sha256:missing").value().has_value());
  REQUIRE(idx.put_cache({"sha256:key2", "null", {}, 0, 0}).ok());
  CHECK(idx.list_cache().value().size() == 2);
  CHECK(idx.clear_cache().value() == 2);
  CHECK_FALSE(idx.blob_referenced(dg("layer")).value());

  StatCacheRecord st{"/ctx/a.txt", 1, 2, 3, 4, 5, 0100644, dg("content")};
  REQUIRE(idx.put_stat(st).ok());
  CHECK(idx.get_stat(st).value() == dg("content"));
  StatCacheRecord changed = st;
  changed.mtime_ns = 6;
  CHECK_FALSE(idx.get_stat(changed).value().has_value());
  changed = st;
  changed.ino = 9;
  CHECK_FALSE(idx.get_stat(changed).value().has_value());

  ContainerRecord c;
  c.id = std::string(64, 'a');
  c.name = "happy_turing";
  c.image = dg("man");
  c.image_ref = "goals:latest";
  c.state = "created";
  c.created = 5;
  REQUIRE(idx.put_container(c).ok());
  c.state = "running";
  c.pid = 1234;
  REQUIRE(idx.put_container(c).ok());
  CHECK(idx.get_container("happy_turing").value()->state == "running");
  CHECK(idx.get_container("aaaa").value()->pid == 1234);
  CHECK_FALSE(idx.get_container("zz").value().has_value());
  ContainerRecord c2 = c;
  c2.id = std::string(63, 'a') + "b";
  c2.name = "other";
  REQUIRE(idx.put_container(c2).ok());
  CHECK_FALSE(idx.get_container("aaa").ok());  // ambiguous prefix
  c2.id = std::string(64, 'c');
  CHECK_FALSE(idx.put_container(c2).ok());  // name is unique
  CHECK(idx.list_containers().value().size() == 2);
  REQUIRE(idx.delete_container(c.id).ok());
  CHECK(idx.list_containers().value().size() == 1);
}

TEST_CASE("Index cache hits are written with the next flush or when the index closes") {
  test::TempDir tmp;
  auto db = tmp.path() / "index.db";
  {
    auto opened = Index::open(db);
    REQUIRE(opened.ok());
    REQUIRE((*opened)->put_cache({"sha256:k", "null", {}, 100, 100}).ok());
    CHECK((*opened)->get_cache("sha256:k").value()->hits == 1);
    CHECK((*opened)->get_cache("sha256:k").value()->hits == 2);  // counts the pending one
    // Not written yet: another connection sees no hit ...
    auto other = Index::open(db);
    REQUIRE(other.ok());
    CHECK((*other)->peek_cache("sha256:k").value()->hits == 0);
    // ... until a flush (a build's last commit, the GC, list_cache).
    REQUIRE((*opened)->flush_hits().ok());
    auto seen = (*other)->peek_cache("sha256:k").value();
    CHECK(seen->hits == 2);
    CHECK(seen->last_used > 100);
    CHECK((*opened)->get_cache("sha256:k").value()->hits == 3);
  }
  auto reopened = Index::open(db);  // the third one was written at close
  REQUIRE(reopened.ok());
  CHECK((*reopened)->peek_cache("sha256:k").value()->hits == 3);
}

TEST_CASE("Index transactions roll back on error and nest") {
  test::TempDir tmp;
  auto opened = Index::open(tmp.path() / "index.db");
  REQUIRE(opened.ok());
  Index& idx = **opened;
  auto r = idx.transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY_VOID(idx.put_blob({dg("t1"), 1, MediaType{}}));
    MKIMAGE_TRY_VOID(idx.transaction([&]() { return idx.put_blob({dg("t2"), 1, MediaType{}}); }));
    return util::Error{"stop"};
  });
  CHECK_FALSE(r.ok());
  CHECK(idx.list_blobs().value().empty());
  REQUIRE(idx.transaction([&]() { return idx.put_blob({dg("t3"), 1, MediaType{}}); }).ok());
  CHECK(idx.list_blobs().value().size() == 1);
}

TEST_CASE("Index: two processes write concurrently without losing rows") {
  test::TempDir tmp;
  auto db = tmp.path() / "index.db";
  constexpr int k_rows = 150;
  pid_t pids[2];
  for (int p = 0; p < 2; ++p) {
    pids[p] = ::fork();
    if (pids[p] == 0) {
      // Both processes also race on creating and migrating the database.
      auto idx = Index::open(db);
      if (!idx.ok()) ::_exit(2);
      for (int i = 0; i < k_rows; ++i) {
        std::string key = "p" + std::to_string(p) + "-" + std::to_string(i);
        Digest blob = dg(key);
        auto r = (*idx)->transaction([&]() -> util::Result<void> {
          MKIMAGE_TRY_VOID((*idx)->put_blob({blob, i, MediaType{}}));
          MKIMAGE_TRY_VOID((*idx)->put_cache({key, "{}", {blob}, 0, 0}));
          return (*idx)->put_stat({"/f/" + key, 1, static_cast<std::uint64_t>(i), i, i, i, 0100644, blob});
        });
        if (!r.ok()) ::_exit(3);
      }
      ::_exit(0);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto idx = Index::open(db);
  REQUIRE(idx.ok());
  CHECK((*idx)->list_blobs().value().size() == 2 * k_rows);
  CHECK((*idx)->list_cache().value().size() == 2 * k_rows);
  CHECK(pragma(**idx, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("Index migrates a schema-3 store: cache rows get step and hits, layers a snapshot size") {
  test::TempDir tmp;
  auto db = tmp.path() / "index.db";
  {
    // A store as the previous release left it: schema 3, a blob, a layer and a cache row.
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    const auto& migrations = mkimage::store::index_migrations();
    REQUIRE(migrations.size() >= 4);
    for (int i = 0; i < 3; ++i) REQUIRE(sqlite3_exec(h, migrations[i], nullptr, nullptr, nullptr) == SQLITE_OK);
    std::string l = dg("l").str();
    std::string sql = "PRAGMA user_version=3;"
                      "INSERT INTO blobs(digest, size) VALUES('" + l + "', 7);"
                      "INSERT INTO layers(chain_id, diff_id, blob, size, snapshot) VALUES('" + l + "','" + l + "','" + l +
                      "', 7, 'snapshots/x');"
                      "INSERT INTO cache(key, result, created, last_used) VALUES('sha256:old', '{}', 5, 6);";
    REQUIRE(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(h);
  }
  auto idx = Index::open(db);
  REQUIRE(idx.ok());
  CHECK((*idx)->schema_version() == Index::latest_schema_version());
  auto old = (*idx)->list_cache().value();
  REQUIRE(old.size() == 1);
  CHECK(old[0].step == "");
  CHECK(old[0].hits == 0);
  CHECK(old[0].last_used == 6);
  auto layer = (*idx)->get_layer(ChainId{dg("l")}).value();
  REQUIRE(layer.has_value());
  CHECK_FALSE(layer->snapshot_size.has_value());
  REQUIRE((*idx)->set_snapshot_size(ChainId{dg("l")}, 4096).ok());
  CHECK((*idx)->get_layer(ChainId{dg("l")}).value()->snapshot_size == 4096);
  // A new snapshot path forgets the measured size.
  REQUIRE((*idx)->set_snapshot(ChainId{dg("l")}, std::string("snapshots/y")).ok());
  CHECK_FALSE((*idx)->get_layer(ChainId{dg("l")}).value()->snapshot_size.has_value());
}
