#include "store/usage.hpp"

#include <ftw.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "store/root_lock.hpp"
#include "store/store.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

// nftw has no user argument: one walk per thread at a time.
thread_local std::set<std::pair<dev_t, ino_t>>* t_seen = nullptr;
thread_local std::int64_t t_bytes = 0;

int add_entry(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_NS) return 0;
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) && !t_seen->insert({st->st_dev, st->st_ino}).second) return 0;
  t_bytes += st->st_size;
  return 0;
}

// Per blob: who keeps it.
struct BlobKeepers {
  bool image = false;
  bool cache = false;
  bool lease = false;
  const Digest* copy_of = nullptr;  // a compressed copy of this layer blob
};

std::map<Digest, BlobKeepers> keepers_of(const UsageModel& m) {
  std::map<Digest, BlobKeepers> k;
  for (const auto& b : m.blobs) k[b.digest];
  for (const auto& [manifest, blobs] : m.images)
    for (const auto& b : blobs) k[b].image = true;
  for (const auto& c : m.cache)
    for (const auto& b : c.refs) k[b].cache = true;
  for (const auto& d : m.leased) k[d].lease = true;
  for (const auto& c : m.compressed) k[c.descriptor.digest].copy_of = &c.diff_id.digest;
  return k;
}

Keeper keeper_of(const std::map<Digest, BlobKeepers>& all, const Digest& d, int depth = 0) {
  auto it = all.find(d);
  if (it == all.end()) return Keeper::unreferenced;
  const BlobKeepers& k = it->second;
  if (k.image && k.cache) return Keeper::shared;
  if (k.image) return Keeper::images;
  if (k.cache) return Keeper::cache;
  if (k.copy_of && depth == 0) {
    Keeper of = keeper_of(all, *k.copy_of, 1);
    if (of != Keeper::unreferenced) return of;
  }
  if (k.lease) return Keeper::running_build;
  return Keeper::unreferenced;
}

}  // namespace

const char* keeper_name(Keeper k) {
  switch (k) {
    case Keeper::images: return "images";
    case Keeper::cache: return "build cache";
    case Keeper::shared: return "images and build cache";
    case Keeper::running_build: return "running builds";
    case Keeper::unreferenced: return "unreferenced";
  }
  return "?";
}

std::int64_t dir_bytes(const fs::path& dir) {
  std::set<std::pair<dev_t, ino_t>> seen;
  t_seen = &seen;
  t_bytes = 0;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return 0;
  (void)::nftw(dir.c_str(), add_entry, 32, FTW_PHYS);
  t_seen = nullptr;
  return t_bytes;
}

std::int64_t model_bytes(const UsageModel& m) {
  std::int64_t n = 0;
  for (const auto& b : m.blobs) n += b.size;
  for (const auto& l : m.layers) n += l.snapshot_size.value_or(0);
  for (const auto& d : m.downloads) n += d.bytes;
  return n;
}

StoreUsage summarize_usage(const UsageModel& m) {
  StoreUsage u;
  auto keepers = keepers_of(m);
  std::map<Digest, std::int64_t> bytes;       // blob + its layers' snapshots
  std::map<Digest, std::int64_t> blob_bytes;  // the blob file alone
  for (const auto& b : m.blobs) {
    blob_bytes[b.digest] = b.size;
    bytes[b.digest] += b.size;
    u.kept[keeper_of(keepers, b.digest)].blobs += b.size;
  }
  for (const auto& l : m.layers) {
    std::int64_t s = l.snapshot_size.value_or(0);
    bytes[l.blob] += s;
    u.kept[keeper_of(keepers, l.blob)].snapshots += s;
  }
  // Compressed copies count with their layer.
  for (const auto& c : m.compressed)
    if (bytes.count(c.descriptor.digest)) bytes[c.diff_id.digest] += bytes[c.descriptor.digest];
  u.total = model_bytes(m);

  // Images.
  std::map<Digest, int> needed_by;  // blob → images needing it
  std::set<Digest> active_blobs;    // needed by an image a container uses
  for (const auto& [manifest, blobs] : m.images) {
    bool active = m.container_images.count(manifest) > 0;
    for (const auto& b : blobs) {
      ++needed_by[b];
      if (active) active_blobs.insert(b);
    }
  }
  std::set<Digest> counted;
  for (const auto& [manifest, blobs] : m.images) {
    ImageUsage iu;
    iu.manifest = manifest;
    auto c = m.container_images.find(manifest);
    iu.containers = c == m.container_images.end() ? 0 : c->second;
    for (const auto& b : blobs) {
      auto it = bytes.find(b);
      std::int64_t n = it == bytes.end() ? 0 : it->second;
      iu.size += n;
      if (needed_by[b] > 1 || keepers[b].cache) iu.shared_size += n;
      if (counted.insert(b).second) {
        u.images_bytes += n;
        if (!active_blobs.count(b)) u.images_reclaimable += n;
      }
    }
    u.images.push_back(iu);
  }

  // Cache entries.
  for (const auto& r : m.cache) {
    CacheEntryUsage e;
    e.record = r;
    if (!r.refs.empty()) e.layer = r.refs.front();
    for (const auto& b : r.refs) {
      auto it = bytes.find(b);
      e.size += it == bytes.end() ? 0 : it->second;
      if (keepers[b].image) e.shared = true;
      if (keepers[b].lease) e.in_use = true;
    }
    u.cache.push_back(std::move(e));
  }
  std::sort(u.cache.begin(), u.cache.end(), [](const CacheEntryUsage& a, const CacheEntryUsage& b) {
    if (a.record.last_used != b.record.last_used) return a.record.last_used > b.record.last_used;
    return a.record.key < b.record.key;
  });
  // Bytes only the cache keeps, each blob once (entries may share a layer).
  counted.clear();
  for (const auto& e : u.cache) {
    for (const auto& b : e.record.refs) {
      if (keepers[b].image || !counted.insert(b).second) continue;
      auto it = bytes.find(b);
      std::int64_t n = it == bytes.end() ? 0 : it->second;
      u.cache_bytes += n;
      if (!keepers[b].lease) u.cache_reclaimable += n;
    }
  }
  for (const auto& d : m.downloads) {
    u.downloads_bytes += d.bytes;
    ++u.downloads;
  }
  u.cache_bytes += u.downloads_bytes;
  u.cache_reclaimable += u.downloads_bytes;
  return u;
}

util::Result<void> measure_snapshots(Store& store) {
  MKIMAGE_TRY(auto layers, store.index().list_layers());
  for (const auto& l : layers) {
    if (!l.snapshot || l.snapshot_size) continue;
    fs::path dir = store.root().dir() / *l.snapshot;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    MKIMAGE_TRY_VOID(store.index().set_snapshot_size(l.chain_id, dir_bytes(dir)));
  }
  return {};
}

util::Result<UsageModel> read_usage_model(Store& store, const std::set<std::string>& leased) {
  UsageModel m;
  m.now = static_cast<std::int64_t>(std::time(nullptr));
  Index& idx = store.index();
  MKIMAGE_TRY(m.blobs, idx.list_blobs());
  MKIMAGE_TRY(m.layers, idx.list_layers());
  MKIMAGE_TRY(m.cache, idx.list_cache());
  MKIMAGE_TRY(auto refs, idx.list_image_refs());
  for (const auto& [manifest, blob] : refs) m.images[manifest].insert(blob);
  MKIMAGE_TRY(m.compressed, idx.list_compressed_layers());
  m.downloads = list_downloads(store.root().url_cache_dir());
  for (const auto& r : leased) {
    auto d = Digest::parse(r);
    if (d) m.leased.insert(*d);
  }
  MKIMAGE_TRY(auto containers, idx.list_containers());
  for (const auto& c : containers) ++m.container_images[c.image];
  return m;
}

util::Result<StoreUsage> store_usage(Store& store) {
  MKIMAGE_TRY_VOID(measure_snapshots(store));
  UsageModel m;
  {
    // Shared: deletions wait, so the rows and the leases are of one moment.
    RootLock gc(store.root().gc_lock_file(), LOCK_SH);
    if (!gc.ok()) return util::sys_error("open", store.root().gc_lock_file().string());
    MKIMAGE_TRY(auto leased, store.live_leased_refs());
    MKIMAGE_TRY(m, read_usage_model(store, leased));
  }
  return summarize_usage(m);
}

}  // namespace mkimage::store
