// ENV, ARG, LABEL, USER, WORKDIR, SHELL: the instructions that set the state
// later steps run in (BuildKit dispatchEnv, dispatchArg, dispatchLabel,
// dispatchUser, dispatchWorkdir, dispatchShell).
#include "graph/dispatch.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

// Sets K=V in the config Env, replacing K in place (O(1): config_env_at).
void add_config_env(State& st, const std::string& k, const std::string& v) {
  auto [it, added] = st.config_env_at.try_emplace(k, st.config_env.size());
  if (added) {
    st.config_env.push_back(k + "=" + v);
  } else {
    st.config_env[it->second] = k + "=" + v;
  }
}

}  // namespace

util::Result<void> dispatch_env(StepContext& ctx, EnvInstruction& e) {
  // All pairs are expanded against the environment before this ENV.
  for (auto& kv : e.pairs) {
    MKIMAGE_TRY(kv.key, ctx.word(kv.key, kv.key));
    MKIMAGE_TRY(kv.value, ctx.word(kv.value, kv.value));
  }
  std::string msg = "ENV";
  for (const auto& kv : e.pairs) {
    msg += " " + kv.key + "=" + kv.value;
    ctx.state.env.set(kv.key, kv.value);
    add_config_env(ctx.state, kv.key, kv.value);
  }
  ctx.step.created_by = msg;
  return {};
}

util::Result<void> dispatch_label(StepContext& ctx, LabelInstruction& l) {
  std::string msg = "LABEL";
  for (auto& kv : l.pairs) {
    MKIMAGE_TRY(kv.key, ctx.word(kv.key, kv.key));
    MKIMAGE_TRY(kv.value, ctx.word(kv.value, kv.value));
    msg += " " + kv.key + "=" + kv.value;
  }
  ctx.step.created_by = msg;
  return {};
}

// The value: --build-arg, else the default (expanded), else the global ARG's.
util::Result<void> dispatch_arg(StepContext& ctx, ArgInstruction& a) {
  const auto& build_args = ctx.options.opts.build_args;
  std::vector<std::string> parts;
  for (auto& decl : a.args) {
    auto given = build_args.find(decl.key);
    bool has_value = given != build_args.end();
    bool has_default = decl.value.has_value();
    if (!has_default && !has_value) {
      if (auto g = ctx.options.global.get(decl.key)) decl.value = *g;
    }
    if (has_value) {
      decl.value = given->second;
    } else if (has_default) {
      MKIMAGE_TRY(decl.value, ctx.word(*decl.value, decl.key));
    }
    if (decl.value && decl.key != "BUILDKIT_SBOM_SCAN_CONTEXT" && decl.key != "BUILDKIT_SBOM_SCAN_STAGE") {
      ctx.state.env.set(decl.key, *decl.value);
    }
    ctx.state.build_args.push_back(decl);
    parts.push_back(decl.value ? decl.key + "=" + *decl.value : decl.key);
  }
  ctx.step.created_by = "ARG " + join(parts, " ");
  return {};
}

util::Result<void> dispatch_user(StepContext& ctx, UserInstruction& u) {
  MKIMAGE_TRY(u.user, ctx.word(u.user));
  ctx.state.user = u.user;
  ctx.step.created_by = "USER " + u.user;
  return {};
}

util::Result<void> dispatch_workdir(StepContext& ctx, WorkdirInstruction& w) {
  std::string raw_workdir = w.path;
  MKIMAGE_TRY(w.path, ctx.word(w.path));
  if (w.path.empty()) return ctx.error("normalizing workdir: cannot normalize nothing");
  MKIMAGE_TRY_VOID(ctx.no_nul("WORKDIR", w.path, raw_workdir));
  w.resolved = is_abs(w.path) ? w.path : path_join("/" + ctx.state.workdir, w.path);
  ctx.state.workdir = w.resolved;
  ctx.step.created_by = "WORKDIR " + w.resolved;
  ctx.step.empty_layer = w.resolved == "/";
  return {};
}

util::Result<void> dispatch_shell(StepContext& ctx, ShellInstruction& sh) {
  ctx.state.shell = sh.shell;
  ctx.step.created_by = "SHELL [" + join(sh.shell, " ") + "]";
  return {};
}

}  // namespace mkimage::graph::detail
