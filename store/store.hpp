// The store facade: one root directory (store/root.hpp) with its blob store
// and SQLite index, and the image-level operations the CLI and the builder
// use: put an image, tag, resolve, untag, delete, prune, check.
//
// Invariants kept here:
//   - every blob an image references is in blobs/ before the image row exists;
//   - ROOT/index.json lists every tag (annotation org.opencontainers.image.ref.name
//     = "name:tag" in familiar form, plus io.containerd.image.name = full
//     reference) and is rewritten atomically, under ROOT/lock, whenever tags change,
//     so `skopeo inspect oci:ROOT:goals:latest` and
//     `umoci unpack --image ROOT:goals:latest DIR` work on the root;
//   - a blob is deleted only when an image deletion leaves it unreferenced
//     (no other image, cache entry or container needs it) and no live lease
//     holds it;
//   - an image a live lease holds is neither untagged by prune nor deleted by
//     prune or rmi (rmi of one of its names only untags).
//
// Leases (containerd's idea, for a build racing `image prune` / `rmi` in another
// process): a Store with a lease (begin_lease) holds every manifest and blob it
// records, and what hold() is given (a base image it resolved), until
// end_lease() or its destruction. Holding takes ROOT/gc.lock shared, deleting
// takes it exclusive and reads the live leases inside, so content is either
// held before a deletion looks or gone before the holder looks: hold first,
// then check that the content is there (resolve_held does this for images).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/blob_store.hpp"
#include "store/descriptor.hpp"
#include "store/image.hpp"
#include "store/index.hpp"
#include "store/reference.hpp"
#include "store/root.hpp"
#include "util/result.hpp"

namespace mkimage::store {

// An image as found in the store: its row plus the parsed manifest and config.
struct Image {
  ImageRecord record;
  Descriptor manifest_descriptor;  // OCI manifest media type, digest, size
  Manifest manifest;
  ImageConfig config;
  std::string config_bytes;        // the config blob as stored
  std::vector<Reference> tags;     // sorted
  std::vector<Reference> repo_digests;  // "repository@sha256:…" in registries (pulled or pushed), sorted

  // docker's image ID: "sha256:<config hex>".
  std::string id() const { return record.config.str(); }
};

// What delete_image_and_blobs did with one image.
enum class ImageDeletion { deleted, held, tagged, gone };

// What rmi / prune did, in docker's output order.
struct RemoveReport {
  std::vector<Reference> untagged;  // "Untagged: goals:latest"
  std::vector<Digest> deleted;      // "Deleted: sha256:..." (manifests, configs, layer blobs)
  std::int64_t reclaimed = 0;       // bytes freed: deleted blobs and snapshot directories
};

// What `store check` found.
struct CheckReport {
  std::int64_t checked = 0;          // blobs re-hashed
  std::vector<Digest> corrupt;       // content does not match the name
  std::vector<Digest> missing;       // in the index (or referenced by an image) but no file
  std::vector<Digest> orphaned;      // file in blobs/ that nothing in the index knows
  std::vector<std::string> repaired; // human-readable actions taken with repair
  // CheckDepth::deep only:
  std::int64_t snapshots_checked = 0;      // snapshot directories compared with their layer
  std::vector<std::string> bad_snapshots;  // "<chain hex>: difference; ..." (re-made from the blob on next use)
  std::vector<std::string> stale;          // snapshots/ entries no layer row names, leftovers, dangling records
  bool ok() const { return corrupt.empty() && missing.empty() && bad_snapshots.empty(); }
};

// blobs: re-hash every blob. deep: also compare every snapshot directory with
// its layer blob (store/snapshot_verify.hpp) and look for stale ones.
enum class CheckDepth { blobs, deep };

enum class Force { no, yes };
enum class Repair { no, yes };
enum class PruneScope { dangling, all_unused };

class Store {
public:
  // Opens (creating on first use) the store at `dir`. Errors: see Root::open, Index::open.
  static util::Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir);
  // Opens the default root (store/root.hpp default_root) or `root_option` if not empty.
  static util::Result<std::unique_ptr<Store>> open_default(const std::string& root_option);
  ~Store();  // ends the lease, if any
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- leases ---
  // Starts this Store's lease (at most one; a second call is an error): from
  // now on every image, layer and blob it records is held. `description` says
  // who holds ("build"). Errors: index errors.
  util::Result<void> begin_lease(const std::string& description);
  // Ends the lease: its content may be pruned from now on. Idempotent.
  util::Result<void> end_lease();
  bool has_lease() const { return !m_lease_id.empty(); }
  // Holds `digests` (manifests, configs, layer blobs) for this Store's lease,
  // under ROOT/gc.lock shared. No lease: does nothing. Holding does not check
  // that the content exists: check after holding (a deletion that finished
  // before is not undone). Errors: index errors.
  util::Result<void> hold(const std::vector<Digest>& digests);
  // The digests an image needs: manifest, config, layer blobs and diff_ids.
  static std::vector<Digest> image_content(const Image& img);
  // resolve(), and with a lease the image found is held: it is resolved again
  // after holding until the same image is found twice, so an image a prune or
  // rmi removed meanwhile is not returned. Errors: resolve()'s.
  util::Result<std::optional<Image>> resolve_held(std::string_view text);
  // Refs (digests) of live leases; leases of dead owners are removed. Call
  // under ROOT/gc.lock exclusive (store/root_lock.hpp), as deletions do.
  util::Result<std::set<std::string>> live_leased_refs();
  // True when a live lease (of any process) holds the manifest or blob `d`.
  util::Result<bool> held_by_lease(const Digest& d);

  const Root& root() const { return m_root; }
  const BlobStore& blobs() const { return m_blobs; }
  Index& index() { return *m_index; }

  // Records a committed blob in the index (size, media type). Idempotent.
  util::Result<void> add_blob(const BlobInfo& info, const MediaType& media_type);

  // Registers an uncompressed layer blob (already committed, digest = diff_id)
  // on top of `parent` (nullopt = bottom) and returns its layer row (chain_id
  // computed per config.md). An existing row is returned unchanged.
  util::Result<LayerRecord> add_layer(const BlobInfo& layer_tar, const std::optional<ChainId>& parent);

  // Builds and stores an image: serialises `config` (its diff_ids must list
  // the `layers` in order, bottom first), writes an OCI manifest whose layer
  // descriptors are `layers` (uncompressed blobs already in the store) and
  // records it. Returns the stored image. Errors: diff_ids/layers mismatch,
  // a layer blob missing, I/O.
  util::Result<Image> put_image(const ImageConfig& config, const std::vector<Descriptor>& layers);
  // As put_image, with the config blob exactly `config_bytes` (a pulled image keeps
  // its registry's config bytes, so its image ID is the same as docker's).
  // Errors: put_image's, and a config that does not parse.
  util::Result<Image> put_image_raw(const std::string& config_bytes, const std::vector<Descriptor>& layers);

  // Records an image whose manifest, config and layer blobs are already in the
  // blob store (e.g. `load`): parses them, checks every blob exists, and
  // registers blobs, layers and the image. Layers may be compressed: the
  // manifest is then kept as is. Errors: missing blobs, bad JSON.
  util::Result<Image> add_manifest(const Digest& manifest);

  // Points `ref` at an image (ref gets ":latest" if it has no tag; a digest
  // in `ref` is an error) and rewrites index.json.
  util::Result<void> tag(const Reference& ref, const Digest& manifest);
  // Removes a tag and rewrites index.json. Returns false if it did not exist.
  util::Result<bool> untag(const Reference& ref);

  // Finds an image the way docker does: "name[:tag]" (a tag), "name@sha256:…"
  // (manifest digest), "sha256:<hex>" (image ID = config digest, or manifest
  // digest), or a unique prefix of an image ID's hex. Returns nullopt if
  // nothing matches. Errors: an ambiguous ID prefix; an invalid reference.
  util::Result<std::optional<Image>> resolve(std::string_view text);
  // Loads the full Image of a manifest digest. Errors: no such image, missing blobs.
  util::Result<Image> load(const Digest& manifest);
  util::Result<std::vector<Image>> list_images();  // newest first

  // docker rmi: a name untags (and deletes the image when no tag is left and
  // no container uses it; the last name of an image a container uses is
  // refused without Force::yes, and only untagged with it); an ID deletes the
  // image, refusing without Force::yes when the image has more than one tag or
  // a container uses it. Errors: no such image, conflicts.
  util::Result<RemoveReport> remove_image(std::string_view text, Force force);
  // docker image prune: deletes untagged images (dangling) or, with
  // all_unused, every image no container uses. Images used by containers stay.
  util::Result<RemoveReport> prune(PruneScope scope);

  // Rewrites ROOT/index.json from the tags table (atomic, under ROOT/lock).
  util::Result<void> write_index_json();

  // Re-hashes every blob; reports corrupt, missing and orphaned blobs (and with
  // CheckDepth::deep corrupt and stale snapshots). With Repair::yes drops index
  // rows (images, tags, layers, blobs, cache entries) whose blobs are gone,
  // rewrites index.json, removes orphaned blobs older than k_orphan_grace_seconds
  // (a younger one may be a running build's, its row not written yet), corrupt
  // snapshots (re-made from the blob on next use) and stale snapshot entries.
  util::Result<CheckReport> check(Repair repair, CheckDepth depth = CheckDepth::blobs);
  static constexpr std::int64_t k_orphan_grace_seconds = 600;

private:
  Store(Root root, std::unique_ptr<Index> index)
      : m_root(root), m_blobs(root), m_index(std::move(index)) {}
  util::Result<Image> put_image_impl(const ImageConfig& config, const std::string& config_bytes,
                                     const std::vector<Descriptor>& layers);
  // How delete_image_and_blobs treats the image's tags, read under the lock.
  enum class Untag { if_untagged, all };
  // Under ROOT/gc.lock exclusive: unless a live lease holds the image (held),
  // or it has tags and `untag` is if_untagged (tagged), or it is gone, deletes
  // the image (untagging it with Untag::all), its blobs no image, cache entry
  // or live lease uses and their snapshots.
  util::Result<ImageDeletion> delete_image_and_blobs(const Digest& manifest, Untag untag, RemoveReport& report);
  // hold() with ROOT/gc.lock already held by the caller.
  util::Result<void> hold_locked(const std::vector<Digest>& digests);

  Root m_root;
  BlobStore m_blobs;
  std::unique_ptr<Index> m_index;
  std::string m_lease_id;         // empty: no lease
  std::mutex m_lease_mutex;       // guards m_held
  std::set<Digest> m_held;        // digests this lease holds already
};

}  // namespace mkimage::store
