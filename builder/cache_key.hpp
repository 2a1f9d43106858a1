// The cache keys moved to the build graph (graph/cache_key.hpp, the key
// specification's code; docs/cache-keys.md): the builder executes the keys the
// graph computes. These names keep the builder's spelling.
#pragma once

#include "graph/cache_key.hpp"

namespace mkimage::builder {
using graph::CacheKey;
using graph::CopyKeyInputs;
using graph::k_cache_key_version;
using graph::key_for_copy;
using graph::key_for_from;
using graph::key_for_metadata;
using graph::key_for_run;
using graph::key_for_workdir;
using graph::KeyHasher;
using graph::RunKeyInputs;
using graph::sorted_env;
}  // namespace mkimage::builder
