// Predicting a build from its graph (graph/graph.hpp) and the store's cache,
// read only: `mkimage build --dry-run`. Keys depend on parent keys, not on
// results, so a step whose key the cache holds is a hit whatever ran before it;
// a step whose key it lacks is a miss, and every step chained after a miss
// (through its parent, its base stage, COPY --from or a mount) "would run".
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace mkimage::graph {

enum class Outcome {
  cached,     // the cache holds the key: the step would be reused
  miss,       // the first miss of its chain (`reason` says why, when known)
  would_run,  // after a miss in its chain
  unknown,    // the key cannot be known before the build (Op::unknown), no miss before it
};

struct Prediction {
  Outcome outcome = Outcome::cached;
  std::string reason;  // miss: why ("" when no reason is known); unknown: Op::unknown
};

struct PredictOptions {
  // --no-cache / --no-cache-filter: true for a stage whose steps are not looked up.
  std::function<bool(int stage)> no_cache;
  // The reason of a first miss of a layer op with a known key ("" = none
  // known), --no-cache stages included: the build's miss-reason analysis (the
  // nearest earlier record of the same step; builder/dry_run.cpp). Unset: no
  // reason, "--no-cache" for a stage not looked up.
  std::function<std::string(const Op& op)> miss_reason;
};

// One prediction per op of `graph` (same order). FROM ops are `cached` when
// their base resolved (their key is known), else `miss` with Op::unknown as the
// reason (a base the store lacks: a build would pull it). Metadata ops follow
// their parent. Errors: the lookup's.
util::Result<std::vector<Prediction>> predict(const Graph& graph, CacheLookup& cache, const PredictOptions& options);

const char* outcome_name(Outcome o);  // "cached", "miss", "would run", "unknown"

}  // namespace mkimage::graph
