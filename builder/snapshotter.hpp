// Active snapshots: a writable root filesystem stacked on read-only snapshot
// directories (ROOT/snapshots/<chain_id>/, each an unpacked layer in overlay
// form), for RUN steps and `mkimage run` containers.
//
// Lifecycle (like containerd's Snapshotter Prepare → Commit):
//   auto snap = snapshotter.prepare({top_lower, ..., bottom_lower});   // mounted
//   snap->record_mount_points(destinations);   // before the runtime starts
//   ... run the container with rootfs = snap->rootfs() ...
//   auto upper = snap->finish();               // unmounted; runtime mount points removed
//   // commit: layer writer reads `upper` (excluding snap->runtime_created()),
//   // then renames upper to ROOT/snapshots/<chain_id>/ — or:
//   snap->discard();                           // failed step: remove everything
// An ActiveSnapshot that is destroyed without finish()/discard() unmounts and
// removes its directories (and so does an interrupt, builder/interrupt.hpp).
//
// Layout: each active snapshot owns TEMP/snap-<pid>-<start>-XXXXXX/ (the
// owner's pid and start time, store/owner.hpp: what a killed build leaves,
// mounted or not, is removed by the next Store::open) with `upper/` (the
// overlay upperdir), `work/` (overlay workdir), `merged/` (mount point) and
// `l/` (short symlinks to the lowerdirs, so that 500 lowers fit the one-page
// limit of overlay mount options: the mount is made from a child process
// that chdir()s into `l/` and names the lowers "0:1:2…"). TEMP must be on the
// same filesystem as ROOT/snapshots so the upperdir can be renamed there.
//
// The upperdir is in overlayfs format: a deleted lower file is a 0/0 character
// device, a directory replacing a lower one has xattr trusted.overlay.opaque=y.
// Copy-up also leaves trusted.overlay.origin/impure xattrs on directories:
// layer writers must ignore trusted.overlay.* except opaque.
//
// Fallback: when overlayfs cannot be mounted (e.g. inside some containers),
// prepare() copies the lowers into merged/ and finish() computes the same
// overlay-format upperdir by comparing merged/ with the lowers (deleted →
// 0/0 char device, replaced directory → opaque). A warning is printed once
// per process on stderr. Force it with env MKIMAGE_SNAPSHOTTER=copy.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

enum class SnapshotMode { overlay, copy };

class ActiveSnapshot {
public:
  ~ActiveSnapshot();
  ActiveSnapshot(const ActiveSnapshot&) = delete;
  ActiveSnapshot& operator=(const ActiveSnapshot&) = delete;

  // The root filesystem to give the runtime (mounted until finish/discard).
  const std::filesystem::path& rootfs() const { return m_merged; }
  // The overlay-format upperdir (complete only after finish()).
  const std::filesystem::path& upperdir() const { return m_upper; }
  // TEMP/<random>/: everything this snapshot owns.
  const std::filesystem::path& dir() const { return m_dir; }
  SnapshotMode mode() const { return m_mode; }

  // Remembers which of `destinations` (absolute container paths: mount
  // targets such as /proc, /etc/hosts, /run/secrets/x) and which of their
  // parent directories do not exist yet in the rootfs. Call before the
  // runtime creates them; may be called more than once.
  void record_mount_points(const std::vector<std::string>& destinations);

  // Paths (absolute container paths, sorted) that did not exist before the
  // run and that the runtime created as mount points (see record_mount_points).
  // The layer writer must exclude them (finish() already removes them when
  // they are empty, so normally none is left in the upperdir).
  const std::vector<std::string>& runtime_created() const { return m_created; }

  // Unmounts the rootfs and completes the upperdir: removes the mount points
  // the runtime created when they are empty (files of size 0, empty dirs),
  // then removes their parent directories that are empty and were either
  // created by the runtime or are unchanged copies (mode, uid, gid) of a
  // lower directory. Returns the upperdir. Errors: umount/I/O.
  util::Result<std::filesystem::path> finish();

  // Unmounts (if mounted) and removes dir() entirely. Idempotent.
  void discard();

  // Keeps dir() on destruction (a `mkimage run` container's writable layer,
  // kept until `rm`): the destructor then only unmounts.
  void keep() { m_keep = true; }

private:
  friend class Snapshotter;
  ActiveSnapshot() = default;
  util::Result<void> unmount();

  std::filesystem::path m_dir, m_upper, m_work, m_merged;
  std::vector<std::filesystem::path> m_lowers;  // top first
  SnapshotMode m_mode = SnapshotMode::overlay;
  bool m_mounted = false;
  bool m_finished = false;
  bool m_keep = false;
  std::vector<std::string> m_created;
  std::uint64_t m_cleanup_id = 0;
};

// Upper directory durability: unmounting an overlay syncs the whole upper
// filesystem (syncfs), which a container's writable layer (`mkimage run`) relies
// on: `kept`. An upperdir whose content is thrown away (the overlay probe, run
// only when the first snapshot's mount fails; a `RUN --mount=type=bind,rw`
// scratch) passes `discarded`, and a build step's
// upperdir, which becomes a layer blob (fsynced, the durable record) and an
// unsynced snapshot (store/snapshots.hpp), passes `unsynced`: the mount uses
// overlayfs's `volatile` option (Linux 5.10+; older kernels mount without it)
// and its unmount costs no sync of the whole filesystem. A volatile upper cannot
// be mounted again, which neither needs.
enum class UpperDurability { kept, discarded, unsynced };

class Snapshotter {
public:
  // `temp_dir`: where active snapshots live (normally ROOT/tmp/active;
  // created 0700 if missing).
  explicit Snapshotter(std::filesystem::path temp_dir);
  // Same, with the mode forced (tests of the copy fallback).
  Snapshotter(std::filesystem::path temp_dir, SnapshotMode forced);

  // Mounts a writable rootfs over `lowerdirs` (top first; each an existing
  // directory; may be empty = scratch). The upperdir is not synced when it is
  // unmounted (UpperDurability::unsynced): a step's upperdir becomes a layer blob
  // (fsynced) and an unsynced snapshot (store/snapshots.hpp). Errors: more than
  // 500 lowers, a missing lowerdir, mount/copy failures naming the path and errno.
  util::Result<std::unique_ptr<ActiveSnapshot>> prepare(const std::vector<std::filesystem::path>& lowerdirs);

  // Like prepare(), but in `dir` (created if missing) instead of a fresh
  // temp dir, and an existing dir/upper is reused: this is how a stopped
  // container is started again. The snapshot is kept (keep()).
  util::Result<std::unique_ptr<ActiveSnapshot>> prepare_in(const std::filesystem::path& dir,
                                                           const std::vector<std::filesystem::path>& lowerdirs,
                                                           UpperDurability durability = UpperDurability::kept);

  // Mounts `lowerdirs` read-only (no upperdir) at `target` (created).
  // Used for read-only RUN --mount=type=bind from a stage. Errors as prepare.
  static util::Result<void> mount_readonly(const std::vector<std::filesystem::path>& lowerdirs,
                                           const std::filesystem::path& target);

  // Whether overlayfs works under temp_dir: known from the first snapshot
  // mounted in this process, else probed with a mount of its own.
  SnapshotMode mode();

private:
  // The mode when it is known without mounting (forced, MKIMAGE_SNAPSHOTTER,
  // or found by an earlier mount of this process).
  std::optional<SnapshotMode> known_mode() const;
  // A probe mount under temp_dir decides the mode of this process.
  SnapshotMode probe();
  // Records the process's mode (the first decision stands; copy warns once).
  void set_mode(SnapshotMode m);

  std::filesystem::path m_temp_dir;
  std::optional<SnapshotMode> m_forced;
};

// Mounts overlayfs at `target` with `lowerdirs` (top first, 1..500) and, when
// `upperdir` is not empty, upperdir/workdir. Each lower is opened (O_PATH) and
// named by its descriptor number from a forked child that chdir()s to
// /proc/self/fd ("lowerdir=7:8:9"), so 500 lowers fit the one-page mount data
// and nothing is written to disk per lower. Errors: a lower that is not a
// directory, mount failure with errno. `durability`: UpperDurability above.
util::Result<void> mount_overlay(const std::vector<std::filesystem::path>& lowerdirs,
                                 const std::filesystem::path& upperdir,
                                 const std::filesystem::path& workdir,
                                 const std::filesystem::path& target,
                                 UpperDurability durability = UpperDurability::kept);

// Unmounts `target` (lazily, MNT_DETACH, if it is busy); not mounted is not an error.
util::Result<void> unmount_path(const std::filesystem::path& target);

// Removes `dir` recursively without crossing into other filesystems (a
// mount left inside is skipped, never emptied). Missing is not an error.
void remove_tree(const std::filesystem::path& dir);

}  // namespace mkimage::builder
