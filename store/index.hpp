// The SQLite index of a store root (ROOT/index.db): what blobs, layers,
// images, tags, cache entries, stat-cache entries and containers exist.
// The schema and its migrations are at the top of store/index_schema.cpp.
//
// Concurrency: WAL journal, busy_timeout 30 s, foreign keys on. Every
// multi-row change is one transaction (BEGIN IMMEDIATE, so two processes
// never deadlock on a read→write upgrade). Several processes may open one
// root at once. One Index may be shared by threads: calls are serialised by
// an internal mutex.
//
// Lookups return Result<std::optional<T>>: a miss is nullopt, not an error.
// Times are Unix epoch seconds (UTC) unless a field says otherwise.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/descriptor.hpp"
#include "store/digest.hpp"
#include "store/sqlite_statement.hpp"
#include "store/media_type.hpp"
#include "store/reference.hpp"
#include "util/result.hpp"

struct sqlite3;

namespace mkimage::store {

// A blob known to the index.
struct BlobRecord {
  Digest digest;
  std::int64_t size = 0;  // bytes
  MediaType media_type;   // may be empty when unknown
  std::int64_t added = 0; // when the row was written (epoch seconds); list_blobs() fills it
};

// One layer in one position of a layer stack. Layers are stored uncompressed,
// so `blob` is normally the diff_id itself (media type oci_layer).
struct LayerRecord {
  ChainId chain_id;                      // primary key
  std::optional<ChainId> parent;         // nullopt for a bottom layer
  DiffId diff_id;
  Digest blob;                           // the uncompressed tar blob
  std::int64_t size = 0;                 // bytes of the uncompressed tar
  std::optional<std::string> snapshot;   // unpacked directory, relative to the root ("snapshots/<hex>")
  // Bytes of the snapshot directory as `du -sb` counts them (schema 4; set by
  // set_snapshot_size, store/usage.hpp); nullopt = not measured since it changed.
  std::optional<std::int64_t> snapshot_size = std::nullopt;
};

// A layer compressed for export: (diff_id, compression) → descriptor, so the
// same layer is never compressed twice.
struct CompressedLayerRecord {
  DiffId diff_id;
  Compression compression = Compression::gzip;
  Descriptor descriptor;  // media type, digest and size of the compressed blob
};

// An image: a manifest in the store (image ID = config digest).
struct ImageRecord {
  Digest manifest;        // manifest blob digest (primary key)
  Digest config;          // config blob digest = image ID
  std::int64_t created = 0;  // config "created" (epoch seconds); 0 if absent
  std::int64_t size = 0;     // sum of layer blob sizes, bytes
  std::int64_t added = 0;    // when it entered the store (epoch seconds)
};

struct TagRecord {
  Reference reference;  // normalised, with a tag and no digest
  Digest manifest;
};

// A build cache entry: cache key → result. The builder owns the payload
// (JSON text, e.g. {"chain_id":..., "diff_id":..., "config":...}); `refs` are
// the blobs the result needs, which image deletion will not remove while the
// entry exists.
struct CacheRecord {
  std::string key;           // the cache key (e.g. "sha256:<hex>")
  std::string result;        // JSON text
  std::vector<Digest> refs;  // blobs kept alive by this entry
  std::int64_t created = 0;  // epoch seconds
  std::int64_t last_used = 0;  // epoch seconds of the last hit (creation time until one)
  std::string step = {};     // the step that made it, "[build 3/5] RUN npm ci" ("" unknown)
  std::int64_t hits = 0;     // lookups that found it
};

// stat → content digest memo for hashing build-context files quickly.
// A hit requires every field to be equal.
struct StatCacheRecord {
  std::string path;  // absolute path
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t size = 0;      // bytes
  std::int64_t mtime_ns = 0;  // nanoseconds since epoch
  std::int64_t ctime_ns = 0;
  std::uint32_t mode = 0;     // st_mode (type and octal permission bits)
  Digest digest;              // sha256 of the content
  bool no_xattrs = false;     // the file had no image xattrs, read ≥ 2 s after its ctime
                              // (builder/content_hash.hpp StatCacheEntry)
};

// A stat_cache record as Index::for_each_stat reads it: the path is a view
// into the row, valid during the callback only (no copy per record).
struct StatCacheRow {
  std::string_view path;  // absolute path
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint32_t mode = 0;
  Digest digest;
  bool no_xattrs = false;
};

// A container of `mkimage run` (issue 5).
struct ContainerRecord {
  std::string id;       // 64 hex
  std::string name;     // unique
  Digest image;         // manifest digest of the image it runs
  std::string image_ref;  // what the user typed (for `ps`)
  std::string state;    // "created", "running", "exited"
  std::int64_t pid = 0; // 0 when not running
  std::int64_t exit_code = 0;
  std::int64_t created = 0;   // epoch seconds
  std::int64_t started = 0;   // 0 = never
  std::int64_t finished = 0;  // 0 = not yet
  std::string config;   // JSON text owned by the runner (command, mounts, ...)
};

// A layer blob as a registry holds it (docker's distribution metadata): what a
// pull saw or a push sent, so a later push can HEAD or mount it instead of
// uploading, and knows the compressed digest without compressing again.
struct DistributionSource {
  Descriptor descriptor;   // the compressed blob in the registry (media type, digest, size)
  std::string registry;    // "docker.io", "localhost:5000"
  std::string repository;  // path in that registry: "library/node"
  DiffId diff_id;          // the layer it holds
};

// A lease (schema version 3): content a running build holds, so that a prune
// or rmi in another process does not delete it (store/store.hpp begin_lease).
// The owner is a process: pid, its start time (clock ticks after boot, so a
// reused pid is another owner) and the boot it ran in. A lease whose owner is
// gone is dead: ignored, and removed by the next prune.
struct LeaseRecord {
  std::string id;            // random hex
  std::int64_t pid = 0;
  std::int64_t pid_start = 0;
  std::string boot_id;
  std::string description;   // "build", for people reading the table
  std::int64_t created = 0;  // epoch seconds
};

// A tag with what index.json needs of its manifest blob, read in one statement
// (a consistent view while other processes delete images).
struct TagDescriptorRecord {
  Reference reference;
  Digest manifest;
  std::optional<std::int64_t> size;  // nullopt: no blob row
  MediaType media_type;              // empty when unknown
};

class Index {
public:
  // Opens (creating if needed) the database and runs pending migrations.
  // Errors: SQLite open/migration failures naming the file; a database whose
  // schema version is newer than this binary knows.
  static util::Result<std::unique_ptr<Index>> open(const std::filesystem::path& db_path);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // The schema version after open() (PRAGMA user_version).
  int schema_version() const;
  static int latest_schema_version();

  // Runs `fn` inside one write transaction (BEGIN IMMEDIATE ... COMMIT);
  // rolls back if `fn` returns an error. Calls may nest (inner ones join the
  // outer transaction).
  util::Result<void> transaction(const std::function<util::Result<void>()>& fn);

  // --- blobs ---
  util::Result<void> put_blob(const BlobRecord& b);  // insert or update media type/size
  util::Result<std::optional<BlobRecord>> get_blob(const Digest& d);
  util::Result<std::vector<BlobRecord>> list_blobs();
  // Deletes the row (cascades to layers/compressed rows using it).
  util::Result<void> delete_blob(const Digest& d);
  // True if an image (manifest, config or layer), a cache entry or a
  // compressed-layer row whose layer is still referenced uses the blob.
  util::Result<bool> blob_referenced(const Digest& d);

  // --- layers ---
  util::Result<void> put_layer(const LayerRecord& l);  // insert or replace
  util::Result<std::optional<LayerRecord>> get_layer(const ChainId& c);
  // Any layer with this diff_id (the first by chain_id).
  util::Result<std::optional<LayerRecord>> find_layer_by_diff_id(const DiffId& d);
  util::Result<std::vector<LayerRecord>> list_layers();
  // Sets (or clears, with nullopt) the snapshot directory of a layer.
  util::Result<void> set_snapshot(const ChainId& c, const std::optional<std::string>& snapshot);
  util::Result<void> delete_layer(const ChainId& c);

  // --- compressed layers ---
  util::Result<void> put_compressed_layer(const CompressedLayerRecord& r);
  util::Result<std::optional<CompressedLayerRecord>> get_compressed_layer(const DiffId& d, Compression c);
  util::Result<std::optional<CompressedLayerRecord>> find_compressed_by_digest(const Digest& compressed);

  // --- images ---
  // Inserts the image and its references (config + layer blobs); replaces an
  // existing row for the same manifest.
  util::Result<void> put_image(const ImageRecord& img, const std::vector<Digest>& layer_blobs);
  util::Result<std::optional<ImageRecord>> get_image(const Digest& manifest);
  util::Result<std::vector<ImageRecord>> images_by_config(const Digest& config);
  util::Result<std::vector<ImageRecord>> list_images();  // newest first
  // Blobs an image references: config then layers in manifest order.
  util::Result<std::vector<Digest>> image_blobs(const Digest& manifest);
  // Deletes the image row, its references and its tags.
  util::Result<void> delete_image(const Digest& manifest);

  // --- tags ---
  // Points `ref` (must have a tag) at an image, replacing a previous target.
  util::Result<void> put_tag(const Reference& ref, const Digest& manifest);
  util::Result<std::optional<Digest>> get_tag(const Reference& ref);
  util::Result<bool> delete_tag(const Reference& ref);  // false if it did not exist
  util::Result<std::vector<TagRecord>> list_tags();  // sorted by reference
  util::Result<std::vector<Reference>> tags_of(const Digest& manifest);
  // Every tag with its manifest blob's size and media type (one SELECT).
  util::Result<std::vector<TagDescriptorRecord>> list_tag_descriptors();
  // When a tag was last pointed at `manifest` (epoch seconds); nullopt when untagged.
  util::Result<std::optional<std::int64_t>> last_tag_time(const Digest& manifest);

  // --- registry provenance (repo_digests, distribution_sources) ---
  // Records that `repo_digest` ("docker.io/library/node@sha256:<hex>": the
  // manifest digest in that repository) is the local image `manifest`.
  util::Result<void> put_repo_digest(const Reference& repo_digest, const Digest& manifest);
  // The repo digests of a local image, sorted.
  util::Result<std::vector<Reference>> repo_digests_of(const Digest& manifest);
  // Removes a repo digest; false when there was none.
  util::Result<bool> delete_repo_digest(const Reference& repo_digest);
  // The local image a repo digest names, or nullopt.
  util::Result<std::optional<Digest>> find_repo_digest(const Reference& repo_digest);
  util::Result<void> put_distribution_source(const DistributionSource& s);  // insert or replace
  // Every registry location known for a layer, newest first.
  util::Result<std::vector<DistributionSource>> distribution_sources(const DiffId& diff_id);

  // --- build cache ---
  // Inserts or replaces an entry; a replaced entry keeps its hit count (the
  // larger one) and its step text when `r` has none.
  util::Result<void> put_cache(const CacheRecord& r);
  // A hit: sets last_used to now and counts it (hits + 1), best effort (a busy
  // index does not turn a hit into an error), and returns the updated entry.
  // The garbage collector (store/gc.hpp) frees least recently used entries first.
  // The count is written by flush_hits() (a build's last commit, with its
  // history record) or when the index closes, not in a commit of its own:
  // bookkeeping that a killed process may lose (docs/design/store.md "Durability").
  util::Result<std::optional<CacheRecord>> get_cache(const std::string& key);
  // Writes the hits get_cache() counted and has not written yet, in the current
  // transaction if one is open. The GC and list_cache() call it first.
  util::Result<void> flush_hits();
  // Inserts `r` unless its key has an entry already; then returns that stored
  // entry (last_used untouched) and writes nothing. One transaction, so of
  // builders storing the same key at once, the first one's result is kept.
  util::Result<std::optional<CacheRecord>> add_cache(const CacheRecord& r);
  util::Result<void> delete_cache(const std::string& key);
  // Deletes every entry (older than `before` epoch seconds if given); returns the count.
  util::Result<std::int64_t> clear_cache(std::optional<std::int64_t> before = std::nullopt);
  // The entry for `key`, read only: counts no hit and writes nothing
  // (`build --dry-run`); nullopt when there is none.
  util::Result<std::optional<CacheRecord>> peek_cache(const std::string& key) { return read_cache(key); }
  // Every entry with its refs, sorted by key; reading counts no hit.
  util::Result<std::vector<CacheRecord>> list_cache();

  // --- stat cache ---
  util::Result<void> put_stat(const StatCacheRecord& r);
  // Returns the digest only if dev, ino, size, mtime_ns, ctime_ns and mode all match.
  util::Result<std::optional<Digest>> get_stat(const StatCacheRecord& probe);
  // Calls `fn` for every record whose path starts with `prefix` (e.g.
  // "/src/ctx/"), in path order, with one statement (a range scan of the
  // primary key): a build context's records are read in one pass, without an
  // allocation per record, holding the connection's mutex throughout (a
  // column read then takes it recursively, without atomic operations).
  util::Result<void> for_each_stat(const std::string& prefix, const std::function<void(const StatCacheRow&)>& fn);
  // Inserts or replaces `records` in one transaction.
  util::Result<void> put_stats(const std::vector<StatCacheRecord>& records);

  // --- containers ---
  util::Result<void> put_container(const ContainerRecord& c);  // insert or replace
  util::Result<std::optional<ContainerRecord>> get_container(const std::string& id_or_name);
  util::Result<std::vector<ContainerRecord>> list_containers();  // newest first
  util::Result<void> delete_container(const std::string& id);

  // --- leases ---
  util::Result<void> put_lease(const LeaseRecord& l);
  // Deletes a lease and its refs; a missing lease is not an error.
  util::Result<void> delete_lease(const std::string& id);
  util::Result<std::vector<LeaseRecord>> list_leases();
  // Adds refs (digests) to a lease; refs it has already are kept once.
  util::Result<void> add_lease_refs(const std::string& id, const std::vector<Digest>& refs);
  // (lease id, ref) of every lease, sorted.
  util::Result<std::vector<std::pair<std::string, std::string>>> list_lease_refs();

  // --- usage and garbage collection (index_usage.cpp) ---
  // (manifest, digest) for every blob an image needs: its manifest, config and layers.
  util::Result<std::vector<std::pair<Digest, Digest>>> list_image_refs();
  util::Result<std::vector<CompressedLayerRecord>> list_compressed_layers();
  // Records the measured size of a layer's snapshot directory (as it is now).
  util::Result<void> set_snapshot_size(const ChainId& c, std::int64_t bytes);

  // Direct access for tests and `store check`.
  sqlite3* handle() { return m_db; }

private:
  Index() = default;
  friend struct IndexAccess;
  // The entry for `key` (last_used untouched), or nullopt.
  util::Result<std::optional<CacheRecord>> read_cache(const std::string& key);
  sqlite3* m_db = nullptr;
  SqliteStatementCache m_statements;  // cleared before m_db is closed
  std::recursive_mutex m_mutex;
  int m_depth = 0;  // transaction nesting
  // Hits counted by get_cache() and not written yet: key → time of the last one, count.
  struct PendingHit {
    std::int64_t last_used = 0;
    std::int64_t count = 0;
  };
  std::map<std::string, PendingHit> m_pending_hits;
  util::Result<void> write_pending_hits();  // under m_mutex
  int m_version = 0;
  // Frames in the WAL after this connection's last commit (0: it committed
  // nothing); read by the destructor (Index::open, "WAL size").
  std::atomic<int> m_wal_frames{0};
};

}  // namespace mkimage::store
