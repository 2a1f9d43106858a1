// How a step's key inputs (builder/miss_reason.hpp StepInputs) are kept beside
// its cache entry (store/cache_inputs.hpp): the chain of tagged fields as JSON
// text, and the file list as a compact binary (paths front-coded against the
// previous path, mode, 8 bytes of the entry's content digest) compressed with
// zstd, stored once per distinct list under the sha256 of its encoding.
#pragma once

#include <string>
#include <vector>

#include "builder/miss_reason.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

// [{"i": instruction, "f": [[tag, value], …]}, …]
std::string encode_chain(const std::vector<KeyLink>& chain);
// Errors: text that is not such a list.
util::Result<std::vector<KeyLink>> decode_chain(const std::string& text);

// The zstd-compressed binary list.
std::string encode_file_listing(const FileListing& files);
// Errors: not zstd, or a truncated / malformed list.
util::Result<FileListing> decode_file_listing(const std::string& data);
// "sha256:<hex>" of the encoded list: equal lists share one stored copy.
std::string file_listing_digest(const std::string& encoded);

}  // namespace mkimage::builder
