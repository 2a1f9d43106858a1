// Paths inside a rootfs, resolved as if the rootfs were "/": symlinks (absolute
// and relative) are followed relative to the rootfs, and ".." never leaves it.
// The same guarantee as openat2(RESOLVE_IN_ROOT) and crun's chroot-less walk
// (STYLE.md §5); implemented as an explicit component walk (lstat + readlink) so
// the result is a host path with no symlink left in its directory part.
//
// Used by COPY/ADD destinations, WORKDIR, `--chown` lookups of /etc/passwd and
// /etc/group, and ADD archive extraction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mkimage::builder {

// Whether the last component is followed when it is a symlink.
enum class FollowFinal { no, yes };

// Resolves `path` (absolute, or relative to "/"; "." and ".." allowed) inside
// `root` (a host directory). Returns the host path `root/<resolved>`. Every
// directory component is resolved through symlinks inside `root`; the last
// component is followed only with FollowFinal::yes. Missing components are kept
// as written (the result then names a path that does not exist yet).
// Errors: more than 40 symlinks (ELOOP), a non-directory used as a directory
// (ENOTDIR), lstat/readlink failures other than ENOENT (naming path and errno).
util::Result<std::filesystem::path> resolve_in_root(const std::filesystem::path& root,
                                                    std::string_view path,
                                                    FollowFinal follow = FollowFinal::yes);

// The rootfs-relative form of a resolved host path ("/a/b"), or "/" for root.
std::string rootfs_path_of(const std::filesystem::path& root, const std::filesystem::path& host_path);

// Owner and permission bits for directories created by mkdir_all_in_root.
struct DirAttrs {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0755;                   // permission bits (octal), applied exactly (no umask)
  std::optional<std::int64_t> mtime_s;  // epoch seconds for created dirs; nullopt = now
};

// mkdir -p of `path` inside `root` (resolved like resolve_in_root, symlinks
// followed). Creates only the missing directories, each with `attrs`; existing
// directories keep their owner, mode and mtime (BuildKit's WORKDIR and COPY
// destination semantics, testdata/handed/cases/16-workdir-user). Returns the host path
// of the final directory. Errors: a component exists and is not a directory
// ("mkdir \"/a/b\": Not a directory"), I/O errors naming the path and errno.
util::Result<std::filesystem::path> mkdir_all_in_root(const std::filesystem::path& root,
                                                      std::string_view path,
                                                      const DirAttrs& attrs = {});

// Cleans a slash path like Go's path.Clean: collapses "//", ".", "..", drops a
// trailing "/" (except for "/"). "" becomes ".".
std::string clean_path(std::string_view path);

// Joins `base` and `rel` like Go's path.Join of an absolute directory and a
// (possibly absolute) path: an absolute `rel` replaces `base`. Result cleaned.
std::string join_path(std::string_view base, std::string_view rel);

}  // namespace mkimage::builder
