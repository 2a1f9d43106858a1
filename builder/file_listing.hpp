// The per-file list behind a COPY/ADD selection digest (builder/content_hash.hpp):
// what a miss reason (builder/miss_reason.hpp) compares to say which files were
// added, removed, changed or had their mode changed. Kept per cache entry,
// compressed and stored once per distinct list (builder/step_inputs_codec.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mkimage::builder {

// One entry of a selection as the selection digest hashed it.
struct FileDigestEntry {
  std::string path;        // as written under the destination, "/"-separated ("src/a.js"; "" = the destination)
  std::uint32_t mode = 0;  // permission bits (07777) as written
  // 16 hex digits of a sha256 over everything else the selection digest hashed
  // for the entry: type, owner, link target, device, xattrs and the bytes' digest.
  std::string content;
  bool operator==(const FileDigestEntry&) const = default;
};

using FileListing = std::vector<FileDigestEntry>;

}  // namespace mkimage::builder
