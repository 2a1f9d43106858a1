// Text and JSON renderings of a Plan (`mkimage debug plan`; JSON schema in
// docs/plan-json.md).
#include <nlohmann/json.hpp>

#include "util/json_text.hpp"
#include "graph/plan.hpp"

namespace mkimage::graph {

using namespace parser;

namespace {

using nlohmann::ordered_json;

const char* base_kind(StageBase::Kind k) {
  switch (k) {
    case StageBase::Kind::scratch: return "scratch";
    case StageBase::Kind::image: return "image";
    case StageBase::Kind::stage: return "stage";
    case StageBase::Kind::context: return "context";
  }
  return "scratch";
}

const char* edge_kind(StageEdge::Kind k) {
  switch (k) {
    case StageEdge::Kind::base: return "base";
    case StageEdge::Kind::copy_from: return "copy_from";
    case StageEdge::Kind::mount_from: return "mount_from";
  }
  return "base";
}

ordered_json inline_files(const std::vector<InlineFile>& files) {
  ordered_json a = ordered_json::array();
  for (const auto& f : files) {
    a.push_back({{"name", f.name}, {"content", f.content}, {"expand", f.expand}, {"strip_tabs", f.strip_tabs}});
  }
  return a;
}

ordered_json kvs(const std::vector<KeyValue>& pairs) {
  ordered_json a = ordered_json::array();
  for (const auto& kv : pairs) a.push_back({{"key", kv.key}, {"value", kv.value}});
  return a;
}

template <typename T>
ordered_json opt(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json run_json(const RunInstruction& v) {
  ordered_json mounts = ordered_json::array();
  for (const auto& m : v.mounts) {
    mounts.push_back({{"type", MountSpec::type_name(m.type)},
                      {"from", m.from},
                      {"from_stage", m.from_stage},
                      {"source", m.source},
                      {"target", m.target},
                      {"read_only", m.read_only},
                      {"id", m.id},
                      {"sharing", m.sharing},
                      {"required", m.required},
                      {"mode", opt(m.mode)},
                      {"uid", opt(m.uid)},
                      {"gid", opt(m.gid)},
                      {"size", opt(m.size)},
                      {"env", m.env}});
  }
  const char* net = v.network == NetworkMode::none ? "none" : v.network == NetworkMode::host ? "host" : "default";
  return {{"command", v.command},
          {"shell_form", v.shell_form},
          {"heredocs", inline_files(v.heredocs)},
          {"mounts", mounts},
          {"network", net},
          {"security", v.security == SecurityMode::insecure ? "insecure" : "sandbox"},
          {"argv", v.argv},
          {"script", v.script ? inline_files({*v.script})[0] : ordered_json(nullptr)}};
}

ordered_json copy_json(const CopyInstruction& v) {
  return {{"add", v.add},
          {"sources", v.sources},
          {"inline_sources", inline_files(v.inline_sources)},
          {"dest", v.dest},
          {"resolved_dest", v.resolved_dest},
          {"from", v.from},
          {"from_stage", v.from_stage},
          {"from_image", v.from_image},
          {"chown", v.chown},
          {"chmod", v.chmod},
          {"chmod_mode", opt(v.chmod_mode)},
          {"link", v.link},
          {"parents", v.parents},
          {"excludes", v.excludes},
          {"checksum", v.checksum},
          {"keep_git_dir", opt(v.keep_git_dir)},
          {"unpack", opt(v.unpack)}};
}

ordered_json instruction_json(const Instruction& ins) {
  ordered_json j;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, FromInstruction>) {
          j = {{"image", v.image}, {"name", v.name}, {"platform", v.platform}};
        } else if constexpr (std::is_same_v<T, RunInstruction>) {
          j = run_json(v);
        } else if constexpr (std::is_same_v<T, CmdInstruction>) {
          j = {{"command", v.command}, {"shell_form", v.shell_form}, {"argv", v.argv}};
        } else if constexpr (std::is_same_v<T, EntrypointInstruction>) {
          j = {{"command", v.command}, {"shell_form", v.shell_form}, {"argv", v.argv}, {"clears_cmd", v.clears_cmd}};
        } else if constexpr (std::is_same_v<T, ShellInstruction>) {
          j = {{"shell", v.shell}};
        } else if constexpr (std::is_same_v<T, HealthcheckInstruction>) {
          j = {{"test", v.test},
               {"interval_ns", v.interval_ns},
               {"timeout_ns", v.timeout_ns},
               {"start_period_ns", v.start_period_ns},
               {"start_interval_ns", v.start_interval_ns},
               {"retries", v.retries}};
        } else if constexpr (std::is_same_v<T, EnvInstruction> || std::is_same_v<T, LabelInstruction>) {
          j = {{"pairs", kvs(v.pairs)}};
        } else if constexpr (std::is_same_v<T, ArgInstruction>) {
          ordered_json a = ordered_json::array();
          for (const auto& d : v.args) a.push_back({{"key", d.key}, {"value", opt(d.value)}});
          j = {{"args", a}};
        } else if constexpr (std::is_same_v<T, ExposeInstruction>) {
          j = {{"ports", v.ports}, {"port_keys", v.port_keys}};
        } else if constexpr (std::is_same_v<T, VolumeInstruction>) {
          j = {{"volumes", v.volumes}};
        } else if constexpr (std::is_same_v<T, UserInstruction>) {
          j = {{"user", v.user}};
        } else if constexpr (std::is_same_v<T, WorkdirInstruction>) {
          j = {{"path", v.path}, {"resolved", v.resolved}};
        } else if constexpr (std::is_same_v<T, StopSignalInstruction>) {
          j = {{"signal", v.signal}};
        } else if constexpr (std::is_same_v<T, MaintainerInstruction>) {
          j = {{"maintainer", v.maintainer}};
        } else if constexpr (std::is_same_v<T, OnbuildInstruction>) {
          j = {{"expression", v.expression}};
        } else if constexpr (std::is_same_v<T, CopyInstruction>) {
          j = copy_json(v);
        }
      },
      ins);
  return j;
}

ordered_json range_json(const SourceRange& r) {
  return {{"start_line", r.start_line}, {"start_col", r.start_col}, {"end_line", r.end_line}, {"end_col", r.end_col}};
}

std::string json_array_text(const std::vector<std::string>& v) { return util::json_text(ordered_json(v)); }

}  // namespace

std::string format_plan_json(const Plan& plan) {
  ordered_json j;
  j["target"] = plan.target;
  ordered_json globals = ordered_json::array();
  for (const auto& [k, v] : plan.global_args) globals.push_back({{"name", k}, {"value", v}});
  j["global_args"] = globals;
  ordered_json stages = ordered_json::array();
  for (const auto& st : plan.stages) {
    ordered_json s;
    s["index"] = st.index;
    s["name"] = st.name;
    s["base"] = {{"kind", base_kind(st.base.kind)},
                 {"image", st.base.image},
                 {"stage", st.base.stage},
                 {"platform", st.base.platform}};
    s["range"] = range_json(st.range);
    s["original"] = st.original;
    s["cmd_set"] = st.cmd_set;
    s["images_used"] = st.images_used;
    s["config_env"] = st.config_env;
    ordered_json steps = ordered_json::array();
    for (const auto& step : st.steps) {
      ordered_json sj;
      sj["keyword"] = step.keyword;
      sj["range"] = range_json(step.range);
      sj["original"] = step.original;
      sj["from_onbuild"] = step.from_onbuild;
      sj["created_by"] = step.created_by;
      sj["adds_history"] = step.adds_history;
      sj["empty_layer"] = step.empty_layer;
      sj["workdir"] = step.workdir;
      sj["user"] = step.user;
      sj["shell"] = step.shell;
      sj["env"] = step.env;
      sj["proxy_env"] = step.proxy_env;
      ordered_json bargs = ordered_json::array();
      for (const auto& [k, v] : step.build_args) bargs.push_back({{"name", k}, {"value", opt(v)}});
      sj["build_args"] = bargs;
      sj["instruction"] = instruction_json(step.instruction);
      steps.push_back(sj);
    }
    s["steps"] = steps;
    stages.push_back(s);
  }
  j["stages"] = stages;
  ordered_json edges = ordered_json::array();
  for (const auto& e : plan.edges) {
    edges.push_back({{"from", e.from}, {"to", e.to}, {"kind", edge_kind(e.kind)}, {"step", e.step}});
  }
  j["edges"] = edges;
  j["unused_build_args"] = plan.unused_build_args;
  ordered_json warnings = ordered_json::array();
  for (const auto& w : plan.warnings) warnings.push_back({{"line", w.line}, {"rule", w.rule}, {"message", w.message}});
  j["warnings"] = warnings;
  return util::json_text(j, 2) + "\n";
}

std::string format_plan_text(const Plan& plan) {
  std::string out;
  auto stage_label = [&](int index) {
    const Stage* s = plan.find_stage(index);
    std::string name = s ? s->display_name() : "stage-" + std::to_string(index);
    return "stage " + std::to_string(index) + " (" + name + ")";
  };
  for (const auto& st : plan.stages) {
    out += stage_label(st.index) + ": FROM ";
    switch (st.base.kind) {
      case StageBase::Kind::scratch: out += "scratch"; break;
      case StageBase::Kind::image: out += "image " + st.base.image; break;
      case StageBase::Kind::stage: out += stage_label(st.base.stage); break;
      case StageBase::Kind::context:
        out += "context " + st.base.image + (st.base.replaces_stage ? " (replaces the stage)" : "");
        break;
    }
    if (!st.base.platform.empty()) out += " --platform=" + st.base.platform;
    out += "  [line " + std::to_string(st.range.start_line) + "]\n";
    for (std::size_t i = 0; i < st.steps.size(); ++i) {
      const Step& s = st.steps[i];
      std::string text = s.original.empty() ? s.keyword : s.original;
      auto nl = text.find('\n');
      if (nl != std::string::npos) text = text.substr(0, nl) + " ...";
      out += "  " + std::to_string(i + 1) + ". " + text + (s.from_onbuild ? "  (ONBUILD trigger)" : "") +
             "  [line " + std::to_string(s.range.start_line) +
             (s.range.end_line > s.range.start_line ? "-" + std::to_string(s.range.end_line) : "") + "]\n";
      if (s.adds_history) out += "     created_by: " + s.created_by + (s.empty_layer ? "" : "  (layer)") + "\n";
      if (const auto* r = std::get_if<RunInstruction>(&s.instruction)) {
        out += "     argv: " + json_array_text(r->argv) + "\n";
        if (!s.workdir.empty()) out += "     workdir: " + s.workdir + "\n";
        if (!s.user.empty()) out += "     user: " + s.user + "\n";
        out += "     env: " + json_array_text(s.env) + "\n";
        if (!s.proxy_env.empty()) out += "     proxy env: " + json_array_text(s.proxy_env) + "\n";
        for (const auto& m : r->mounts) {
          out += std::string("     mount: type=") + MountSpec::type_name(m.type) + " target=" + m.target +
                 (m.from.empty() ? "" : " from=" + m.from) + (m.source.empty() ? "" : " source=" + m.source) +
                 (m.id.empty() ? "" : " id=" + m.id) + (m.read_only ? " ro" : " rw") + "\n";
        }
        if (r->script) out += "     script: /dev/pipes/" + r->script->name + "\n";
      } else if (const auto* c = std::get_if<CopyInstruction>(&s.instruction)) {
        std::string from = c->from_stage >= 0 ? stage_label(c->from_stage)
                           : !c->from_image.empty() ? "image " + c->from_image
                                                    : "build context";
        out += "     from: " + from + "  dest: " + c->resolved_dest + "\n";
      } else if (const auto* w = std::get_if<WorkdirInstruction>(&s.instruction)) {
        (void)w;
      } else if (const auto* e = std::get_if<EntrypointInstruction>(&s.instruction)) {
        if (e->clears_cmd) out += "     clears inherited CMD\n";
      } else if (const auto* x = std::get_if<ExposeInstruction>(&s.instruction)) {
        out += "     ports: " + json_array_text(x->port_keys) + "\n";
      }
    }
    out += "  config env: " + json_array_text(st.config_env) + "\n";
  }
  out += "edges:\n";
  if (plan.edges.empty()) out += "  (none)\n";
  for (const auto& e : plan.edges) {
    out += "  " + stage_label(e.from) + " -> " + stage_label(e.to) + "  " + edge_kind(e.kind) +
           (e.step >= 0 ? " (step " + std::to_string(e.step + 1) + ")" : "") + "\n";
  }
  out += "target: " + stage_label(plan.target) + "\n";
  for (const auto& w : plan.warnings) {
    out += "warning: " + (w.line > 0 ? "line " + std::to_string(w.line) + ": " : "") + w.message + "\n";
  }
  return out;
}

}  // namespace mkimage::graph
