#include "graph/predict.hpp"

namespace mkimage::graph {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::cached: return "cached";
    case Outcome::miss: return "miss";
    case Outcome::would_run: return "would run";
    case Outcome::unknown: return "unknown";
  }
  return "unknown";
}

namespace {

bool ran(Outcome o) { return o == Outcome::miss || o == Outcome::would_run; }

// True when something this op's key chains on (its parent, a base stage, a
// COPY --from or mount source) is predicted to run.
bool after_miss(const Op& op, const std::vector<Prediction>& done) {
  if (op.parent >= 0 && ran(done[static_cast<std::size_t>(op.parent)].outcome)) return true;
  for (int n : op.needs)
    if (ran(done[static_cast<std::size_t>(n)].outcome)) return true;
  return false;
}

// FROM and metadata: no lookup; they follow what they chain on.
Prediction predict_config_op(const Op& op, const std::vector<Prediction>& done) {
  if (after_miss(op, done)) return {Outcome::would_run, ""};
  if (op.kind == OpKind::from && !op.key) return {Outcome::miss, op.unknown};  // a base to pull
  if (!op.key) return {Outcome::unknown, op.unknown};
  return {Outcome::cached, ""};
}

}  // namespace

util::Result<std::vector<Prediction>> predict(const Graph& graph, CacheLookup& cache, const PredictOptions& options) {
  std::vector<Prediction> out;
  out.reserve(graph.ops.size());
  for (const auto& op : graph.ops) {
    if (!op.layer_step()) {
      out.push_back(predict_config_op(op, out));
      continue;
    }
    const bool after = after_miss(op, out);
    if (!op.key) {
      out.push_back(after ? Prediction{Outcome::would_run, ""} : Prediction{Outcome::unknown, op.unknown});
      continue;
    }
    if (options.no_cache && options.no_cache(op.stage)) {
      out.push_back(after ? Prediction{Outcome::would_run, ""}
                          : Prediction{Outcome::miss, options.miss_reason ? options.miss_reason(op) : "--no-cache"});
      continue;
    }
    MKIMAGE_TRY(bool hit, cache.usable(*op.key));
    if (hit) out.push_back({Outcome::cached, ""});
    else if (after) out.push_back({Outcome::would_run, ""});
    else out.push_back({Outcome::miss, options.miss_reason ? options.miss_reason(op) : std::string()});
  }
  return out;
}

}  // namespace mkimage::graph
