// The build cache garbage collector: `mkimage cache prune` and the bound kept
// after every build (cache.max-size in the configuration, `--cache-max`).
//
// The unit is a layer blob with the cache entries that keep it (an entry keeps
// one layer; entries of the same content share it). GC frees least recently
// used LEAVES first: a layer blob no image needs (manifest, config or layer of
// any image, so nothing a container runs either), no running build holds
// (leases), and that is not below another kept layer in a layer stack (the
// parent of a kept entry's layer, or of an image's, is not a leaf). Removing
// a leaf removes its entries' rows, the blob, its compressed copies and the
// snapshots of every stack position of that layer (and of stacks above it),
// and may make its parent a leaf. Blob rows nothing references (left over,
// older than a grace time: a `load` records its blobs before its image) go
// first. Kept `ADD <url>` downloads (store/downloads.hpp) are leaves of their
// own, taken in the same least-recently-used order. The store is measured as
// blobs + snapshots + downloads (store/usage.hpp).
//
// plan_gc() is pure (tests run it on models built in memory);
// collect_garbage() runs it on a store under ROOT/gc.lock exclusive, re-checks
// every blob inside the deleting transaction (an image or entry recorded since
// keeps it) and deletes rows first, files after (a crash leaves orphan files,
// never rows pointing at missing files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/usage.hpp"
#include "util/result.hpp"

namespace mkimage::store {

class Store;

struct GcPolicy {
  // Stop once blobs + snapshots are at most this many bytes (`--keep-storage`,
  // cache.max-size). nullopt: remove every eligible entry.
  std::optional<std::int64_t> keep_bytes;
  // Only entries last used before this time (epoch seconds; `--filter until=`).
  std::optional<std::int64_t> unused_before;
  // Without a bound, also remove the entries whose layer an image needs (the
  // rows only: the layer stays with the image). `cache prune --all`.
  bool all = false;
  // Unreferenced blob rows younger than this are left alone (a load in
  // progress), and so are downloads used less than this long ago (a build may
  // be copying from one).
  std::int64_t orphan_grace_s = 600;
};

struct GcPlan {
  std::vector<std::string> keys;  // cache entries to delete, in the order chosen
  std::vector<Digest> blobs;      // blob rows and files to delete (layers, compressed copies, unreferenced)
  std::vector<ChainId> layers;    // layer rows going with them (their snapshots are deleted)
  std::vector<std::string> downloads;  // kept downloads to delete (DownloadRecord::name)
  std::int64_t bytes_before = 0;  // model_bytes before
  std::int64_t bytes_after = 0;   // and after the plan
};

// Chooses what to delete. Pure.
GcPlan plan_gc(const UsageModel& model, const GcPolicy& policy);

struct GcReport {
  std::vector<std::string> deleted;  // cache keys, in deletion order
  std::vector<std::string> downloads;  // kept downloads removed (DownloadRecord::name)
  std::int64_t reclaimed = 0;        // bytes of blob files, snapshot directories and downloads removed
  std::int64_t bytes_before = 0;     // blobs + snapshots before
  std::int64_t bytes_after = 0;      // and after (as the index counts them)
};

// Plans and deletes (see above). Errors: index and I/O errors; what was
// deleted before an error stays deleted.
util::Result<GcReport> collect_garbage(Store& store, const GcPolicy& policy);

}  // namespace mkimage::store
