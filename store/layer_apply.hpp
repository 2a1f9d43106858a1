// Applying a layer tar (image-spec layer.md §Applying Changesets) onto a directory,
// safely. The whole archive is read and checked first; only then is the target
// touched, so a refused layer leaves the target as it was.
//
// Refused (error message "layer <path>: entry \"<name>\": <reason>"):
//   - absolute names, ".." components, empty names, names or link targets longer
//     than 4096 bytes or with a component longer than 255, more than 1024 xattrs
//     or an xattr value over 64 KiB, uid/gid above 2^32-2;
//   - an entry, whiteout or hardlink target below a symlink (in the target or
//     earlier in the layer) or below a non-directory: nothing is ever written
//     through a symlink;
//   - hardlinks whose target is absolute or has "..";
//   - whiteouts ".wh.." / ".wh..", ".wh." (empty) and other ".wh..wh.*" names;
//   - character/block devices when `allow_devices` is false (the default for a
//     non-root caller); in snapshot mode a 0/0 character device in the tar;
//   - entry types other than file, directory, symlink, hardlink, char/block
//     device and fifo; a tar that libarchive cannot read (truncated, bad
//     checksums, oversized pax headers).
//
// Two modes:
//   flat      OCI whiteouts are applied to what is already in the target (lower
//             layers): ".wh.NAME" deletes NAME, "DIR/.wh..wh..opq" empties DIR;
//             whiteouts only hide lower content, never entries of the same layer.
//             Used to build a rootfs (export type=local, flattened tar, checks).
//   snapshot  into an empty (or missing) directory, for overlayfs stacking: OCI
//             whiteouts become overlay whiteouts (a 0/0 character device NAME,
//             xattr trusted.overlay.opaque="y" on DIR), so the result can be an
//             overlay lowerdir. Extracted into a staging directory beside the
//             target and renamed into place: the target appears complete or not
//             at all. Needs CAP_MKNOD and CAP_SYS_ADMIN (trusted.* xattrs) when
//             the layer has whiteouts.
//
// Owners (numeric uid/gid) are restored when running as root; modes, mtimes and
// xattrs always (trusted.overlay.* / user.overlay.* xattrs from the tar are dropped).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include <optional>

#include "util/result.hpp"

namespace mkimage::store {

enum class ApplyMode { flat, snapshot };

struct ApplyOptions {
  // Character/block devices are created only when true; nullopt = true for root.
  std::optional<bool> allow_devices;
  // Restore uid/gid; nullopt = true for root.
  std::optional<bool> restore_owners;
};

struct ApplyStats {
  std::int64_t entries = 0;    // tar entries, whiteouts included
  std::int64_t whiteouts = 0;  // ".wh.*" entries, opaque ones included
};

// Applies the layer at `layer` (a tar, possibly gzip/zstd compressed) onto
// `target`. flat: `target` must exist. snapshot: `target` must be missing or an
// empty directory; its parent must exist. Errors: refused entries (see above, the
// target untouched), I/O naming the path (flat mode: the target may then be
// partly changed).
util::Result<ApplyStats> apply_layer(const std::filesystem::path& layer, const std::filesystem::path& target,
                                     ApplyMode mode, const ApplyOptions& options = {});

// Checks a layer without applying it (the first half of apply_layer, without a
// target: only names, types and links inside the layer are checked).
util::Result<ApplyStats> check_layer(const std::filesystem::path& layer, const ApplyOptions& options = {});

}  // namespace mkimage::store
