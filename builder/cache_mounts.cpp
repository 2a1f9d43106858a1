// RUN --mount=type=cache contents across machines (docs/remote-cache.md,
// "Cache mounts"): `--cache-to …,mounts=true` exports each cache mount the build
// used as a deterministic tar layer (at most mounts-max-size bytes of files);
// `--cache-from` restores one before the first RUN that uses its id, when the
// local cache directory is new or empty. Cache mount contents are never part of
// a cache key.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "builder/build_internal.hpp"
#include "store/layer_apply.hpp"
#include "store/layer_writer.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

// Bytes of the regular files below `dir`.
std::int64_t tree_size(const fs::path& dir) {
  std::int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2) && !it->is_symlink(e2)) total += static_cast<std::int64_t>(it->file_size(e2));
  }
  return total;
}

// A shared flock on the cache mount's lock file while its data is read.
struct SharedLock {
  int fd = -1;
  explicit SharedLock(const fs::path& lock) {
    fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
      while (::flock(fd, LOCK_SH) != 0 && errno == EINTR) {
      }
  }
  ~SharedLock() {
    if (fd >= 0) ::close(fd);
  }
};

util::Result<store::DiffId> write_mount_layer(BuildSession& s, const fs::path& data) {
  SharedLock lock(data.parent_path() / "lock");
  MKIMAGE_TRY(store::BlobWriter w, s.store->blobs().writer(store::BlobHashing::caller));
  store::BlobSink sink(w);
  MKIMAGE_TRY(store::WrittenLayer written, store::write_layer_from_dir(data, sink));
  MKIMAGE_TRY_VOID(s.store->hold({written.diff_id.digest}));  // the build's until it ends
  MKIMAGE_TRY(store::BlobInfo info, w.commit(written.diff_id.digest));
  MKIMAGE_TRY_VOID(s.store->add_blob(info, store::oci_layer_media_type(store::Compression::none)));
  return written.diff_id;
}

}  // namespace

void note_cache_mounts(BuildSession& s, const std::vector<parser::MountSpec>& mounts) {
  std::lock_guard lock(s.cache_steps_mutex);
  for (const auto& m : mounts) {
    if (m.type != parser::MountSpec::Type::cache || m.target.empty()) continue;
    std::string id = m.id.empty() ? m.target : m.id;
    s.cache_mounts.emplace(id, cache_mount_dir(s.store->root().dir() / "cache-mounts", id) / "data");
  }
}

util::Result<void> restore_cache_mount(BuildSession& s, const std::string& id, const fs::path& data, bool fresh) {
  {
    std::lock_guard lock(s.cache_steps_mutex);
    s.cache_mounts[id] = data;
    bool first = s.cache_mounts_restored.insert(id).second;
    if (!first) return {};  // restored (or not) at its first use in this build
  }
  if (!s.imported_cache) return {};
  std::error_code ec;
  if (!fresh && !fs::is_empty(data, ec)) return {};
  auto loc = s.imported_cache->mount(id);
  if (!loc) return {};
  InternalStep step(s, "restoring cache mount " + id + " from " + loc->source);
  registry::TransferEvents quiet;
  auto got = s.imported_cache->fetch(loc->layer.diff_id, quiet);
  util::Result<store::ApplyStats> applied =
      got.ok() ? store::apply_layer(s.store->blobs().path(loc->layer.diff_id.digest), data, store::ApplyMode::flat)
               : util::Result<store::ApplyStats>(got.error());
  if (!applied.ok()) {
    (void)step.finish(util::Result<void>{applied.error()});
    s.warn("cache mount " + id + " not restored: " + applied.error().message);
    return {};
  }
  step.output(std::to_string(loc->layer.blob.size) + " bytes");
  (void)step.finish(util::Result<void>{});
  return {};
}

std::vector<remote_cache::MountLayer> cache_mount_layers(BuildSession& s, std::int64_t max_size) {
  std::map<std::string, fs::path> mounts;
  {
    std::lock_guard lock(s.cache_steps_mutex);
    mounts = s.cache_mounts;
  }
  std::vector<remote_cache::MountLayer> out;
  for (const auto& [id, data] : mounts) {
    std::error_code ec;
    if (!fs::is_directory(data, ec)) continue;  // never filled on this machine
    std::int64_t size = tree_size(data);
    if (size > max_size) {
      s.warn("cache mount " + id + " holds " + std::to_string(size) + " bytes, more than mounts-max-size (" +
                  std::to_string(max_size) + "): not exported");
      continue;
    }
    auto layer = write_mount_layer(s, data);
    if (!layer.ok()) {
      s.warn("cache mount " + id + " not exported: " + layer.error().message);
      continue;
    }
    out.push_back(remote_cache::MountLayer{id, *layer});
  }
  return out;
}

}  // namespace mkimage::builder
