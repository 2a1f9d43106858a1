// `store check --deep`: is a snapshot directory still what its layer blob says?
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace mkimage::store {

// `store check --deep`: compares the snapshot directory `dir` (ApplyMode::snapshot
// form, made by apply_layer or an overlay upperdir adopted as is) with the layer
// tar `layer`, entry by entry: every entry exists with its type, permission bits
// (owners too when run as root), the content of a regular file (SHA-256), a
// symlink's target, a hardlink's inode; every whiteout is a 0/0 character device
// (an opaque directory carries overlay.opaque=y, checked when readable).
// A whiteout in `dir` the tar does not have is reported; other extra content is
// not (an adopted upperdir keeps what its layer excludes: runtime-made mount
// points, secret targets). Returns the differences found (at most
// `max_problems`), empty = the snapshot matches. Errors: the tar cannot be read.
util::Result<std::vector<std::string>> verify_snapshot(const std::filesystem::path& layer,
                                                       const std::filesystem::path& dir,
                                                       std::size_t max_problems = 10);

}  // namespace mkimage::store
