// RUN (BuildKit dispatchRun, convert_runmount.go): the mounts expanded with
// their defaults, the argv (heredoc forms, then the shell), the process
// environment, the proxy args kept apart and the "|N k=v" history.
#include <algorithm>
#include <map>
#include <optional>

#include "graph/dispatch.hpp"
#include "graph/proxy_args.hpp"
#include "parser/heredoc_word.hpp"
#include "parser/text.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

// Defaults by mount type (secret id and target, ssh id, cache id) and the
// target resolved against the working directory.
util::Result<void> mount_defaults(const StepContext& ctx, MountSpec& mount, const std::string& err_token) {
  if (mount.type == MountSpec::Type::secret) {
    if (mount.id.empty() && !mount.target.empty()) {
      mount.id = mount.target.substr(mount.target.find_last_of('/') + 1);
    }
    if (mount.id.empty()) mount.id = mount.source;  // `source` names the secret too
    if (mount.target.empty() && mount.env.empty()) mount.target = "/run/secrets/" + mount.id;
  } else if (mount.type == MountSpec::Type::ssh) {
    if (mount.id.empty()) mount.id = "default";
  } else if (mount.target.empty()) {
    return ctx.error("mount target is required for " + go_quote(MountSpec::type_name(mount.type)) + " mounts",
                     err_token);
  }
  if (mount.type == MountSpec::Type::cache && mount.id.empty()) mount.id = mount.target;
  if (!mount.target.empty()) {
    std::string target =
        is_abs(mount.target) ? path_clean(mount.target) : path_join("/" + ctx.state.workdir, mount.target);
    if (target == "/") return ctx.error("invalid mount target " + go_quote(target), err_token);
    mount.target = target;
  }
  return {};
}

// Mounts: expand every value, then defaults; from= names a stage or an image.
util::Result<void> dispatch_mounts(StepContext& ctx, RunInstruction& r) {
  r.mounts.clear();
  for (const auto& csv : r.mount_csv) {
    std::string err_token = csv;
    auto m = parse_mount(csv, [&](const std::string& w) -> util::Result<std::string> {
      auto v = expand_word(w, ctx.state.env, ctx.options.lex);
      if (!v.ok()) return util::Error{v.error().message};
      return v;
    });
    if (!m.ok()) return ctx.error(m.error().message, err_token);
    MountSpec mount = *m;
    MKIMAGE_TRY_VOID(ctx.no_nul("mount source", mount.source, err_token));
    MKIMAGE_TRY_VOID(ctx.no_nul("mount target", mount.target, err_token));
    MKIMAGE_TRY_VOID(mount_defaults(ctx, mount, err_token));
    if (!mount.from.empty()) {
      auto it = ctx.options.names.find(ascii_lower(mount.from));
      auto& images = ctx.stage.images_used;
      if (it != ctx.options.names.end()) {
        mount.from_stage = it->second;
      } else if (std::find(images.begin(), images.end(), mount.from) == images.end()) {
        images.push_back(mount.from);
      }
    }
    r.mounts.push_back(mount);
  }
  // BuildKit's default ssh socket targets: /run/buildkit/ssh_agent.N, N the
  // index among the step's ssh mounts.
  int ssh_index = 0;
  for (auto& mount : r.mounts) {
    if (mount.type != MountSpec::Type::ssh) continue;
    if (mount.target.empty()) mount.target = "/run/buildkit/ssh_agent." + std::to_string(ssh_index);
    ++ssh_index;
  }
  return {};
}

// argv (dispatchRun): heredoc forms, then the shell.
util::Result<void> run_argv(StepContext& ctx, RunInstruction& r) {
  std::vector<std::string> args = r.command;
  r.script.reset();
  if (!r.heredocs.empty()) {
    if (args.size() != 1 || !r.shell_form) {
      return ctx.error("parsing produced an invalid run command: " + go_quote_list(args));
    }
    if (parse_heredoc_word(args[0])) {
      const InlineFile& f = r.heredocs[0];
      if (f.content.rfind("#!", 0) == 0) {
        InlineFile script = f;
        r.script = script;
        args = {"/dev/pipes/" + f.name};
      } else {
        args = {f.content};
      }
    } else {
      std::string text = args[0];
      for (const auto& f : r.heredocs) text += "\n" + f.content + f.name;
      args = {text};
    }
  }
  r.argv = r.shell_form ? with_shell(ctx.state, args) : args;
  return {};
}

// runCommandString: "|N k=v " from the stage's build args (duplicates merged),
// which are also the step's build_args.
std::string build_args_history(const State& st, Step& s) {
  std::vector<std::string> kvs;
  std::map<std::string, std::size_t> idx;
  for (const auto& decl : st.build_args) {
    auto v = st.env.get(decl.key);
    std::optional<std::string> value = v ? v : decl.value;
    std::string entry = decl.key + "=" + value.value_or("");
    auto it = idx.find(decl.key);
    if (it != idx.end()) {
      kvs[it->second] = entry;
      s.build_args[it->second].second = value;
    } else {
      idx[decl.key] = kvs.size();
      kvs.push_back(entry);
      s.build_args.emplace_back(decl.key, value);
    }
  }
  if (kvs.empty()) return "";
  return "|" + std::to_string(kvs.size()) + " " + join(kvs, " ") + " ";
}

}  // namespace

util::Result<void> dispatch_run(StepContext& ctx, RunInstruction& r) {
  MKIMAGE_TRY_VOID(dispatch_mounts(ctx, r));
  MKIMAGE_TRY_VOID(run_argv(ctx, r));
  // Environment: state env; proxy build args not declared stay separate.
  Step& s = ctx.step;
  for (const auto& [k, v] : ctx.state.env.vars()) s.env.push_back(k + "=" + v);
  for (auto& kv : proxy_env(ctx.options.opts.build_args)) {
    if (!ctx.state.env.get(kv_key(kv))) s.proxy_env.push_back(std::move(kv));
  }
  std::string history = build_args_history(ctx.state, s);
  s.created_by = "RUN " + history + join(r.argv, " ") + " # buildkit";
  s.empty_layer = false;
  return {};
}

}  // namespace mkimage::graph::detail
