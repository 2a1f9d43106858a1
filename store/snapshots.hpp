// Unpacked layer snapshots: ROOT/snapshots/<chain_id hex>/ holds the layer with
// chain_id unpacked in overlay form (store/layer_apply.hpp ApplyMode::snapshot:
// whiteouts are 0/0 character devices, opaque directories carry
// trusted.overlay.opaque=y), ready to be an overlay lowerdir. Each snapshot holds
// only its own layer; a rootfs is the stack of its layers' snapshots, top first.
//
// A snapshot directory appears complete or not at all (staging + rename), so
// several processes may ensure the same snapshot at once. Its path relative to
// the root ("snapshots/<hex>") is recorded in the index (LayerRecord::snapshot).
// Paths stay short on purpose: overlay mount options are limited to one page, so
// a mounter with many lowerdirs should chdir() into ROOT/snapshots (or use short
// symlinks) and name the lowers by hex (65 bytes each).
//
// Example (a RUN step):
//   auto lowers = ...;  // for each parent layer, top first: ensure_snapshot(store, chain)
//   mount overlay (lowerdir=lowers, upperdir=TMP/upper) ... run ... unmount
//   write_layer_from_upperdir(TMP/upper, ...) → blob → store.add_layer() → rec
//   adopt_snapshot(store, rec.chain_id, TMP/upper);   // no re-unpack
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::store {

class Store;

// ROOT/snapshots/<hex> (it may not exist).
std::filesystem::path snapshot_path(const Store& store, const ChainId& chain);
// "snapshots/<hex>", as recorded in LayerRecord::snapshot.
std::string snapshot_rel(const ChainId& chain);

// Returns the snapshot directory of the layer `chain` (a row of the layers
// table), unpacking its blob once if the directory does not exist yet, and
// records it in the index. Errors: unknown chain_id, missing blob, a refused
// layer (store/layer_apply.hpp), I/O.
util::Result<std::filesystem::path> ensure_snapshot(Store& store, const ChainId& chain);

// Makes `upperdir` (an overlay upperdir on the same filesystem as the root,
// already committed as the layer `chain`) that layer's snapshot by renaming it
// into place, and records it. If the snapshot exists already (another build made
// it), `upperdir` is removed instead. The upperdir's files need not be synced:
// the snapshot is marked unsynced (below) before the rename. Errors: rename
// across filesystems (EXDEV), I/O.
util::Result<std::filesystem::path> adopt_snapshot(Store& store, const ChainId& chain,
                                                   const std::filesystem::path& upperdir);

// Unsynced snapshots. Snapshot files are never fsynced (an adopted upperdir is
// mounted `volatile`, an unpack writes without syncs): a snapshot is a copy of its
// layer blob, which is the durable record. ROOT/snapshots/<hex>.unsynced, made
// before the snapshot's rename (so the rename cannot be on disk without it: the
// journal of ext4/xfs/btrfs commits metadata in order), holds the boot id of the
// boot that wrote the snapshot. Within that boot the page cache holds every byte
// written, synced or not (a kill -9 loses nothing); only a crash of the machine
// can lose unsynced data, and that is a new boot. So ensure_snapshot() trusts a
// snapshot with no marker or with this boot's marker; a marker of another boot
// means the snapshot is checked against its blob (store/snapshot_verify.hpp)
// once: if it matches, it was read back from the disk after the reboot, and the
// marker goes; if not, the snapshot is removed and unpacked again.
std::filesystem::path unsynced_marker(const std::filesystem::path& snapshot_dir);
// Writes the marker of `snapshot_dir` (this boot's id). Not synced on purpose.
util::Result<void> mark_unsynced(const std::filesystem::path& snapshot_dir);
// True when `snapshot_dir` has a marker of another boot (or an unreadable one).
bool unsynced_from_another_boot(const std::filesystem::path& snapshot_dir);

// Chain IDs of every snapshot directory under ROOT/snapshots (sorted).
util::Result<std::vector<ChainId>> list_snapshots(const Store& store);

// Removes a snapshot directory (rename aside, then delete) and clears it in the
// index. Missing is not an error. The caller makes sure no mount uses it.
util::Result<void> remove_snapshot(Store& store, const ChainId& chain);

// Removes a directory tree without following symlinks (used for snapshots and
// staging directories). Missing is not an error.
util::Result<void> remove_tree(const std::filesystem::path& dir);

}  // namespace mkimage::store
