// Stage scheduling (issue 4 "Scheduling"): only the stages the planner found
// reachable from the target are built (parser/plan.hpp Plan::stages); a stage
// starts when every stage it needs (FROM <stage>, COPY --from, RUN --mount
// from=) has finished; independent stages run in parallel on a pool of
// threads sized to the cores. The first failure stops new stages from
// starting; running ones stop at their next step.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "parser/stages.hpp"

namespace mkimage::builder {

// Stage index → the stage indexes it needs, from the plan's edges (only
// reachable stages appear).
std::map<int, std::set<int>> stage_dependencies(const std::vector<parser::Stage>& stages,
                                                const std::vector<parser::StageEdge>& edges);

// The threads to use for `requested` (0 = the number of cores, at least 1).
unsigned pool_size(unsigned requested);

}  // namespace mkimage::builder
