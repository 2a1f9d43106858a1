// The build graph: the planned stages (graph/plan.hpp) as an explicit graph of
// ops, each with its cache key computed in memory before anything executes
// (docs/cache-keys.md). A key depends on its parent's key and on inputs known
// before the build — context content digests, base manifest digests — never
// on a result, so every key can be known up front, with two exceptions named
// in Op::unknown: a RUN --mount=type=bind,from=STAGE (keyed by the content the
// stage produced) and an ADD of a URL (keyed by the downloaded bytes); an op
// chained on an unknown key is unknown too. Side effects go through
// graph/sources.hpp. `mkimage build --dry-run` (builder/dry_run.cpp) predicts
// every step from this graph (graph/predict.hpp).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/cache_key.hpp"
#include "graph/plan.hpp"
#include "graph/sources.hpp"

namespace mkimage::graph {

enum class OpKind {
  from,            // the stage's base (FROM)
  directory_base,  // a --build-context directory as the stage's base: its files as one layer
  metadata,        // ENV, LABEL, CMD, … and WORKDIR / : the config only
  run,
  copy,            // COPY and ADD
  workdir,         // WORKDIR other than "/": a mkdir layer
};

struct Op {
  int stage = 0;   // Dockerfile index of the stage
  int step = -1;   // index into Stage::steps; -1 = the FROM (and a directory base)
  OpKind kind = OpKind::from;
  // The key; nullopt when it cannot be known before execution (`unknown` says why).
  std::optional<CacheKey> key;
  std::string unknown;
  std::vector<std::pair<std::string, std::string>> fields;  // the key's tagged inputs (--explain-cache)
  int parent = -1;         // the op this one's key chains on (-1: none, a FROM)
  std::vector<int> needs;  // other ops whose keys this one's key names (stage bases, COPY --from, mounts)
  // RUN, COPY/ADD, WORKDIR other than "/", a directory base: executed through the
  // cache (a layer step). FROM and metadata ops are not.
  bool layer_step() const { return kind == OpKind::run || kind == OpKind::copy || kind == OpKind::workdir ||
                                   kind == OpKind::directory_base; }
};

struct Graph {
  std::vector<Op> ops;              // in plan order: every stage's ops after the stages it needs
  std::map<int, int> stage_final;   // stage index → its last op (its final key)
  // The op of (stage, step), step -1 = the FROM; nullptr when none.
  const Op* find(int stage, int step) const;
  int index_of(int stage, int step) const;  // -1 when none
};

struct GraphOptions {
  std::string network = "default";                 // BuildRequest::network
  std::optional<std::int64_t> source_date_epoch;   // keyed by FROM
  std::string platform = "linux/amd64";
};

// The key phase: every op of `plan` with its key. Errors: only a failing side
// effect the graph cannot name as the op's own problem; an op whose inputs fail
// (a COPY source not found, an image that cannot be resolved) is unknown with
// the error's message, as the build would fail at that step.
util::Result<Graph> build_graph(const Plan& plan, const GraphOptions& options, ImageSources& images,
                                ContextDigests& digests);

}  // namespace mkimage::graph
