// Dispatching stages: each stage's state starts from its base (image config or
// the final state of its base stage), then every instruction goes to its
// dispatch_* function (graph/dispatch.hpp), as BuildKit's dispatch() switch
// (dockerfile2llb convert.go).
#include "graph/dispatch.hpp"

#include <utility>
#include <variant>

#include "parser/text.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

const char* k_default_path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The instruction → dispatch_* table (FROM never reaches dispatch: it starts a stage).
struct Dispatch {
  StepContext& ctx;
  util::Result<void> operator()(FromInstruction&) { return {}; }
  util::Result<void> operator()(RunInstruction& i) { return dispatch_run(ctx, i); }
  util::Result<void> operator()(CmdInstruction& i) { return dispatch_cmd(ctx, i); }
  util::Result<void> operator()(EntrypointInstruction& i) { return dispatch_entrypoint(ctx, i); }
  util::Result<void> operator()(ShellInstruction& i) { return dispatch_shell(ctx, i); }
  util::Result<void> operator()(HealthcheckInstruction& i) { return dispatch_healthcheck(ctx, i); }
  util::Result<void> operator()(EnvInstruction& i) { return dispatch_env(ctx, i); }
  util::Result<void> operator()(LabelInstruction& i) { return dispatch_label(ctx, i); }
  util::Result<void> operator()(ArgInstruction& i) { return dispatch_arg(ctx, i); }
  util::Result<void> operator()(ExposeInstruction& i) { return dispatch_expose(ctx, i); }
  util::Result<void> operator()(VolumeInstruction& i) { return dispatch_volume(ctx, i); }
  util::Result<void> operator()(UserInstruction& i) { return dispatch_user(ctx, i); }
  util::Result<void> operator()(WorkdirInstruction& i) { return dispatch_workdir(ctx, i); }
  util::Result<void> operator()(StopSignalInstruction& i) { return dispatch_stopsignal(ctx, i); }
  util::Result<void> operator()(MaintainerInstruction& i) { return dispatch_maintainer(ctx, i); }
  util::Result<void> operator()(OnbuildInstruction& i) { return dispatch_onbuild(ctx, i); }
  util::Result<void> operator()(CopyInstruction& i) { return dispatch_copy(ctx, i); }
};

// One command → one step of `out`, in the state `st` (which it may change).
util::Result<void> dispatch_command(const DispatchOptions& options, const Command& c, State& st, Stage& out) {
  Step s;
  s.instruction = c.instruction;
  s.keyword = c.keyword;
  s.range = c.range;
  s.original = c.original;
  s.from_onbuild = c.from_onbuild;
  s.workdir = st.workdir;
  s.user = st.user;
  s.shell = effective_shell(st);
  s.empty_layer = true;
  StepContext ctx{options, c, st, s, out};
  MKIMAGE_TRY_VOID(std::visit(Dispatch{ctx}, s.instruction));
  out.steps.push_back(std::move(s));
  return {};
}

// The state a stage starts in: the base image config (PATH default, config Env
// into the state env, WorkingDir, User, Shell) over `st` (its base stage's).
void start_state(const StageDraft& d, State& st) {
  if ((d.base.kind == StageBase::Kind::image || d.base.kind == StageBase::Kind::context) && d.image_info) {
    st.config_env = d.image_info->env;
    st.workdir = d.image_info->working_dir;
    st.user = d.image_info->user;
    st.shell = d.image_info->shell;
  }
  bool has_path = false;
  for (const auto& e : st.config_env) has_path |= kv_key(e) == "PATH";
  if (!has_path) st.config_env.push_back(k_default_path);
  st.config_env_at.clear();
  for (std::size_t i = 0; i < st.config_env.size(); ++i) st.config_env_at.try_emplace(kv_key(st.config_env[i]), i);
  for (const auto& e : st.config_env) {
    auto eq = e.find('=');
    st.env.set(e.substr(0, eq), eq == std::string::npos ? "" : e.substr(eq + 1));
  }
  st.cmd_set = false;
}

util::Result<void> dispatch_stage(const DispatchOptions& options, const StageDraft& d, State& st, Stage& out) {
  start_state(d, st);
  out.steps.reserve(d.commands.size());
  for (const Command& c : d.commands) MKIMAGE_TRY_VOID(dispatch_command(options, c, st, out));
  out.cmd_set = st.cmd_set;
  out.config_env = st.config_env;
  return {};
}

Stage stage_from_draft(const StageDraft& d) {
  Stage out;
  out.index = d.index;
  out.name = d.from.name;
  out.base = d.base;
  out.from = d.from;
  out.range = d.range;
  out.original = d.original;
  return out;
}

}  // namespace

DispatchOptions::DispatchOptions(const PlanOptions& opts_, const Diag& diag_, const EnvList& global_,
                                 const std::vector<StageDraft>& drafts, char escape)
    : opts(opts_), diag(diag_), global(global_) {
  lex.escape = escape;
  special = std::string("$'\"\\") + escape;
  for (const auto& d : drafts) {
    if (!d.from.name.empty()) names[d.from.name] = d.index;
  }
}

util::Result<std::string> StepContext::word(const std::string& w, const std::string& token) const {
  // Fast path: without `$`, quotes or the escape character the lexer returns
  // the word unchanged.
  if (w.find_first_of(options.special) == std::string::npos) return w;
  auto r = expand_word(w, state.env, options.lex);
  if (!r.ok()) return options.diag.at(command.range, r.error().message, token);
  return r;
}

util::Error StepContext::error(const std::string& message, const std::string& token) const {
  return options.diag.at(command.range, message, token);
}

util::Result<void> StepContext::no_nul(const std::string& what, const std::string& value,
                                       const std::string& raw) const {
  if (value.find('\0') == std::string::npos) return {};
  return error(what + " " + go_quote(value) + " is not a valid path: it contains a NUL byte",
               raw.substr(0, raw.find('\0')));
}

std::string kv_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string go_quote_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += " ";
    out += go_quote(v[i]);
  }
  return out + "]";
}

std::vector<std::string> effective_shell(const State& st) {
  if (!st.shell.empty()) return st.shell;
  return {"/bin/sh", "-c"};
}

std::vector<std::string> with_shell(const State& st, const std::vector<std::string>& args) {
  auto sh = effective_shell(st);
  sh.push_back(join(args, " "));
  return sh;
}

bool is_abs(const std::string& p) { return !p.empty() && p[0] == '/'; }

util::Result<void> dispatch_stages(const Ast& ast, const PlanOptions& opts, const Diag& diag,
                                   std::vector<StageDraft>& drafts, const std::vector<int>& order,
                                   const EnvList& global_args, Plan& plan) {
  DispatchOptions options(opts, diag, global_args, drafts, ast.directives.escape);
  // A stage's final state is kept only until the last stage built on it has
  // copied it (the last one takes it): a chain of N stages holds O(1) states.
  std::map<int, int> uses;
  for (int index : order) {
    const StageDraft& d = drafts[index];
    if (d.base.kind == StageBase::Kind::stage) ++uses[d.base.stage];
  }
  std::map<int, State> final_states;
  for (int index : order) {
    const StageDraft& d = drafts[index];
    Stage out = stage_from_draft(d);
    State st;
    if (d.base.kind == StageBase::Kind::stage) {
      auto it = final_states.find(d.base.stage);
      if (it != final_states.end()) {
        if (--uses[d.base.stage] == 0) {
          st = std::move(it->second);
          final_states.erase(it);
        } else {
          st = it->second;
        }
      }
    }
    MKIMAGE_TRY_VOID(dispatch_stage(options, d, st, out));
    if (uses[index] > 0) final_states[index] = std::move(st);
    plan.stages.push_back(std::move(out));
  }
  return {};
}

}  // namespace mkimage::graph::detail
