// Layers and snapshots for the build: the stage's layers as overlay lowerdirs,
// committing an upperdir as a layer blob (one pass: tar + sha256 + blob file,
// store/layer_writer.hpp) and keeping the upperdir as that layer's snapshot.
#include <unistd.h>

#include "builder/build_internal.hpp"
#include "store/snapshots.hpp"
#include "store/layer_writer.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

std::vector<LayerRef> image_layer_refs(const store::Image& image) {
  std::vector<LayerRef> layers;
  std::optional<store::ChainId> chain;
  for (std::size_t i = 0; i < image.config.diff_ids.size(); ++i) {
    LayerRef l;
    l.diff_id = image.config.diff_ids[i];
    l.chain_id = store::chain_id_of(chain ? &*chain : nullptr, l.diff_id);
    chain = l.chain_id;
    if (i < image.manifest.layers.size()) {
      l.blob = image.manifest.layers[i].digest;
      l.size = image.manifest.layers[i].size;
      l.media_type = image.manifest.layers[i].media_type;
    } else {
      l.blob = l.diff_id.digest;
    }
    layers.push_back(l);
  }
  return layers;
}

util::Result<std::optional<LayerRef>> find_layer(BuildSession& s, const std::vector<LayerRef>& parent,
                                                 const store::DiffId& diff_id) {
  const store::ChainId* pc = parent.empty() ? nullptr : &parent.back().chain_id;
  store::ChainId chain = store::chain_id_of(pc, diff_id);
  MKIMAGE_TRY(auto row, s.store->index().get_layer(chain));
  if (!row) {
    // The same layer may be stored on another parent: register it here.
    MKIMAGE_TRY(auto other, s.store->index().find_layer_by_diff_id(diff_id));
    if (!other) return std::optional<LayerRef>{};
    MKIMAGE_TRY_VOID(s.store->hold({other->blob}));  // held, then checked
    if (!s.store->blobs().exists(other->blob)) return std::optional<LayerRef>{};
    store::BlobInfo info{other->blob, other->size, true};
    std::optional<store::ChainId> parent_chain;
    if (pc) parent_chain = *pc;
    MKIMAGE_TRY(auto rec, s.store->add_layer(info, parent_chain));
    row = rec;
  }
  // A cache hit: held by the build's lease before its blob is checked, so a
  // prune in another process either left it or removed it before this look.
  MKIMAGE_TRY_VOID(s.store->hold({row->blob}));
  if (!s.store->blobs().exists(row->blob)) return std::optional<LayerRef>{};
  LayerRef l;
  l.diff_id = row->diff_id;
  l.chain_id = row->chain_id;
  l.blob = row->blob;
  l.size = row->size;
  return std::optional<LayerRef>(l);
}

namespace {

// Index rows for the layers that have none yet (a base image's layer, a fetched
// remote hit's), bottom first: a row names its parent's row.
util::Result<void> register_layers(BuildSession& s, const std::vector<LayerRef>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    MKIMAGE_TRY(auto row, s.store->index().get_layer(layers[i].chain_id));
    if (row) continue;
    std::optional<store::ChainId> parent;
    if (i > 0) parent = layers[i - 1].chain_id;
    MKIMAGE_TRY(auto size, s.store->blobs().size(layers[i].blob));
    MKIMAGE_TRY(auto rec, s.store->add_layer(store::BlobInfo{layers[i].blob, size, true}, parent));
    (void)rec;
  }
  return {};
}

}  // namespace

util::Result<std::vector<fs::path>> lowerdirs_for(BuildSession& s, const std::vector<LayerRef>& layers) {
  MKIMAGE_TRY_VOID(ensure_layers_local(s, layers));  // remote cache hits' layers
  MKIMAGE_TRY_VOID(register_layers(s, layers));
  std::vector<fs::path> out;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    MKIMAGE_TRY(auto row, s.store->index().get_layer(it->chain_id));
    fs::path dir;
    if (row && row->snapshot) dir = s.store->root().dir() / *row->snapshot;
    std::error_code ec;
    // A snapshot another boot wrote without syncs is re-checked (store/snapshots.hpp).
    if (dir.empty() || !fs::is_directory(dir, ec) || store::unsynced_from_another_boot(dir)) {
      MKIMAGE_TRY(dir, store::ensure_snapshot(*s.store, it->chain_id));
    }
    out.push_back(dir);
  }
  return out;
}

util::Result<std::optional<LayerRef>> commit_upperdir(BuildSession& s, const fs::path& upperdir,
                                                      const std::vector<std::string>& excludes,
                                                      const std::vector<LayerRef>& parent) {
  // The layer writer's diff_id is the digest of exactly the bytes the blob gets
  // (an uncompressed layer), so the blob writer does not hash them again.
  MKIMAGE_TRY(store::BlobWriter w, s.store->blobs().writer(store::BlobHashing::caller));
  // Straight to the device: the blob is the durable copy, read back only by
  // exports and pushes, while the snapshot (this upperdir) is what later steps
  // read; skipping the page cache saves the copy and its writeback.
  w.use_direct_io();
  store::BlobSink sink(w);
  store::LayerWriteOptions opts;
  opts.source_date_epoch = s.source_date_epoch;
  // A step that changes nothing still gets its (empty) layer, as BuildKit's:
  // RUN, COPY/ADD and WORKDIR always add a layer and a non-empty history entry.
  // Tar + sha256 of the upperdir: CPU-bound, one of the cores' units
  // (builder/scheduler.hpp); the syncs and the index writes after it are not.
  auto cpu = acquire_from(s.cpu_limit.get());
  MKIMAGE_TRY(store::WrittenLayer written, store::write_layer_from_upperdir(upperdir, excludes, sink, opts));
  cpu.release();
  // Held before the blob is committed: an equal blob a prune is deleting is
  // either kept for this build or gone before the commit writes it again.
  MKIMAGE_TRY_VOID(s.store->hold({written.diff_id.digest}));
  MKIMAGE_TRY(store::BlobInfo info, w.commit(written.diff_id.digest));
  std::optional<store::ChainId> parent_chain;
  if (!parent.empty()) parent_chain = parent.back().chain_id;
  MKIMAGE_TRY(store::LayerRecord rec, s.store->add_layer(info, parent_chain));

  // Adopt the upperdir as the layer's snapshot (no re-unpack).
  MKIMAGE_TRY(auto snap, store::adopt_snapshot(*s.store, rec.chain_id, upperdir));
  (void)snap;

  LayerRef l;
  l.diff_id = rec.diff_id;
  l.chain_id = rec.chain_id;
  l.blob = rec.blob;
  l.size = rec.size;
  return std::optional<LayerRef>(l);
}

ReadonlyRootfs::~ReadonlyRootfs() {
  if (mounted) (void)unmount_path(path);
  std::error_code ec;
  if (mounted || owned) fs::remove_all(path, ec);
}

util::Result<std::unique_ptr<ReadonlyRootfs>> mount_rootfs_readonly(BuildSession& s,
                                                                    const std::vector<LayerRef>& layers) {
  auto ro = std::make_unique<ReadonlyRootfs>();
  if (layers.empty()) {
    ro->path = s.work_dir / s.scratch_name("empty");
    std::error_code ec;
    fs::create_directories(ro->path, ec);
    if (ec) return util::sys_error("mkdir", ro->path.string(), ec.value());
    ro->owned = true;
    return ro;
  }
  MKIMAGE_TRY(auto lowers, lowerdirs_for(s, layers));
  if (lowers.size() == 1) {
    ro->path = lowers[0];  // one layer: its snapshot is the rootfs (read only by us)
    return ro;
  }
  ro->path = s.work_dir / s.scratch_name("ro");
  std::error_code ec;
  fs::create_directories(ro->path, ec);
  ro->owned = true;
  MKIMAGE_TRY_VOID(Snapshotter::mount_readonly(lowers, ro->path));
  ro->mounted = true;
  return ro;
}

}  // namespace mkimage::builder

