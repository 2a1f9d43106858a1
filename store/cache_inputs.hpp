// What each cache entry's key was computed from, kept to explain later misses
// (builder/miss_explain.hpp; docs/cache.md "Why a step ran"). One cache_inputs
// row per cache entry (deleted with it: ON DELETE CASCADE, so `cache prune` and
// the GC remove it too) and the COPY file lists in cache_file_lists, one row per
// distinct list (deleted by a trigger with the last row that names it).
// Schema 6 (store/index_schema.cpp).
//
// Example:
//   CacheInputsRecord r{key, scope, "build", 3, "RUN npm ci", chain_json, ""};
//   MKIMAGE_TRY_VOID(put_cache_inputs(index, r, nullptr));
//   MKIMAGE_TRY(auto prev, nearest_cache_inputs(index, scope, "build", 3, "RUN npm ci", key));
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/index.hpp"
#include "util/result.hpp"

namespace mkimage::store {

struct CacheInputsRecord {
  std::string key;      // the cache entry's key
  std::string scope;    // which project: the context directory and the Dockerfile's name
  std::string stage;    // the stage's name, else its index
  std::int64_t position = 0;  // the step's index in the stage
  std::string step;     // the instruction as shown ("RUN npm ci")
  std::string chain;    // the tagged fields (builder/step_inputs_codec.hpp encode_chain)
  std::string files;    // digest of the file list in cache_file_lists, "" = none
};

// Stores `r` for an existing cache entry (an entry that has inputs keeps its
// first ones) and, when `file_list` is given, the list under r.files (kept
// once). Errors: SQLite's (no cache entry `r.key`: a constraint error).
util::Result<void> put_cache_inputs(Index& index, const CacheInputsRecord& r, const std::string* file_list);

// The nearest earlier record of a step, other than `exclude_key`, in `scope`:
// the same instruction in the same stage first, then the same position in the
// same stage, then the same instruction anywhere; most recently used first (by
// the build history's start times in milliseconds, then the cache's last use
// and creation in seconds).
util::Result<std::optional<CacheInputsRecord>> nearest_cache_inputs(Index& index, const std::string& scope,
                                                                    const std::string& stage, std::int64_t position,
                                                                    const std::string& step,
                                                                    const std::string& exclude_key);

// The stored (compressed) file list `digest`; nullopt when gone.
util::Result<std::optional<std::string>> get_cache_file_list(Index& index, const std::string& digest);

// Bytes the explanations take (rows' text and lists), for measurements and `cache du`.
struct CacheInputsUsage {
  std::int64_t records = 0;
  std::int64_t record_bytes = 0;
  std::int64_t file_lists = 0;
  std::int64_t file_list_bytes = 0;
};
util::Result<CacheInputsUsage> cache_inputs_usage(Index& index);

}  // namespace mkimage::store
