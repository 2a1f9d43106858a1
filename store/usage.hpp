// What the store keeps on disk and why: the model the disk-usage commands
// (`mkimage system df`, `cache du`, `cache ls`) and the cache garbage collector
// (store/gc.hpp) work on.
//
// Every layer is kept twice: as its tar blob (blobs/sha256/<hex>, what images
// and exports need) and unpacked as a snapshot per position in a layer stack
// (snapshots/<chain hex>/, what builds and containers mount). A blob is kept
// by images (their manifests, configs and layers), by build cache entries
// (cache_refs), by running builds (leases) — or by nothing (unreferenced: a
// load in progress, or left over). A snapshot is kept with its layer's blob.
// "Shared" bytes are kept by images and the cache at once: deleting the cache
// entries alone does not free them. Kept `ADD <url>` downloads
// (store/downloads.hpp) are build cache too, never shared.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/downloads.hpp"
#include "store/index.hpp"
#include "util/result.hpp"

namespace mkimage::store {

class Store;

// The rows the accounting needs, read at one moment (store/usage.cpp
// read_usage_model), or built in memory by tests.
struct UsageModel {
  std::vector<BlobRecord> blobs;                      // every blob row (size = file bytes)
  std::vector<LayerRecord> layers;                    // snapshot_size: measured bytes (nullopt counts 0)
  std::vector<CacheRecord> cache;                     // with refs
  std::map<Digest, std::set<Digest>> images;          // manifest → every blob it needs (itself included)
  std::vector<CompressedLayerRecord> compressed;      // compressed copies of layers (for export/push)
  std::set<Digest> leased;                            // held by live leases (running builds)
  std::map<Digest, int> container_images;             // manifest → containers using it
  std::vector<DownloadRecord> downloads;              // kept ADD <url> downloads
  std::int64_t now = 0;                               // epoch seconds the model was read
};

// Who keeps bytes.
enum class Keeper { images, cache, shared, running_build, unreferenced };
const char* keeper_name(Keeper k);  // "images", "build cache", "images and build cache", ...

struct KeptBytes {
  std::int64_t blobs = 0;
  std::int64_t snapshots = 0;
  std::int64_t total() const { return blobs + snapshots; }
};

// One build cache entry as `cache ls` shows it.
struct CacheEntryUsage {
  CacheRecord record;
  std::optional<Digest> layer;  // the layer blob it keeps (nullopt: the step made no layer)
  std::int64_t size = 0;        // its layer blob + that layer's snapshots, bytes
  bool shared = false;          // an image needs the layer too (pruning the entry frees nothing)
  bool in_use = false;          // a running build holds the layer
};

// One image as `system df -v` shows it.
struct ImageUsage {
  Digest manifest;
  std::int64_t size = 0;         // every blob it needs + its layers' snapshots
  std::int64_t shared_size = 0;  // the part another image or a cache entry needs too
  int containers = 0;
};

struct StoreUsage {
  std::map<Keeper, KeptBytes> kept;
  std::vector<CacheEntryUsage> cache;  // most recently used first
  std::vector<ImageUsage> images;
  std::int64_t images_bytes = 0;        // bytes images need (shared with the cache included)
  std::int64_t images_reclaimable = 0;  // of those, needed by no image a container uses
  std::int64_t cache_bytes = 0;         // bytes only the cache keeps (docker's build cache SIZE)
  std::int64_t cache_reclaimable = 0;   // of those, not held by a running build
  std::int64_t downloads_bytes = 0;     // kept ADD <url> downloads (in cache_bytes and total too)
  int downloads = 0;                    // how many
  std::int64_t total = 0;               // blobs + snapshots + downloads
};

// Bytes of blobs, snapshots and downloads in the model (what the cache bound,
// cache.max-size, counts).
std::int64_t model_bytes(const UsageModel& m);

// Accounts every byte of the model to its keepers. Pure.
StoreUsage summarize_usage(const UsageModel& m);

// Apparent size of a directory tree as `du -sb` counts it: every entry's
// st_size (directories included), a hard-linked inode once, symlinks not
// followed. 0 when it does not exist.
std::int64_t dir_bytes(const std::filesystem::path& dir);

// Measures the snapshots the index has no size for (schema 4 snapshot_size)
// and records them. Best effort: a snapshot that vanishes is skipped.
util::Result<void> measure_snapshots(Store& store);

// Reads the model from the store's index; `leased` must be the live leases'
// refs (Store::live_leased_refs, read under ROOT/gc.lock).
util::Result<UsageModel> read_usage_model(Store& store, const std::set<std::string>& leased);

// measure_snapshots, then the model with the live leases, under ROOT/gc.lock
// shared (no deletion meanwhile: the accounting of one moment), summarized.
util::Result<StoreUsage> store_usage(Store& store);

}  // namespace mkimage::store
