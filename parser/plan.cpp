// Planner (in progress): see plan.hpp.
#include "parser/plan.hpp"

namespace mkimage::parser {

const Stage* Plan::find_stage(int index) const {
  for (const auto& s : stages) {
    if (s.index == index) return &s;
  }
  return nullptr;
}

util::Result<Plan> make_plan(const Ast&, const PlanOptions&) { return util::Error{"planner not implemented yet"}; }

util::Result<Plan> plan_dockerfile(std::string_view text, const PlanOptions& opts) {
  MKIMAGE_TRY(auto ast, parse_dockerfile(text, opts.file));
  return make_plan(ast, opts);
}

std::string format_plan_text(const Plan&) { return ""; }
std::string format_plan_json(const Plan&) { return "{}"; }

}  // namespace mkimage::parser
