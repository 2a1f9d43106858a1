// Dispatching one stage's instructions (BuildKit dockerfile2llb dispatch()):
// graph/dispatch.cpp walks a stage and calls one dispatch_* function per
// instruction, each in the file of its group:
//   graph/dispatch_env.cpp     ENV, ARG, LABEL, USER, WORKDIR, SHELL (the state later steps see)
//   graph/dispatch_config.cpp  CMD, ENTRYPOINT, HEALTHCHECK, EXPOSE, VOLUME, STOPSIGNAL, MAINTAINER, ONBUILD
//   graph/dispatch_run.cpp     RUN (mounts, argv, environment, history)
//   graph/dispatch_copy.cpp    COPY and ADD
// Each expands the fields BuildKit expands, fills the planner fields of the
// instruction and the Step (history string, empty_layer) and updates the
// stage's State. Not public API.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/plan_internal.hpp"

namespace mkimage::graph::detail {

// The dispatch state of one stage (BuildKit dispatchState + llb state).
struct State {
  EnvList env;                           // llb state env: config Env + ARG values
  std::vector<std::string> config_env;   // image config Env
  std::unordered_map<std::string, std::size_t> config_env_at;  // name -> index in config_env
  std::vector<parser::ArgDeclaration> build_args;  // d.buildArgs (declared ARGs with values)
  std::string workdir;
  std::string user;
  std::vector<std::string> shell;        // config Shell ([] = default)
  bool cmd_set = false;
};

// What is the same for every stage of the plan.
struct DispatchOptions {
  DispatchOptions(const PlanOptions& opts, const Diag& diag, const EnvList& global,
                  const std::vector<StageDraft>& drafts, char escape);

  const PlanOptions& opts;
  const Diag& diag;
  const EnvList& global;                 // global args (ARG without value in a stage takes these)
  parser::ShellLexerOptions lex;
  std::string special;                   // characters that make expansion do something
  std::map<std::string, int> names;      // stage name → Dockerfile index
};

// One instruction being dispatched: its command, the stage state it runs in,
// the step it becomes and the stage being filled.
struct StepContext {
  const DispatchOptions& options;
  const Command& command;
  State& state;
  Step& step;
  Stage& stage;

  // `w` expanded against the state env; an error points at `token`.
  util::Result<std::string> word(const std::string& w, const std::string& token = "") const;
  // A diagnostic at the instruction, the caret at `token`.
  util::Error error(const std::string& message, const std::string& token = "") const;
  // A path-like argument after expansion (COPY/ADD source and destination,
  // WORKDIR, VOLUME, RUN --mount source and target) must not hold a NUL byte:
  // no file system path can, and cutting it there would name another file
  // (one .dockerignore leaves out). `raw` is the word as written: the caret
  // points at it (up to a NUL it holds itself).
  util::Result<void> no_nul(const std::string& what, const std::string& value, const std::string& raw) const;
};

// graph/dispatch_env.cpp
util::Result<void> dispatch_env(StepContext& ctx, parser::EnvInstruction& e);
util::Result<void> dispatch_arg(StepContext& ctx, parser::ArgInstruction& a);
util::Result<void> dispatch_label(StepContext& ctx, parser::LabelInstruction& l);
util::Result<void> dispatch_user(StepContext& ctx, parser::UserInstruction& u);
util::Result<void> dispatch_workdir(StepContext& ctx, parser::WorkdirInstruction& w);
util::Result<void> dispatch_shell(StepContext& ctx, parser::ShellInstruction& sh);
// graph/dispatch_config.cpp
util::Result<void> dispatch_cmd(StepContext& ctx, parser::CmdInstruction& cmd);
util::Result<void> dispatch_entrypoint(StepContext& ctx, parser::EntrypointInstruction& ep);
util::Result<void> dispatch_healthcheck(StepContext& ctx, parser::HealthcheckInstruction& h);
util::Result<void> dispatch_expose(StepContext& ctx, parser::ExposeInstruction& ex);
util::Result<void> dispatch_volume(StepContext& ctx, parser::VolumeInstruction& vol);
util::Result<void> dispatch_stopsignal(StepContext& ctx, parser::StopSignalInstruction& sig);
util::Result<void> dispatch_maintainer(StepContext& ctx, parser::MaintainerInstruction& mt);
util::Result<void> dispatch_onbuild(StepContext& ctx, parser::OnbuildInstruction& ob);
// graph/dispatch_run.cpp
util::Result<void> dispatch_run(StepContext& ctx, parser::RunInstruction& r);
// graph/dispatch_copy.cpp
util::Result<void> dispatch_copy(StepContext& ctx, parser::CopyInstruction& cp);

// Shared by the dispatch_* functions.
std::string kv_key(const std::string& kv);  // "K" of "K=V"
std::string join(const std::vector<std::string>& v, const std::string& sep);
std::string go_quote_list(const std::vector<std::string>& v);  // Go fmt "%q" of a []string: ["a" "b"]
std::vector<std::string> effective_shell(const State& st);     // SHELL in effect (default /bin/sh -c)
std::vector<std::string> with_shell(const State& st, const std::vector<std::string>& args);  // shell form argv
bool is_abs(const std::string& p);

}  // namespace mkimage::graph::detail
