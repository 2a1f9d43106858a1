// The store's configuration file: ROOT/config.json, else
// /etc/mkimage/config.json (the first that exists; none = defaults), beside
// registries.json (registry/config.hpp). JSON, in docker's daemon.json spirit:
//
//   {"cache": {"max-size": "10GB"}, "builder": {"max-parallelism": 8}}
//
// cache.max-size bounds the store (blobs + snapshots): after every build the
// cache GC (store/gc.hpp) frees least recently used cache entries until the
// store is under it. A size in docker's units (store: util/units.hpp
// parse_size_bytes, like `--keep-storage`) or a number of bytes; "0" or absent
// = no bound. `mkimage build --cache-max SIZE` overrides it for one build.
// builder.max-parallelism (buildkitd.toml's worker max-parallelism) bounds the
// RUN steps running at once (a positive number; absent = the builder's
// default, builder/scheduler.hpp run_bound).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace mkimage::store {

struct StoreConfig {
  std::optional<std::int64_t> cache_max_size;  // bytes; nullopt = unbounded
  std::optional<unsigned> max_parallelism;     // RUN steps at once; nullopt = default
  std::filesystem::path source;                // the file read ("" = none)
};

// Parses the file's text; `source` names it in errors. Errors: bad JSON, a
// value of the wrong type, an unknown key under "cache" or "builder", a bad
// size, a max-parallelism that is not a positive number.
util::Result<StoreConfig> parse_store_config(const std::string& text, const std::filesystem::path& source);

// Reads ROOT/config.json, else /etc/mkimage/config.json. Errors: the file
// cannot be read, parse_store_config's.
util::Result<StoreConfig> load_store_config(const std::filesystem::path& root);

}  // namespace mkimage::store
