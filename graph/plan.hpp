// The planning entry point: Dockerfile text (or AST) + build options → Plan,
// the reachable stages in dependency order with their expanded steps and the
// edges of the build graph. Implements BuildKit's dockerfile2llb front half:
// ARG/ENV scoping, variable expansion per instruction, stage references,
// --target, ONBUILD triggers and history strings.
//
// Example:
//   PlanOptions opts;
//   opts.build_args = {{"VERSION", "1.2"}};
//   opts.resolve_base_image = [&](const std::string& ref) { return store_lookup(ref); };
//   auto plan = plan_dockerfile(text, opts);
//   if (!plan.ok()) { std::cerr << plan.error().message; return 1; }  // formatted diagnostic
//   for (const Stage& st : plan->stages) for (const Step& s : st.steps) execute(st, s);
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parser/ast.hpp"
#include "graph/stages.hpp"
#include "util/result.hpp"

namespace mkimage::graph {

// What the planner needs to know about a base image (from its image config).
struct BaseImageInfo {
  std::vector<std::string> env;      // config Env, "K=V"
  std::vector<std::string> onbuild;  // config OnBuild trigger texts, run first in the child stage
  std::string working_dir;           // config WorkingDir
  std::string user;                  // config User
  std::vector<std::string> shell;    // config Shell ([] = default /bin/sh -c)
};

// Looks up an image reference (as expanded from FROM, e.g. "alpine:3.19").
// nullopt = not known; the planner then assumes an empty config, unless the
// name is close to a stage name, which is reported as an error with a suggestion.
using BaseImageResolver = std::function<std::optional<BaseImageInfo>(const std::string& image_ref)>;

struct PlanOptions {
  std::string file = "Dockerfile";   // name used in diagnostics
  std::string target;                // --target stage name; "" = last stage
  std::map<std::string, std::string> build_args;  // --build-arg K=V
  std::string target_platform = "linux/amd64";    // os/arch[/variant]
  std::string build_platform = "linux/amd64";
  BaseImageResolver resolve_base_image;          // may be empty: every image has an empty config
  // `--build-context`: the name of the named context a reference names (the
  // caller's normalisation: "docker.io/library/alpine:latest" → "alpine"), or
  // nullopt. A stage whose `AS` name names one is replaced by it (base
  // Kind::context, replaces_stage, its instructions dropped); a FROM that names
  // one (and no earlier stage) starts from it, and resolve_base_image is asked
  // for its config with the context's name. COPY --from / RUN --mount from=
  // naming no stage keep the reference text; the builder asks the same question.
  // Empty = no named contexts.
  std::function<std::optional<std::string>(const std::string& reference)> named_context;
};

// The result of planning.
struct Plan {
  parser::Directives directives;
  // Reachable stages in dependency order (every stage after the stages it
  // needs; Dockerfile order otherwise). The target is the last one.
  std::vector<Stage> stages;
  int target = -1;                       // Dockerfile index of the target stage
  std::vector<StageEdge> edges;          // among reachable stages
  // Global ARGs (before the first FROM, plus the automatic platform args) with
  // their final values: what FROM lines were expanded with.
  std::vector<std::pair<std::string, std::string>> global_args;
  std::vector<std::string> unused_build_args;  // --build-arg names no ARG declares (a warning)
  std::vector<parser::Warning> warnings;         // parser warnings + planner warnings
  std::vector<std::string> source_lines; // for diagnostics of later errors

  // The stage with Dockerfile index `index`, or nullptr when not reachable.
  const Stage* find_stage(int index) const;
};

// Plans an already parsed Dockerfile. Errors: the message is the complete
// diagnostic (format_diagnostic: "FILE:LINE:COL: message", source line, caret),
// e.g. unknown instruction, bad flags, expansion failure (`${V:?msg}`), unknown
// target (with suggestion), invalid stage index, reference to a later stage,
// circular dependency, COPY with several sources into a destination without '/'.
util::Result<Plan> make_plan(const parser::Ast& ast, const PlanOptions& opts = {});

// parse_dockerfile() + make_plan().
util::Result<Plan> plan_dockerfile(std::string_view text, const PlanOptions& opts = {});

// Text form printed by `mkimage debug plan` (stages, expanded steps, edges).
std::string format_plan_text(const Plan& plan);

// JSON form printed by `mkimage debug plan --format json` (docs/plan-json.md).
std::string format_plan_json(const Plan& plan);

}  // namespace mkimage::graph
