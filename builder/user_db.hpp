// User and group lookups in a rootfs's /etc/passwd and /etc/group (read inside
// the rootfs, symlinks resolved within it: builder/fs_resolve.hpp).
//
// Two lookups, because BuildKit uses two:
// - resolve_exec_user: the process identity of RUN (BuildKit executor/oci
//   GetUser → libcontainer user.GetExecUser): "uid:gid" numeric needs no files;
//   otherwise names and ids are looked up, a numeric uid that is not in
//   /etc/passwd is still accepted (gid 0), and supplementary groups come from
//   /etc/group membership, led by the primary gid (BuildKit's executor adds it).
// - resolve_owner: ownership for COPY/ADD --chown and WORKDIR mkdir (BuildKit
//   dockerfile2llb parseUser + solver/llbsolver/file readUser): each part is a
//   numeric id or a name; a numeric user alone gives gid = uid; a user name alone
//   gives that user's primary gid from /etc/passwd.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

struct ExecUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;  // the primary gid, then /etc/group membership in file order
  std::string home = "/";                      // from /etc/passwd, "/" when unknown
};

// Resolves a USER value (`user[:group]`, names or ids; "" means root) for RUN.
// Errors (BuildKit's text): `unable to find user NAME: no matching entries in
// passwd file`, `unable to find group NAME: no matching entries in group file`,
// ids outside 0..2^31-1.
util::Result<ExecUser> resolve_exec_user(const std::filesystem::path& rootfs, std::string_view spec);

struct Owner {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  bool operator==(const Owner&) const = default;
};

// Resolves a `--chown` value (or the USER value for WORKDIR mkdir):
// `user[:group]`, each a decimal id or a name. "" means 0:0.
// Errors: `unable to find user NAME`, `unable to find group NAME` (also when
// the file is missing), an empty user part (":1").
util::Result<Owner> resolve_owner(const std::filesystem::path& rootfs, std::string_view spec);

// True when resolve_owner(spec) needs no file (every part is numeric or empty).
bool owner_is_numeric(std::string_view spec);

}  // namespace mkimage::builder
