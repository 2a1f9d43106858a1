// Why a step did not come from the cache, in user terms (docs/cache.md "Why a
// step ran" lists every text). A pure function over what a key was computed
// from: the tagged fields of the step's key and of the keys above it back to
// the previous filesystem step (or FROM), and the file list behind a COPY/ADD's
// sources digest — the current step's and those of the nearest earlier record
// of the same step (builder/miss_explain.hpp finds it in the store).
//
// Example:
//   StepInputs now = …, before = …;   // chains of KeyLink, file lists
//   std::string why = miss_reason(now, before, MissFlags{});  // "package.json changed"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/file_listing.hpp"

namespace mkimage::builder {

using KeyFields = std::vector<std::pair<std::string, std::string>>;

// One cache key of a chain: the instruction it stands for (as written after
// expansion: "FROM alpine:3.19", "ARG VERSION", "RUN npm ci") and the tagged
// fields it hashed (KeyHasher::fields()).
struct KeyLink {
  std::string instruction;
  KeyFields fields;
  bool operator==(const KeyLink&) const = default;
};

// What one filesystem step's key was computed from.
struct StepInputs {
  // Top first: the stage's FROM when this is its first filesystem step, then
  // the metadata instructions (ENV, ARG, …) since the previous filesystem step
  // or FROM, then the step's own key last. When there was a previous
  // filesystem step, the first link's `parent` field is that step's key.
  std::vector<KeyLink> chain;
  // COPY/ADD from a directory: the entries behind `sources-digest`; else empty.
  FileListing files;
  bool has_files = false;
};

// What the caller knows about this build.
struct MissFlags {
  bool no_cache = false;         // --no-cache
  bool no_cache_filter = false;  // the stage is named by --no-cache-filter
  bool parent_ran = false;       // the previous filesystem step of the stage ran in this build
  bool layer_gone = false;       // the key had an entry, but its layer is no longer in the store
};

// The reason a step with `current` inputs missed, compared with the nearest
// earlier record `earlier` (nullopt: none). Names the first difference in key
// order (docs/cache.md "Why a step ran"); never prints the value of an ARG or
// ENV whose name looks like a secret (parser/checks/secret_names.hpp).
std::string miss_reason(const StepInputs& current, const std::optional<StepInputs>& earlier, const MissFlags& flags);

// "3 files changed: a.js, b.js, c.js; 1 file added: x" — the file-list part of
// miss_reason ("" when both lists hold the same entries).
std::string file_list_difference(const FileListing& current, const FileListing& earlier);

}  // namespace mkimage::builder
