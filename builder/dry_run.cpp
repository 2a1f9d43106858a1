// `mkimage build --dry-run`: the build graph (graph/graph.hpp) of the planned
// stages, every key computed in memory, and each numbered step's predicted
// outcome (graph/predict.hpp) reported through EventSink::step_predicted, a
// first miss with the reason the build would give (builder/miss_explain.hpp).
// Nothing executes: no snapshot, blob, cache row, lease or history entry is
// written, and no base image is pulled (docs/dry-run.md).
#include <algorithm>

#include "builder/build_internal.hpp"
#include "builder/graph_sources.hpp"
#include "builder/graph_step_inputs.hpp"
#include "graph/graph.hpp"
#include "graph/predict.hpp"

namespace mkimage::builder {

namespace {

PredictedOutcome public_outcome(graph::Outcome o) {
  switch (o) {
    case graph::Outcome::cached: return PredictedOutcome::cached;
    case graph::Outcome::miss: return PredictedOutcome::miss;
    case graph::Outcome::would_run: return PredictedOutcome::would_run;
    case graph::Outcome::unknown: return PredictedOutcome::unknown;
  }
  return PredictedOutcome::unknown;
}

// The numbered steps with their ops, in step-number order.
std::vector<std::pair<const StepSlot*, int>> numbered_ops(const BuildSession& s, const graph::Graph& g) {
  std::vector<std::pair<const StepSlot*, int>> out;
  for (const auto& [where, slot] : s.slots) {
    if (!slot.visible) continue;
    int op = g.index_of(where.first, where.second);
    if (op >= 0) out.emplace_back(&slot, op);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first->info.number < b.first->info.number; });
  return out;
}

// Why a first miss would run, as the build will say it (stage_runner.cpp
// run_fs_step): the same flags, the same inputs (graph_step_inputs) and the
// same comparison with the nearest earlier record (explain_miss), read only.
// Nothing it chains on runs, so `parent_ran` stays false.
std::string predicted_miss_reason(BuildSession& s, const graph::Graph& g, const graph::Op& op,
                                  const SessionContextDigests& digests) {
  const graph::Stage* stage = s.plan.find_stage(op.stage);
  auto slot = s.slots.find({op.stage, op.step});
  if (!stage || slot == s.slots.end() || !op.key) return {};
  const bool lookup = !s.no_cache_for(*stage);
  MissFlags why;
  why.no_cache = s.request.no_cache;
  why.no_cache_filter = !lookup && !s.request.no_cache;
  if (lookup) {
    // Not usable (predict asked the cache): an entry there has lost its layer.
    auto rec = s.store->index().peek_cache(op.key->str());
    if (!rec.ok()) return "reason unknown: " + rec.error().message;
    why.layer_gone = rec->has_value();
  }
  int index = static_cast<int>(&op - g.ops.data());
  StepInputs inputs = graph_step_inputs(s, g, index, [&](const std::string& d) { return digests.listing(d); });
  return explain_miss(s, *stage, slot->second, *op.key, inputs, why);
}

}  // namespace

util::Result<BuildResult> dry_run(const BuildRequest& req, EventSink& sink) {
  BuildSession s(req, sink);
  struct RemoveWork {  // the empty store of a dry run on a root that does not exist
    BuildSession& s;
    ~RemoveWork() {
      s.store.reset();
      std::error_code ec;
      if (!s.work_dir.empty()) std::filesystem::remove_all(s.work_dir, ec);
    }
  } remove_work{s};
  MKIMAGE_TRY(std::vector<CheckWarning> checks, prepare_build(s));
  collect_plan_warnings(s);
  internal_step(s, "load build context");
  number_steps(s);
  for (const auto& w : s.warnings) s.sink.call([&](EventSink& k) { k.message(w); });
  if (!req.cache_from.empty())
    s.warn("--dry-run does not read --cache-from sources: their hits are shown as misses");

  graph::GraphOptions options;
  options.network = req.network;
  options.source_date_epoch = s.source_date_epoch;
  SessionImageSources images(s);
  SessionContextDigests digests(s);
  MKIMAGE_TRY(graph::Graph g, graph::build_graph(s.plan, options, images, digests));

  StoreCacheLookup cache(*s.store);
  graph::PredictOptions po;
  po.no_cache = [&](int stage_index) {
    const graph::Stage* stage = s.plan.find_stage(stage_index);
    return stage && s.no_cache_for(*stage);
  };
  po.miss_reason = [&](const graph::Op& op) { return predicted_miss_reason(s, g, op, digests); };
  MKIMAGE_TRY(std::vector<graph::Prediction> predicted, graph::predict(g, cache, po));

  BuildResult result;
  for (const auto& [slot, op_index] : numbered_ops(s, g)) {
    const graph::Op& op = g.ops[static_cast<std::size_t>(op_index)];
    const graph::Prediction& p = predicted[static_cast<std::size_t>(op_index)];
    StepInfo info = slot->info;
    if (op.key) info.cache_key = op.key->str();
    StepPrediction sp{info, public_outcome(p.outcome), p.reason};
    s.sink.call([&](EventSink& k) {
      if (req.explain_cache && op.key) k.explain(info, op.fields);
      k.step_predicted(info, sp.outcome, sp.reason);
    });
    result.predictions.push_back(std::move(sp));
  }
  result.warnings = s.warnings;
  result.checks = std::move(checks);
  return result;
}

}  // namespace mkimage::builder
