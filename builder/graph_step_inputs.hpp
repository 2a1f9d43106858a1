// What a layer op of the build graph (graph/graph.hpp) was keyed from, as the
// step runner collects it (builder/miss_explain.hpp StepInputs): the FROM link
// when no filesystem step came before in the stage, the metadata links since
// the previous one, the op's own link, and a COPY/ADD's file list. The graph's
// ops carry the same tagged fields (Op::fields) as the build's KeyHasher, so a
// dry run explains a predicted miss with the build's own code (explain_miss)
// and names the reason the build would print (docs/dry-run.md).
#pragma once

#include <functional>

#include "builder/miss_reason.hpp"
#include "graph/graph.hpp"

namespace mkimage::builder {

struct BuildSession;

// The file list behind a COPY/ADD's "sources-digest" (nullptr: none known).
using FileListingOf = std::function<const FileListing*(const std::string& sources_digest)>;

// The inputs of layer op `op_index` of `graph` in session `s` (its slots and
// plan name the instructions), as take_step_inputs would give them in a build.
StepInputs graph_step_inputs(const BuildSession& s, const graph::Graph& graph, int op_index,
                             const FileListingOf& files);

}  // namespace mkimage::builder
