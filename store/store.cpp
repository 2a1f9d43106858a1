#include "store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "store/lease.hpp"
#include "store/root_lock.hpp"
#include "store/snapshots.hpp"
#include "store/usage.hpp"
#include "util/hex.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

using util::is_lower_hex;

}  // namespace

util::Result<std::unique_ptr<Store>> Store::open(const fs::path& dir) {
  MKIMAGE_TRY(Root root, Root::open(dir));
  MKIMAGE_TRY(auto index, Index::open(root.index_db()));
  auto store = std::unique_ptr<Store>(new Store(root, std::move(index)));
  store->blobs().sweep_stale_tmp();
  return store;
}

util::Result<std::unique_ptr<Store>> Store::open_default(const std::string& root_option) {
  MKIMAGE_TRY(fs::path dir, default_root(root_option));
  return open(dir);
}

Store::~Store() { (void)end_lease(); }

// ---- leases ----

util::Result<void> Store::begin_lease(const std::string& description) {
  if (!m_lease_id.empty()) return util::Error{"internal error: this store already has a lease"};
  LeaseRecord l = new_lease_record(description);
  auto put = m_index->put_lease(l);
  if (!put) return util::Error{"cannot record the build's lease in the store index: " + put.error().message};
  m_lease_id = l.id;
  return {};
}

util::Result<void> Store::end_lease() {
  if (m_lease_id.empty()) return {};
  std::string id = std::exchange(m_lease_id, std::string());
  {
    std::lock_guard lock(m_lease_mutex);
    m_held.clear();
  }
  // A lease left behind (the index busy for 30 s) is dead once this process ends.
  auto r = m_index->delete_lease(id);
  if (!r) return util::Error{"cannot end the build's lease in the store index: " + r.error().message};
  return {};
}

std::vector<Digest> Store::image_content(const Image& img) {
  std::vector<Digest> out{img.record.manifest, img.record.config};
  for (const auto& l : img.manifest.layers) out.push_back(l.digest);
  for (const auto& d : img.config.diff_ids) out.push_back(d.digest);
  return out;
}

util::Result<void> Store::hold_locked(const std::vector<Digest>& digests) {
  if (m_lease_id.empty()) return {};
  std::vector<Digest> fresh;
  {
    std::lock_guard lock(m_lease_mutex);
    for (const auto& d : digests)
      if (!m_held.count(d) && std::find(fresh.begin(), fresh.end(), d) == fresh.end()) fresh.push_back(d);
  }
  if (fresh.empty()) return {};
  auto r = m_index->add_lease_refs(m_lease_id, fresh);
  if (!r) return util::Error{"cannot record what the build uses in the store index: " + r.error().message};
  std::lock_guard lock(m_lease_mutex);
  m_held.insert(fresh.begin(), fresh.end());
  return {};
}

util::Result<void> Store::hold(const std::vector<Digest>& digests) {
  if (m_lease_id.empty() || digests.empty()) return {};
  RootLock gc(m_root.gc_lock_file(), LOCK_SH);
  if (!gc.ok()) return util::sys_error("open", m_root.gc_lock_file().string());
  return hold_locked(digests);
}

util::Result<std::optional<Image>> Store::resolve_held(std::string_view text) {
  MKIMAGE_TRY(auto found, resolve(text));
  if (m_lease_id.empty()) return found;
  // Hold, then look again: what is found after holding stays until the lease ends.
  for (int attempt = 0; found && attempt < 5; ++attempt) {
    MKIMAGE_TRY_VOID(hold(image_content(*found)));
    MKIMAGE_TRY(auto again, resolve(text));
    if (again && again->record.manifest == found->record.manifest) return again;
    found = std::move(again);
  }
  if (!found) return found;
  return util::Error{"image \"" + std::string(text) + "\" keeps changing while it is being resolved"};
}

util::Result<std::set<std::string>> Store::live_leased_refs() {
  MKIMAGE_TRY(auto leases, m_index->list_leases());
  std::set<std::string> live;
  for (const auto& l : leases) {
    if (lease_owner_alive(l)) {
      live.insert(l.id);
    } else {
      (void)m_index->delete_lease(l.id);  // a crashed build's: best effort, the next prune retries
    }
  }
  std::set<std::string> refs;
  if (live.empty()) return refs;
  MKIMAGE_TRY(auto rows, m_index->list_lease_refs());
  for (const auto& [lease, ref] : rows)
    if (live.count(lease)) refs.insert(ref);
  return refs;
}

util::Result<bool> Store::held_by_lease(const Digest& d) {
  MKIMAGE_TRY(auto refs, live_leased_refs());
  return refs.count(d.str()) > 0;
}

util::Result<void> Store::add_blob(const BlobInfo& info, const MediaType& media_type) {
  return m_index->put_blob(BlobRecord{info.digest, info.size, media_type});
}

util::Result<LayerRecord> Store::add_layer(const BlobInfo& layer_tar, const std::optional<ChainId>& parent) {
  if (!m_lease_id.empty()) {
    // Held before the rows exist: a prune cannot take the blob from under them.
    RootLock gc(m_root.gc_lock_file(), LOCK_SH);
    if (!gc.ok()) return util::sys_error("open", m_root.gc_lock_file().string());
    MKIMAGE_TRY_VOID(hold_locked({layer_tar.digest}));
    if (!m_blobs.exists(layer_tar.digest)) return util::Error{"layer blob " + layer_tar.digest.str() + " is not in the store"};
  }
  DiffId diff_id{layer_tar.digest};
  ChainId chain = chain_id_of(parent ? &*parent : nullptr, diff_id);
  MKIMAGE_TRY(auto existing, m_index->get_layer(chain));
  if (existing) return *existing;
  LayerRecord rec;
  rec.chain_id = chain;
  rec.parent = parent;
  rec.diff_id = diff_id;
  rec.blob = layer_tar.digest;
  rec.size = layer_tar.size;
  MKIMAGE_TRY_VOID(m_index->transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{layer_tar.digest, layer_tar.size, oci_layer_media_type(Compression::none)}));
    return m_index->put_layer(rec);
  }));
  return rec;
}

util::Result<Image> Store::put_image(const ImageConfig& config, const std::vector<Descriptor>& layers) {
  return put_image_impl(config, serialize(config), layers);
}

util::Result<Image> Store::put_image_raw(const std::string& config_bytes, const std::vector<Descriptor>& layers) {
  MKIMAGE_TRY(ImageConfig config, parse_image_config(config_bytes));
  return put_image_impl(config, config_bytes, layers);
}

util::Result<Image> Store::put_image_impl(const ImageConfig& config, const std::string& config_bytes,
                                          const std::vector<Descriptor>& layers) {
  RootLock gc(m_root.gc_lock_file(), LOCK_SH);
  if (!gc.ok()) return util::sys_error("open", m_root.gc_lock_file().string());
  if (config.diff_ids.size() != layers.size()) {
    return util::Error{"image config lists " + std::to_string(config.diff_ids.size()) + " diff_ids but " +
                       std::to_string(layers.size()) + " layers were given"};
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].media_type.layer_compression() == Compression::none && layers[i].digest != config.diff_ids[i].digest) {
      return util::Error{"layer " + std::to_string(i) + " is " + layers[i].digest.str() + " but its diff_id is " +
                         config.diff_ids[i].digest.str()};
    }
    if (!m_blobs.exists(layers[i].digest)) return util::Error{"layer blob " + layers[i].digest.str() + " is not in the store"};
  }
  Manifest m;
  m.config = Descriptor{MediaType::of(media_types::oci_config), Digest::sha256_of(config_bytes),
                        static_cast<std::int64_t>(config_bytes.size()), {}, std::nullopt};
  m.layers = layers;
  std::string manifest_bytes = serialize(m);
  // Config and manifest are made durable together (one directory sync), before
  // any row names them (docs/design/store.md, "Durability").
  MKIMAGE_TRY(auto written, m_blobs.put_all({config_bytes, manifest_bytes}));
  const BlobInfo& cfg = written[0];
  const BlobInfo& man = written[1];
  {
    // A lease holds the image from before its row exists (gc.lock is held).
    std::vector<Digest> content{man.digest, cfg.digest};
    for (const auto& l : layers) content.push_back(l.digest);
    MKIMAGE_TRY_VOID(hold_locked(content));
  }

  // The manifest digest covers the config and every layer: an image row that
  // exists already (a fully cached rebuild) has all its rows, so nothing is written.
  MKIMAGE_TRY(auto existing, m_index->get_image(man.digest));
  if (existing) return load(man.digest);

  ImageRecord rec;
  rec.manifest = man.digest;
  rec.config = cfg.digest;
  rec.created = config.created ? config.created->seconds : 0;
  for (const auto& l : layers) rec.size += l.size;
  std::vector<Digest> layer_blobs;
  for (const auto& l : layers) layer_blobs.push_back(l.digest);
  MKIMAGE_TRY_VOID(m_index->transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{cfg.digest, cfg.size, m.config.media_type}));
    MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{man.digest, man.size, m.media_type}));
    std::optional<ChainId> parent;
    bool chain_complete = true;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{layers[i].digest, layers[i].size, layers[i].media_type}));
      ChainId chain = chain_id_of(parent ? &*parent : nullptr, config.diff_ids[i]);
      if (layers[i].media_type.layer_compression() != Compression::none) chain_complete = false;
      if (chain_complete) {
        MKIMAGE_TRY(auto existing, m_index->get_layer(chain));
        if (!existing) {
          MKIMAGE_TRY_VOID(m_index->put_layer(
              LayerRecord{chain, parent, config.diff_ids[i], layers[i].digest, layers[i].size, std::nullopt}));
        }
      }
      parent = chain;
    }
    return m_index->put_image(rec, layer_blobs);
  }));
  return load(man.digest);
}

util::Result<Image> Store::add_manifest(const Digest& manifest_digest) {
  RootLock gc(m_root.gc_lock_file(), LOCK_SH);
  if (!gc.ok()) return util::sys_error("open", m_root.gc_lock_file().string());
  MKIMAGE_TRY(std::string manifest_bytes, m_blobs.read(manifest_digest));
  MKIMAGE_TRY(Manifest m, parse_manifest(manifest_bytes));
  MKIMAGE_TRY(std::string config_bytes, m_blobs.read(m.config.digest));
  MKIMAGE_TRY(ImageConfig config, parse_image_config(config_bytes));
  if (config.diff_ids.size() != m.layers.size()) {
    return util::Error{"image " + manifest_digest.str() + ": config lists " + std::to_string(config.diff_ids.size()) +
                       " diff_ids but the manifest has " + std::to_string(m.layers.size()) + " layers"};
  }
  {
    std::vector<Digest> content{manifest_digest, m.config.digest};
    for (const auto& l : m.layers) content.push_back(l.digest);
    MKIMAGE_TRY_VOID(hold_locked(content));
  }
  for (const auto& l : m.layers) {
    if (!m_blobs.exists(l.digest)) return util::Error{"image " + manifest_digest.str() + ": layer blob " + l.digest.str() + " is missing"};
  }
  ImageRecord rec;
  rec.manifest = manifest_digest;
  rec.config = m.config.digest;
  rec.created = config.created ? config.created->seconds : 0;
  std::vector<Digest> layer_blobs;
  for (const auto& l : m.layers) {
    rec.size += l.size;
    layer_blobs.push_back(l.digest);
  }
  MKIMAGE_TRY_VOID(m_index->transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{manifest_digest, static_cast<std::int64_t>(manifest_bytes.size()), m.media_type}));
    MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{m.config.digest, static_cast<std::int64_t>(config_bytes.size()), m.config.media_type}));
    std::optional<ChainId> parent;
    bool chain_complete = true;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      const auto& l = m.layers[i];
      MKIMAGE_TRY_VOID(m_index->put_blob(BlobRecord{l.digest, l.size, l.media_type}));
      ChainId chain = chain_id_of(parent ? &*parent : nullptr, config.diff_ids[i]);
      // Layer rows need their parent row: stop at the first layer not stored uncompressed.
      if (l.media_type.layer_compression() != Compression::none || l.digest != config.diff_ids[i].digest) {
        chain_complete = false;
      }
      if (chain_complete) {
        MKIMAGE_TRY(auto existing, m_index->get_layer(chain));
        if (!existing) {
          MKIMAGE_TRY_VOID(m_index->put_layer(LayerRecord{chain, parent, config.diff_ids[i], l.digest, l.size, std::nullopt}));
        }
      } else if (l.media_type.layer_compression() != Compression::none) {
        MKIMAGE_TRY_VOID(m_index->put_compressed_layer(
            CompressedLayerRecord{config.diff_ids[i], l.media_type.layer_compression(), l}));
      }
      parent = chain;
    }
    return m_index->put_image(rec, layer_blobs);
  }));
  return load(manifest_digest);
}

util::Result<void> Store::tag(const Reference& ref, const Digest& manifest) {
  if (ref.digest()) return util::Error{"cannot tag with a digest reference \"" + ref.familiar() + "\""};
  Reference r = ref.tag() ? ref : ref.with_tag("latest");
  MKIMAGE_TRY(auto img, m_index->get_image(manifest));
  if (!img) return util::Error{"no such image: " + manifest.str()};
  // Re-tagging with the same target (a fully cached rebuild) changes nothing:
  // no index row write and no index.json rewrite.
  MKIMAGE_TRY(auto current, m_index->get_tag(r));
  if (current && *current == manifest) return {};
  MKIMAGE_TRY_VOID(m_index->put_tag(r, manifest));
  return write_index_json();
}

util::Result<bool> Store::untag(const Reference& ref) {
  MKIMAGE_TRY(bool removed, m_index->delete_tag(ref));
  if (removed) MKIMAGE_TRY_VOID(write_index_json());
  return removed;
}

util::Result<Image> Store::load(const Digest& manifest) {
  MKIMAGE_TRY(auto rec, m_index->get_image(manifest));
  if (!rec) return util::Error{"no such image: " + manifest.str()};
  Image img;
  img.record = *rec;
  MKIMAGE_TRY(std::string manifest_bytes, m_blobs.read(manifest, false));
  MKIMAGE_TRY(img.manifest, parse_manifest(manifest_bytes));
  img.manifest_descriptor =
      Descriptor{img.manifest.media_type, manifest, static_cast<std::int64_t>(manifest_bytes.size()), {}, std::nullopt};
  MKIMAGE_TRY(img.config_bytes, m_blobs.read(rec->config, false));
  MKIMAGE_TRY(img.config, parse_image_config(img.config_bytes));
  MKIMAGE_TRY(img.tags, m_index->tags_of(manifest));
  MKIMAGE_TRY(img.repo_digests, m_index->repo_digests_of(manifest));
  return img;
}

util::Result<std::vector<Image>> Store::list_images() {
  MKIMAGE_TRY(auto recs, m_index->list_images());
  std::vector<Image> out;
  for (const auto& r : recs) {
    MKIMAGE_TRY(Image img, load(r.manifest));
    out.push_back(std::move(img));
  }
  return out;
}

util::Result<std::optional<Image>> Store::resolve(std::string_view text) {
  using Found = std::optional<Image>;
  if (text.empty()) return util::Error{"empty image reference"};
  // "sha256:<hex>": image ID (config digest) or manifest digest, full or prefix.
  std::string_view hex = text;
  bool id_form = false;
  if (hex.starts_with("sha256:")) {
    hex.remove_prefix(7);
    id_form = true;
  }
  if (!id_form) {
    auto ref = Reference::parse(text);
    if (ref) {
      if (ref->digest()) {
        MKIMAGE_TRY(auto rec, m_index->get_image(*ref->digest()));
        if (rec) {
          MKIMAGE_TRY(Image img, load(rec->manifest));
          return Found{std::move(img)};
        }
        // A digest in a registry repository (a pulled image's RepoDigest).
        MKIMAGE_TRY(auto local, m_index->find_repo_digest(ref->repo_digest()));
        if (local) {
          MKIMAGE_TRY(Image img, load(*local));
          return Found{std::move(img)};
        }
      } else {
        MKIMAGE_TRY(auto manifest, m_index->get_tag(*ref));
        if (manifest) {
          MKIMAGE_TRY(Image img, load(*manifest));
          return Found{std::move(img)};
        }
      }
    } else if (!is_lower_hex(hex)) {
      return ref.error();
    }
  }
  if (!is_lower_hex(hex) || hex.size() > 64) {
    if (id_form) return util::Error{"invalid image ID \"" + std::string(text) + "\""};
    return Found{};
  }
  MKIMAGE_TRY(auto recs, m_index->list_images());
  std::set<Digest> configs;
  const ImageRecord* match = nullptr;
  for (const auto& r : recs) {
    if (r.config.hex().starts_with(hex)) {
      configs.insert(r.config);
      if (!match) match = &r;
    }
  }
  if (configs.size() > 1) return util::Error{"image ID prefix \"" + std::string(text) + "\" is ambiguous"};
  if (!match && hex.size() == 64) {
    for (const auto& r : recs)
      if (r.manifest.hex() == hex) match = &r;
  }
  if (!match) return Found{};
  MKIMAGE_TRY(Image img, load(match->manifest));
  return Found{std::move(img)};
}

util::Result<ImageDeletion> Store::delete_image_and_blobs(const Digest& manifest, Untag untag, RemoveReport& report) {
  RootLock gc(m_root.gc_lock_file(), LOCK_EX);
  if (!gc.ok()) return util::sys_error("open", m_root.gc_lock_file().string());
  // Leases are read under the lock: a build holds content under it shared, so
  // what it holds is known here, or it holds it after these deletions and then
  // finds it gone.
  MKIMAGE_TRY(std::set<std::string> leased, live_leased_refs());
  if (leased.count(manifest.str())) return ImageDeletion::held;
  MKIMAGE_TRY(auto rec, m_index->get_image(manifest));
  if (!rec) return ImageDeletion::gone;
  MKIMAGE_TRY(std::vector<Reference> tags, m_index->tags_of(manifest));
  if (!tags.empty() && untag == Untag::if_untagged) return ImageDeletion::tagged;
  MKIMAGE_TRY(std::vector<Digest> blobs, m_index->image_blobs(manifest));
  std::vector<Digest> candidates;
  candidates.push_back(manifest);
  for (const auto& b : blobs) candidates.push_back(b);
  // Compressed copies of the image's layers go when their layer goes.
  for (const auto& b : blobs) {
    for (Compression c : {Compression::gzip, Compression::zstd}) {
      MKIMAGE_TRY(auto comp, m_index->get_compressed_layer(DiffId{b}, c));
      if (comp) candidates.push_back(comp->descriptor.digest);
    }
  }
  std::vector<Digest> to_remove;
  MKIMAGE_TRY(auto layers, m_index->list_layers());
  MKIMAGE_TRY_VOID(m_index->transaction([&]() -> util::Result<void> {
    to_remove.clear();
    for (const auto& t : tags) MKIMAGE_TRY_VOID(m_index->delete_tag(t));
    MKIMAGE_TRY_VOID(m_index->delete_image(manifest));
    std::set<Digest> seen;
    for (const auto& d : candidates) {
      if (!seen.insert(d).second) continue;
      if (leased.count(d.str())) continue;  // a running build's
      MKIMAGE_TRY(bool used, m_index->blob_referenced(d));
      if (used) continue;
      // Layers built on this blob (and their snapshots) go with it.
      MKIMAGE_TRY_VOID(m_index->delete_blob(d));
      to_remove.push_back(d);
    }
    return {};
  }));
  for (const auto& t : tags) report.untagged.push_back(t);
  // Files go after the rows: a crash in between leaves orphans (`store check`), never dangling rows.
  // docker prints the image ID (config) first.
  std::stable_partition(to_remove.begin(), to_remove.end(), [&](const Digest& d) { return d == rec->config; });
  for (const auto& d : to_remove) {
    auto sz = m_blobs.size(d);
    if (sz) report.reclaimed += *sz;
    MKIMAGE_TRY_VOID(m_blobs.remove(d));
    report.deleted.push_back(d);
  }
  // Snapshots of every layer row that went (the blob's stack positions and
  // the stacks above them), counted as `du -sb` counts them.
  MKIMAGE_TRY(auto left, m_index->list_layers());
  std::set<Digest> remaining;
  for (const auto& l : left) remaining.insert(l.chain_id.digest);
  for (const auto& l : layers) {
    if (remaining.count(l.chain_id.digest) || !l.snapshot) continue;
    fs::path dir = m_root.dir() / *l.snapshot;
    std::error_code ec;
    if (!fs::exists(dir, ec)) continue;
    report.reclaimed += l.snapshot_size ? *l.snapshot_size : dir_bytes(dir);
    fs::remove_all(dir, ec);
    ::unlink(unsynced_marker(dir).c_str());
  }
  return ImageDeletion::deleted;
}

util::Result<RemoveReport> Store::remove_image(std::string_view text, Force force) {
  RemoveReport report;
  MKIMAGE_TRY(auto found, resolve(text));
  if (!found) return util::Error{"No such image: " + std::string(text)};
  const Image& img = *found;
  MKIMAGE_TRY(auto containers, m_index->list_containers());
  auto user = std::find_if(containers.begin(), containers.end(),
                           [&](const ContainerRecord& c) { return c.image == img.record.manifest; });
  bool in_use = user != containers.end();

  auto ref = Reference::parse(text);
  // NAME@DIGEST naming a registry digest of the image: that reference goes (as
  // docker's rmi does); the image goes with it when nothing else names it.
  if (ref.ok() && ref->digest() &&
      std::find(img.repo_digests.begin(), img.repo_digests.end(), ref->repo_digest()) != img.repo_digests.end()) {
    MKIMAGE_TRY_VOID(m_index->delete_repo_digest(ref->repo_digest()));
    report.untagged.push_back(ref->repo_digest());
    if (!img.tags.empty() || img.repo_digests.size() > 1 || in_use) return report;
    // A running build's image stays (untagged) until the build ends.
    MKIMAGE_TRY(ImageDeletion done, delete_image_and_blobs(img.record.manifest, Untag::if_untagged, report));
    (void)done;
    MKIMAGE_TRY_VOID(write_index_json());
    return report;
  }
  // A name (not an ID) untags first.
  bool by_name = ref.ok() && !ref->digest() && std::find(img.tags.begin(), img.tags.end(), *ref) != img.tags.end();
  if (by_name) {
    if (force == Force::no && img.tags.size() == 1 && in_use) {
      // docker: the last name of an image a container uses stays unless forced
      return util::Error{"conflict: unable to remove repository reference \"" + std::string(text) +
                         "\" (must force) - container " + user->id.substr(0, 12) + " is using its referenced image " +
                         img.record.config.short_id()};
    }
    MKIMAGE_TRY(bool untagged, m_index->delete_tag(*ref));
    if (!untagged) return util::Error{"No such image: " + std::string(text)};  // another rmi was first
    report.untagged.push_back(*ref);
    if (img.tags.size() > 1 || in_use) {
      // docker keeps an untagged image that a container still uses.
      MKIMAGE_TRY_VOID(write_index_json());
      return report;
    }
    // The image goes unless it was tagged again meanwhile or a running build
    // holds it (then it stays untagged, for a later prune).
    MKIMAGE_TRY(ImageDeletion done, delete_image_and_blobs(img.record.manifest, Untag::if_untagged, report));
    (void)done;
    MKIMAGE_TRY_VOID(write_index_json());
    return report;
  }
  if (force == Force::no && img.tags.size() > 1) {
    return util::Error{"conflict: unable to delete " + img.record.config.short_id() +
                       " (must be forced) - image is referenced in multiple repositories"};
  }
  if (force == Force::no && in_use) {
    return util::Error{"conflict: unable to delete " + img.record.config.short_id() +
                       " (must be forced) - image is being used by a container"};
  }
  MKIMAGE_TRY(ImageDeletion done, delete_image_and_blobs(img.record.manifest, Untag::all, report));
  if (done == ImageDeletion::held) {
    return util::Error{"conflict: unable to delete " + img.record.config.short_id() +
                       " (cannot be forced) - image is being used by a running build"};
  }
  if (done == ImageDeletion::gone) return util::Error{"No such image: " + std::string(text)};
  MKIMAGE_TRY_VOID(write_index_json());
  return report;
}

util::Result<RemoveReport> Store::prune(PruneScope scope) {
  RemoveReport report;
  MKIMAGE_TRY(auto recs, m_index->list_images());
  MKIMAGE_TRY(auto containers, m_index->list_containers());
  for (const auto& r : recs) {
    bool in_use = std::any_of(containers.begin(), containers.end(),
                              [&](const ContainerRecord& c) { return c.image == r.manifest; });
    if (in_use) continue;
    // Tags and leases are read again under gc.lock: an image tagged or held by
    // a build since the listing stays.
    MKIMAGE_TRY(ImageDeletion done, delete_image_and_blobs(
                                        r.manifest, scope == PruneScope::dangling ? Untag::if_untagged : Untag::all, report));
    (void)done;
  }
  MKIMAGE_TRY_VOID(write_index_json());
  return report;
}

util::Result<void> Store::write_index_json() {
  RootLock lock(m_root.lock_file());
  if (!lock.ok()) return util::sys_error("open", m_root.lock_file().string());
  // Read under the lock so the last writer always writes the latest tags, in
  // one statement: tags and their manifests' blob rows as of one moment, while
  // other processes may be deleting images.
  MKIMAGE_TRY(auto tags, m_index->list_tag_descriptors());
  ImageIndex index;
  for (const auto& t : tags) {
    Descriptor d;
    d.media_type = !t.media_type.empty() ? t.media_type : MediaType::of(media_types::oci_manifest);
    d.digest = t.manifest;
    if (t.size) {
      d.size = *t.size;
    } else {
      auto size = m_blobs.size(t.manifest);
      if (!size) continue;  // not in the store (any more): not listed
      d.size = *size;
    }
    // ref.name is "name:tag" in familiar form, which is what
    // `skopeo inspect oci:ROOT:goals:latest` and `umoci --image ROOT:goals:latest` look up.
    d.annotations[annotations::ref_name] = t.reference.familiar();
    d.annotations[annotations::containerd_image_name] = t.reference.str();
    index.manifests.push_back(std::move(d));
  }
  // The tags' rows commit without a sync (synchronous=NORMAL): a crash of the
  // machine may take the last tag change back, in the index and here alike.
  return write_file_atomic(m_root.index_json(), serialize(index), 0644, RenameDurability::rename_may_be_lost);
}

}  // namespace mkimage::store
