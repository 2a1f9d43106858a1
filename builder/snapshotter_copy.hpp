// The copy-and-diff fallback of builder/snapshotter.hpp, for hosts where
// overlayfs cannot be mounted. Internal to the snapshotter.
#pragma once

#include <filesystem>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

// Materialises `lowers` (top first, overlay format: 0/0 char devices are
// whiteouts, trusted.overlay.opaque=y directories hide lower content) into
// `base`, then copies `base` to `merged` and applies an existing `upper` on
// top (a restarted container). Does nothing when `merged` was already
// prepared (marker file next to it). Errors: I/O naming the path.
util::Result<void> copy_snapshot_prepare(const std::vector<std::filesystem::path>& lowers,
                                         const std::filesystem::path& upper,
                                         const std::filesystem::path& base,
                                         const std::filesystem::path& merged);

// Rewrites `upper` as the overlay-format difference of `merged` against `base`:
// new or changed entries copied (with their parent directories), deleted ones
// as 0/0 character devices. Changed = type, mode, uid, gid, size, mtime,
// device number or symlink target differ. Errors: I/O naming the path.
util::Result<void> copy_snapshot_diff(const std::filesystem::path& merged, const std::filesystem::path& base,
                                      const std::filesystem::path& upper);

// Copies one tree (or entry) with modes, owners, times, xattrs (except
// trusted.overlay.*), symlinks and device nodes. `dst` must not exist.
util::Result<void> copy_tree(const std::filesystem::path& src, const std::filesystem::path& dst);

}  // namespace mkimage::builder
