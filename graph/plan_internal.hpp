// Planner internals shared by graph/plan*.cpp and graph/dispatch*.cpp (not public API).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "graph/plan.hpp"
#include "parser/env_list.hpp"
#include "parser/shell_lexer.hpp"

namespace mkimage::graph::detail {

using parser::EnvList;

// Builds diagnostics against the Dockerfile's lines.
struct Diag {
  std::string file;
  const std::vector<std::string>* lines = nullptr;
  // `token` (if found in the instruction's lines) places the caret.
  util::Error at(const parser::SourceRange& r, const std::string& message, const std::string& token = "") const;
  util::Error whole(const std::string& message) const;
};

// A typed instruction with where it came from.
struct Command {
  parser::Instruction instruction;
  const parser::Node* node = nullptr;   // the AST node (for ONBUILD triggers: the trigger node)
  std::string keyword;          // upper case
  parser::SourceRange range;
  std::string original;
  bool from_onbuild = false;
};

// A stage before dispatch.
struct StageDraft {
  int index = 0;
  parser::FromInstruction from; // expanded image/platform
  std::string raw_image;        // as written
  parser::SourceRange range;
  std::string original;
  std::vector<Command> commands;  // own commands
  StageBase base;
  // Dependencies: (stage index, kind, command index in `commands` or -1 / trigger index).
  std::vector<StageEdge> deps;
  std::vector<Command> triggers;  // ONBUILD triggers to run first
  bool triggers_resolved = false;
  std::optional<BaseImageInfo> image_info;
};

// The planner's state over one Dockerfile (BuildKit's dispatchContext):
// make_plan (graph/plan.cpp) runs the phases in this order; each returns the
// first error as a complete diagnostic.
struct Planner {
  Planner(const parser::Ast& ast, const PlanOptions& opts, Plan& plan);

  // graph/plan.cpp
  util::Result<void> split_stages();     // typed instructions → global ARGs + stage drafts
  util::Result<void> resolve_target();   // --target → target (default: the last stage)
  util::Result<void> build_meta_args();  // global ARGs (BuildKit buildMetaArgs)
  util::Result<void> resolve_bases();    // FROM: expanded with global args; base kind
  void add_edges();                      // plan.edges among the dispatched stages
  void report_unused_build_args(const std::vector<int>& order);
  // graph/plan_stages.cpp
  util::Result<void> add_references();   // COPY --from / RUN --mount from= (toCommand, detectRunMount)
  util::Result<void> resolve_reachable();  // from the target, with ONBUILD triggers
  util::Result<void> validate_dependencies();  // cycles, then references to later stages

  const parser::Ast& ast;
  const PlanOptions& opts;
  Plan& plan;
  Diag diag;
  parser::ShellLexerOptions lex;
  std::vector<Command> meta_args;        // ARGs before the first FROM
  std::vector<StageDraft> drafts;        // every stage, in Dockerfile order
  std::map<std::string, int> names;      // lower name → index; later stages win (as BuildKit's map)
  std::vector<std::string> stage_names;  // in Dockerfile order (suggestions)
  int target = -1;
  EnvList global;                        // global args: what FROM lines are expanded with
  std::set<std::string> declared;        // ARG names declared (globally or in a reachable stage)
  std::set<int> reachable;               // from the target
  std::vector<std::unique_ptr<parser::Ast>> trigger_asts;  // keep base-image trigger nodes alive

private:
  util::Result<void> resolve_base(StageDraft& d, std::map<std::string, int>& earlier);
  util::Result<void> add_copy_reference(StageDraft& d, parser::CopyInstruction& cp, const Command& c, int cmd_index);
  util::Result<void> add_mount_references(StageDraft& d, const parser::RunInstruction& run, const Command& c,
                                          int cmd_index);
  util::Result<void> add_references(StageDraft& d, Command& c, int cmd_index);
  void mark_reachable();
  util::Result<bool> resolve_triggers(StageDraft& d);
  util::Result<std::vector<Command>> base_image_triggers(StageDraft& d);
  util::Result<Command> parse_trigger(const StageDraft& d, const parser::Node& node) const;
  util::Result<void> check_cycles() const;
  util::Result<void> check_later_references() const;
};

// Dispatches the stages `order` (Dockerfile indexes, a dependency order) into
// plan.stages: graph/dispatch.cpp.
util::Result<void> dispatch_stages(const parser::Ast& ast, const PlanOptions& opts, const Diag& diag,
                                   std::vector<StageDraft>& drafts, const std::vector<int>& order,
                                   const EnvList& global_args, Plan& plan);

std::string path_clean(const std::string& p);
std::string path_join(const std::string& a, const std::string& b);  // then cleaned

}  // namespace mkimage::graph::detail
