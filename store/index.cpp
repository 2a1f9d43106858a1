#include "store/index.hpp"

#include <chrono>
#include <thread>
#include <utility>

#include <sqlite3.h>

#include <ctime>

#include "store/sqlite_statement.hpp"

namespace mkimage::store {

const std::vector<const char*>& index_migrations();  // index_schema.cpp

namespace {

using Stmt = SqliteStatement;

constexpr int k_busy_timeout_ms = 30000;
constexpr int k_auto_checkpoint_frames = 1000;  // SQLite's default auto-checkpoint
constexpr int k_close_checkpoint_frames = 512;  // 2 MiB of 4 KiB pages

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

util::Result<void> exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    sqlite3_free(msg);
    std::string what(sql);
    if (what.size() > 60) what = what.substr(0, 60) + "...";
    return index_error(db, "exec \"" + what + "\"");
  }
  return {};
}

util::Result<Digest> digest_from_row(Stmt& s) { return s.digest(0); }

util::Result<LayerRecord> layer_from_row(Stmt& s) {
  LayerRecord l;
  MKIMAGE_TRY(Digest c, s.digest(0));
  l.chain_id = ChainId{c};
  if (auto p = s.opt_text(1)) {
    MKIMAGE_TRY(Digest pd, Digest::parse(*p));
    l.parent = ChainId{pd};
  }
  MKIMAGE_TRY(Digest diff, s.digest(2));
  l.diff_id = DiffId{diff};
  MKIMAGE_TRY(l.blob, s.digest(3));
  l.size = s.integer(4);
  l.snapshot = s.opt_text(5);
  if (!s.is_null(6)) l.snapshot_size = s.integer(6);
  return l;
}
constexpr const char* k_layer_cols = "chain_id, parent, diff_id, blob, size, snapshot, snapshot_size";

util::Result<CompressedLayerRecord> compressed_from_row(Stmt& s) {
  CompressedLayerRecord r;
  MKIMAGE_TRY(Digest diff, s.digest(0));
  r.diff_id = DiffId{diff};
  MKIMAGE_TRY(r.compression, parse_compression(s.text(1)));
  MKIMAGE_TRY(r.descriptor.digest, s.digest(2));
  r.descriptor.size = s.integer(3);
  MKIMAGE_TRY(r.descriptor.media_type, MediaType::parse(s.text(4)));
  return r;
}

util::Result<ImageRecord> image_from_row(Stmt& s) {
  ImageRecord r;
  MKIMAGE_TRY(r.manifest, s.digest(0));
  MKIMAGE_TRY(r.config, s.digest(1));
  r.created = s.integer(2);
  r.size = s.integer(3);
  r.added = s.integer(4);
  return r;
}
constexpr const char* k_image_cols = "manifest, config, created, size, added";

}  // namespace

int Index::latest_schema_version() { return static_cast<int>(index_migrations().size()); }
int Index::schema_version() const { return m_version; }

util::Result<std::unique_ptr<Index>> Index::open(const std::filesystem::path& db_path) {
  std::unique_ptr<Index> idx(new Index());
  int rc = sqlite3_open_v2(db_path.c_str(), &idx->m_db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = idx->m_db ? index_error(idx->m_db, "open").message : "out of memory";
    return util::Error{"open \"" + db_path.string() + "\": " + msg};
  }
  sqlite3_busy_timeout(idx->m_db, k_busy_timeout_ms);
  // Every mkimage command is a short process. By default the last connection to
  // close checkpoints the WAL into index.db (two fdatasyncs) and deletes it, and
  // the next process's first write creates it again and syncs its header (another
  // fdatasync): ~5-15 ms per command of syncs that buy nothing (a WAL commit is
  // as consistent as a checkpointed one). The WAL is kept and checkpointed by
  // SQLite's auto-checkpoint (every 1000 pages) instead. Crash safety is the
  // WAL's: a kill -9 or power loss leaves the last committed transactions or
  // fewer, never a torn one (synchronous=NORMAL, docs/design/store.md).
  sqlite3_db_config(idx->m_db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  // WAL size: the first connection of a process reads the whole WAL to rebuild
  // its shared-memory index (SQLite's recovery: about 1 ms of CPU per MiB here),
  // so a WAL left to the 1000-page auto-checkpoint (4 MiB) costs every command
  // up to 4 ms, 2 on average. A connection that committed checkpoints and empties the WAL when
  // it closes with more than k_close_checkpoint_frames in it (its syncs, ~5 fdatasyncs,
  // every ~12 warm builds of testdata/cache-order: ~40 frames each); the hook also keeps SQLite's
  // auto-checkpoint at 1000 pages (a hook replaces it).
  sqlite3_wal_hook(
      idx->m_db,
      [](void* self, sqlite3* db, const char* name, int frames) -> int {
        static_cast<Index*>(self)->m_wal_frames = frames;
        if (frames >= k_auto_checkpoint_frames) (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        return SQLITE_OK;
      },
      idx.get());
  {
    int persist = 1;
    (void)sqlite3_file_control(idx->m_db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  }
  idx->m_statements.attach(idx->m_db);
  auto ctx = [&](const util::Error& e) { return util::Error{"\"" + db_path.string() + "\": " + e.message}; };
  // journal_mode=WAL needs a write lock when the file is new. SQLite returns
  // SQLITE_BUSY without calling the busy handler in some of the races of two
  // processes creating one database (WAL conversion, recovery), so the whole
  // setup is retried for a while when the database is locked or busy.
  const auto& migrations = index_migrations();
  auto setup = [&]() -> util::Result<int> {
    MKIMAGE_TRY_VOID(exec(idx->m_db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
    auto read_version = [&]() -> util::Result<int> {
      Stmt s(idx->m_db, "PRAGMA user_version");
      MKIMAGE_TRY(bool row, s.step());
      return row ? static_cast<int>(s.integer(0)) : 0;
    };
    MKIMAGE_TRY(int version, read_version());
    if (version >= static_cast<int>(migrations.size())) return version;
    // Re-read under the write lock: another process may have migrated meanwhile.
    MKIMAGE_TRY_VOID(exec(idx->m_db, "BEGIN IMMEDIATE"));
    auto migrate = [&]() -> util::Result<int> {
      MKIMAGE_TRY(int v, read_version());
      for (; v < static_cast<int>(migrations.size()); ++v) {
        MKIMAGE_TRY_VOID(exec(idx->m_db, migrations[static_cast<std::size_t>(v)]));
        std::string pragma = "PRAGMA user_version=" + std::to_string(v + 1);
        MKIMAGE_TRY_VOID(exec(idx->m_db, pragma.c_str()));
      }
      return v;
    };
    auto r = migrate();
    if (!r) {
      (void)exec(idx->m_db, "ROLLBACK");
      return util::Error{"migration failed: " + r.error().message};
    }
    if (auto c = exec(idx->m_db, "COMMIT"); !c) {
      (void)exec(idx->m_db, "ROLLBACK");
      return c.error();
    }
    return *r;
  };
  util::Result<int> set_up = setup();
  for (int attempt = 0; !set_up.ok() && attempt < 100; ++attempt) {
    const std::string& m = set_up.error().message;
    if (m.find("locked") == std::string::npos && m.find("busy") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + 10 * (attempt % 5)));
    set_up = setup();
  }
  if (!set_up.ok()) return ctx(set_up.error());
  int version = *set_up;
  if (version > static_cast<int>(migrations.size())) {
    return util::Error{"index database \"" + db_path.string() + "\" has schema version " + std::to_string(version) +
                       ", newer than this mkimage knows (" + std::to_string(migrations.size()) + ")"};
  }
  idx->m_version = version;
  return idx;
}

Index::~Index() {
  (void)flush_hits();  // best effort: bookkeeping only
  m_statements.clear();
  if (m_db && m_wal_frames >= k_close_checkpoint_frames) {
    // TRUNCATE: checkpointed frames left in the file would still be read back
    // by the next process (they stay valid until a writer restarts the WAL).
    // No waiting for another process's readers: then it is a passive one.
    sqlite3_busy_timeout(m_db, 0);
    (void)sqlite3_wal_checkpoint_v2(m_db, "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  }
  if (m_db) sqlite3_close_v2(m_db);
}

util::Result<void> Index::transaction(const std::function<util::Result<void>()>& fn) {
  std::lock_guard lock(m_mutex);
  if (m_depth > 0) {
    ++m_depth;
    auto r = fn();
    --m_depth;
    return r;
  }
  MKIMAGE_TRY_VOID(exec(m_db, "BEGIN IMMEDIATE"));
  m_depth = 1;
  auto r = fn();
  m_depth = 0;
  if (!r) {
    (void)exec(m_db, "ROLLBACK");
    return r;
  }
  if (auto c = exec(m_db, "COMMIT"); !c) {
    (void)exec(m_db, "ROLLBACK");
    return c;
  }
  return {};
}

// ---- blobs ----

util::Result<void> Index::put_blob(const BlobRecord& b) {
  std::lock_guard lock(m_mutex);
  // Keep a known media type if the new record has none.
  Stmt s(m_statements,
         "INSERT INTO blobs(digest, size, media_type, added) VALUES(?,?,?,?) "
         "ON CONFLICT(digest) DO UPDATE SET size=excluded.size, "
         "media_type=CASE WHEN excluded.media_type='' THEN blobs.media_type ELSE excluded.media_type END");
  return s.bind(b.digest).bind(b.size).bind(b.media_type.str()).bind(now_seconds()).run();
}

util::Result<std::optional<BlobRecord>> Index::get_blob(const Digest& d) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT digest, size, media_type FROM blobs WHERE digest=?");
  s.bind(d);
  return s.one([&](Stmt& r) { return BlobRecord{d, r.integer(1), MediaType::of(r.text(2))}; });
}

util::Result<std::vector<BlobRecord>> Index::list_blobs() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT digest, size, media_type, added FROM blobs ORDER BY digest");
  return s.all([](Stmt& r) -> util::Result<BlobRecord> {
    MKIMAGE_TRY(Digest d, r.digest(0));
    return BlobRecord{d, r.integer(1), MediaType::of(r.text(2)), r.integer(3)};
  });
}

util::Result<void> Index::delete_blob(const Digest& d) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "DELETE FROM blobs WHERE digest=?").bind(d).run();
}

util::Result<bool> Index::blob_referenced(const Digest& d) {
  std::lock_guard lock(m_mutex);
  // A compressed copy is "referenced" while its uncompressed layer is used by an image or cache entry.
  Stmt s(m_statements,
         "SELECT 1 WHERE EXISTS(SELECT 1 FROM image_blobs WHERE blob=?1) "
         "OR EXISTS(SELECT 1 FROM images WHERE manifest=?1) "
         "OR EXISTS(SELECT 1 FROM cache_refs WHERE blob=?1) "
         "OR EXISTS(SELECT 1 FROM compressed_layers c WHERE c.digest=?1 AND ("
         "  EXISTS(SELECT 1 FROM image_blobs WHERE blob=c.diff_id) OR "
         "  EXISTS(SELECT 1 FROM cache_refs WHERE blob=c.diff_id)))");
  s.bind(d);
  return s.step();
}

// ---- layers ----

util::Result<void> Index::put_layer(const LayerRecord& l) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "INSERT INTO layers(chain_id, parent, diff_id, blob, size, snapshot, added) VALUES(?,?,?,?,?,?,?) "
         "ON CONFLICT(chain_id) DO UPDATE SET parent=excluded.parent, diff_id=excluded.diff_id, "
         "blob=excluded.blob, size=excluded.size, snapshot=COALESCE(excluded.snapshot, layers.snapshot), "
         "snapshot_size=CASE WHEN excluded.snapshot IS NULL OR excluded.snapshot=layers.snapshot "
         "THEN layers.snapshot_size END");
  std::optional<Digest> parent;
  if (l.parent) parent = l.parent->digest;
  return s.bind(l.chain_id.digest)
      .bind_opt(parent)
      .bind(l.diff_id.digest)
      .bind(l.blob)
      .bind(l.size)
      .bind_opt(l.snapshot)
      .bind(now_seconds())
      .run();
}

util::Result<std::optional<LayerRecord>> Index::get_layer(const ChainId& c) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_layer_cols + " FROM layers WHERE chain_id=?").c_str());
  s.bind(c.digest);
  return s.one(layer_from_row);
}

util::Result<std::optional<LayerRecord>> Index::find_layer_by_diff_id(const DiffId& d) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_layer_cols + " FROM layers WHERE diff_id=? ORDER BY chain_id LIMIT 1").c_str());
  s.bind(d.digest);
  return s.one(layer_from_row);
}

util::Result<std::vector<LayerRecord>> Index::list_layers() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_layer_cols + " FROM layers ORDER BY chain_id").c_str());
  return s.all(layer_from_row);
}

util::Result<void> Index::set_snapshot(const ChainId& c, const std::optional<std::string>& snapshot) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "UPDATE layers SET snapshot=?, snapshot_size=NULL WHERE chain_id=?").bind_opt(snapshot).bind(c.digest).run();
}

util::Result<void> Index::delete_layer(const ChainId& c) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "DELETE FROM layers WHERE chain_id=?").bind(c.digest).run();
}

// ---- compressed layers ----

util::Result<void> Index::put_compressed_layer(const CompressedLayerRecord& r) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO compressed_layers(diff_id, compression, digest, size, media_type) VALUES(?,?,?,?,?) "
              "ON CONFLICT(diff_id, compression) DO UPDATE SET digest=excluded.digest, size=excluded.size, "
              "media_type=excluded.media_type")
      .bind(r.diff_id.digest)
      .bind(std::string(compression_name(r.compression)))
      .bind(r.descriptor.digest)
      .bind(r.descriptor.size)
      .bind(r.descriptor.media_type.str())
      .run();
}

util::Result<std::optional<CompressedLayerRecord>> Index::get_compressed_layer(const DiffId& d, Compression c) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT diff_id, compression, digest, size, media_type FROM compressed_layers "
         "WHERE diff_id=? AND compression=?");
  s.bind(d.digest).bind(std::string(compression_name(c)));
  return s.one(compressed_from_row);
}

util::Result<std::optional<CompressedLayerRecord>> Index::find_compressed_by_digest(const Digest& compressed) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT diff_id, compression, digest, size, media_type FROM compressed_layers WHERE digest=? LIMIT 1");
  s.bind(compressed);
  return s.one(compressed_from_row);
}

// ---- images ----

util::Result<void> Index::put_image(const ImageRecord& img, const std::vector<Digest>& layer_blobs) {
  return transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY_VOID(Stmt(m_statements,
                          "INSERT INTO images(manifest, config, created, size, added) VALUES(?,?,?,?,?) "
                          "ON CONFLICT(manifest) DO UPDATE SET config=excluded.config, created=excluded.created, "
                          "size=excluded.size")
                         .bind(img.manifest)
                         .bind(img.config)
                         .bind(img.created)
                         .bind(img.size)
                         .bind(img.added ? img.added : now_seconds())
                         .run());
    MKIMAGE_TRY_VOID(Stmt(m_statements, "DELETE FROM image_blobs WHERE manifest=?").bind(img.manifest).run());
    MKIMAGE_TRY_VOID(Stmt(m_statements, "INSERT INTO image_blobs(manifest, position, blob) VALUES(?,0,?)")
                         .bind(img.manifest)
                         .bind(img.config)
                         .run());
    for (std::size_t i = 0; i < layer_blobs.size(); ++i) {
      MKIMAGE_TRY_VOID(Stmt(m_statements, "INSERT INTO image_blobs(manifest, position, blob) VALUES(?,?,?)")
                           .bind(img.manifest)
                           .bind(static_cast<std::int64_t>(i + 1))
                           .bind(layer_blobs[i])
                           .run());
    }
    return {};
  });
}

util::Result<std::optional<ImageRecord>> Index::get_image(const Digest& manifest) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_image_cols + " FROM images WHERE manifest=?").c_str());
  s.bind(manifest);
  return s.one(image_from_row);
}

util::Result<std::vector<ImageRecord>> Index::images_by_config(const Digest& config) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_image_cols + " FROM images WHERE config=? ORDER BY added DESC, manifest").c_str());
  s.bind(config);
  return s.all(image_from_row);
}

util::Result<std::vector<ImageRecord>> Index::list_images() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, (std::string("SELECT ") + k_image_cols + " FROM images ORDER BY created DESC, added DESC, manifest").c_str());
  return s.all(image_from_row);
}

util::Result<std::vector<Digest>> Index::image_blobs(const Digest& manifest) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT blob FROM image_blobs WHERE manifest=? ORDER BY position");
  s.bind(manifest);
  return s.all(digest_from_row);
}

util::Result<void> Index::delete_image(const Digest& manifest) {
  // image_blobs and tags go with it (ON DELETE CASCADE).
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "DELETE FROM images WHERE manifest=?").bind(manifest).run();
}

// ---- tags ----

util::Result<void> Index::put_tag(const Reference& ref, const Digest& manifest) {
  if (!ref.tag() || ref.digest()) {
    return util::Error{"cannot tag \"" + ref.familiar() + "\": a tag reference needs a tag and no digest"};
  }
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO tags(reference, manifest, updated) VALUES(?,?,?) "
              "ON CONFLICT(reference) DO UPDATE SET manifest=excluded.manifest, updated=excluded.updated")
      .bind(ref.str())
      .bind(manifest)
      .bind(now_seconds())
      .run();
}

util::Result<std::optional<Digest>> Index::get_tag(const Reference& ref) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT manifest FROM tags WHERE reference=?");
  s.bind(ref.str());
  return s.one(digest_from_row);
}

util::Result<bool> Index::delete_tag(const Reference& ref) {
  std::lock_guard lock(m_mutex);
  MKIMAGE_TRY_VOID(Stmt(m_statements, "DELETE FROM tags WHERE reference=?").bind(ref.str()).run());
  return sqlite3_changes(m_db) > 0;
}

util::Result<std::vector<TagRecord>> Index::list_tags() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT reference, manifest FROM tags ORDER BY reference");
  return s.all([](Stmt& row) -> util::Result<TagRecord> {
    MKIMAGE_TRY(Reference r, Reference::parse(row.text(0)));
    MKIMAGE_TRY(Digest d, row.digest(1));
    return TagRecord{r, d};
  });
}

util::Result<std::vector<Reference>> Index::tags_of(const Digest& manifest) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT reference FROM tags WHERE manifest=? ORDER BY reference");
  s.bind(manifest);
  return s.all([](Stmt& row) { return Reference::parse(row.text(0)); });
}

util::Result<std::vector<TagDescriptorRecord>> Index::list_tag_descriptors() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT t.reference, t.manifest, b.size, b.media_type FROM tags t "
         "LEFT JOIN blobs b ON b.digest=t.manifest ORDER BY t.reference");
  return s.all([](Stmt& row) -> util::Result<TagDescriptorRecord> {
    TagDescriptorRecord r;
    MKIMAGE_TRY(r.reference, Reference::parse(row.text(0)));
    MKIMAGE_TRY(r.manifest, row.digest(1));
    if (!row.is_null(2)) {
      r.size = row.integer(2);
      r.media_type = MediaType::of(row.text(3));
    }
    return r;
  });
}

util::Result<std::optional<std::int64_t>> Index::last_tag_time(const Digest& manifest) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT MAX(updated) FROM tags WHERE manifest=?");
  s.bind(manifest);
  MKIMAGE_TRY(bool row, s.step());
  if (!row || s.is_null(0)) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{s.integer(0)};
}

// ---- cache ----

util::Result<void> Index::put_cache(const CacheRecord& r) {
  return transaction([&]() -> util::Result<void> {
    std::int64_t now = now_seconds();
    MKIMAGE_TRY_VOID(Stmt(m_statements,
                          "INSERT INTO cache(key, result, created, last_used, step, hits) VALUES(?,?,?,?,?,?) "
                          "ON CONFLICT(key) DO UPDATE SET result=excluded.result, created=excluded.created, "
                          "last_used=excluded.last_used, step=CASE WHEN excluded.step='' THEN cache.step ELSE excluded.step END, "
                          "hits=MAX(cache.hits, excluded.hits)")
                         .bind(r.key)
                         .bind(r.result)
                         .bind(r.created ? r.created : now)
                         .bind(r.last_used ? r.last_used : now)
                         .bind(r.step)
                         .bind(r.hits)
                         .run());
    MKIMAGE_TRY_VOID(Stmt(m_statements, "DELETE FROM cache_refs WHERE key=?").bind(r.key).run());
    for (const auto& d : r.refs) {
      MKIMAGE_TRY_VOID(Stmt(m_statements, "INSERT OR IGNORE INTO cache_refs(key, blob) VALUES(?,?)").bind(r.key).bind(d).run());
    }
    return {};
  });
}

util::Result<std::optional<CacheRecord>> Index::get_cache(const std::string& key) {
  std::lock_guard lock(m_mutex);
  MKIMAGE_TRY(std::optional<CacheRecord> r, read_cache(key));
  if (!r) return r;
  std::int64_t now = now_seconds();
  // Written later (write_pending_hits): a cached step costs no commit of its own.
  PendingHit& p = m_pending_hits[key];
  p.last_used = now;
  ++p.count;
  r->last_used = now;
  r->hits += p.count;
  return r;
}

util::Result<void> Index::write_pending_hits() {
  std::lock_guard lock(m_mutex);
  if (m_pending_hits.empty()) return {};
  auto pending = std::exchange(m_pending_hits, {});
  for (const auto& [key, p] : pending) {
    MKIMAGE_TRY_VOID(Stmt(m_statements, "UPDATE cache SET last_used=MAX(last_used, ?), hits=hits+? WHERE key=?")
                         .bind(p.last_used)
                         .bind(p.count)
                         .bind(key)
                         .run());
  }
  return {};
}

util::Result<void> Index::flush_hits() {
  std::lock_guard lock(m_mutex);
  if (m_pending_hits.empty()) return {};
  return transaction([&] { return write_pending_hits(); });  // within the caller's, if one is open
}

util::Result<std::optional<CacheRecord>> Index::add_cache(const CacheRecord& r) {
  std::optional<CacheRecord> stored;
  MKIMAGE_TRY_VOID(transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY(stored, read_cache(r.key));
    if (stored) return {};
    return put_cache(r);
  }));
  return stored;
}

util::Result<std::optional<CacheRecord>> Index::read_cache(const std::string& key) {
  std::lock_guard lock(m_mutex);
  CacheRecord r;
  {
    Stmt s(m_statements, "SELECT key, result, created, last_used, step, hits FROM cache WHERE key=?");
    s.bind(key);
    MKIMAGE_TRY(bool row, s.step());
    if (!row) return std::optional<CacheRecord>{};
    r.key = s.text(0);
    r.result = s.text(1);
    r.created = s.integer(2);
    r.last_used = s.integer(3);
    r.step = s.text(4);
    r.hits = s.integer(5);
  }
  {
    Stmt s(m_statements, "SELECT blob FROM cache_refs WHERE key=? ORDER BY blob");
    s.bind(key);
    MKIMAGE_TRY(r.refs, s.all(digest_from_row));
  }
  return std::optional<CacheRecord>{r};
}

util::Result<void> Index::delete_cache(const std::string& key) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "DELETE FROM cache WHERE key=?").bind(key).run();
}

util::Result<std::int64_t> Index::clear_cache(std::optional<std::int64_t> before) {
  std::lock_guard lock(m_mutex);
  if (before) {
    MKIMAGE_TRY_VOID(Stmt(m_statements, "DELETE FROM cache WHERE last_used < ?").bind(*before).run());
  } else {
    MKIMAGE_TRY_VOID(Stmt(m_statements, "DELETE FROM cache").run());
  }
  return static_cast<std::int64_t>(sqlite3_changes(m_db));
}

util::Result<std::vector<CacheRecord>> Index::list_cache() {
  (void)flush_hits();  // best effort: this connection's own hits show
  std::vector<std::string> keys;
  {
    std::lock_guard lock(m_mutex);
    Stmt s(m_statements, "SELECT key FROM cache ORDER BY key");
    MKIMAGE_TRY(keys, s.all([](Stmt& row) { return row.text(0); }));
  }
  std::vector<CacheRecord> out;
  for (const auto& k : keys) {
    MKIMAGE_TRY(auto r, read_cache(k));
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace mkimage::store
