#include "graph/key_inputs.hpp"

#include <sstream>

#include "util/overloaded.hpp"

namespace mkimage::graph {

using util::overloaded;

namespace {

std::vector<std::pair<std::string, std::string>> split_env(const std::vector<std::string>& env) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : env) {
    auto eq = e.find('=');
    if (eq == std::string::npos) out.emplace_back(e, "");
    else out.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  return out;
}

std::string healthcheck_times(const parser::HealthcheckInstruction& i) {
  return std::to_string(i.interval_ns) + "," + std::to_string(i.timeout_ns) + "," +
         std::to_string(i.start_period_ns) + "," + std::to_string(i.start_interval_ns) + "," +
         std::to_string(i.retries);
}

}  // namespace

std::optional<std::vector<std::string>> metadata_key_args(const Step& step) {
  using Args = std::optional<std::vector<std::string>>;
  return std::visit(
      overloaded{
          [](const parser::EnvInstruction& i) -> Args {
            std::vector<std::string> a;
            for (const auto& kv : i.pairs) a.push_back(kv.key + "=" + kv.value);
            return a;
          },
          [](const parser::ArgInstruction& i) -> Args {
            std::vector<std::string> a;
            for (const auto& x : i.args) a.push_back(x.value ? x.key + "=" + *x.value : x.key);
            return a;
          },
          [](const parser::LabelInstruction& i) -> Args {
            std::vector<std::string> a;
            for (const auto& kv : i.pairs) a.push_back(kv.key + "=" + kv.value);
            return a;
          },
          [](const parser::ExposeInstruction& i) -> Args { return i.port_keys; },
          [](const parser::VolumeInstruction& i) -> Args { return i.volumes; },
          [](const parser::UserInstruction& i) -> Args { return std::vector<std::string>{i.user}; },
          [](const parser::CmdInstruction& i) -> Args { return i.argv; },
          [](const parser::EntrypointInstruction& i) -> Args { return i.argv; },
          [](const parser::HealthcheckInstruction& i) -> Args {
            std::vector<std::string> a = i.test;
            a.push_back(healthcheck_times(i));
            return a;
          },
          [](const parser::ShellInstruction& i) -> Args { return i.shell; },
          [](const parser::StopSignalInstruction& i) -> Args { return std::vector<std::string>{i.signal}; },
          [](const parser::MaintainerInstruction& i) -> Args { return std::vector<std::string>{i.maintainer}; },
          [](const parser::OnbuildInstruction& i) -> Args { return std::vector<std::string>{i.expression}; },
          [](const auto&) -> Args { return std::nullopt; },
      },
      step.instruction);
}

std::string run_network_name(parser::NetworkMode mode, const std::string& build_default) {
  switch (mode) {
    case parser::NetworkMode::none: return "none";
    case parser::NetworkMode::host: return "host";
    default: return build_default.empty() ? "default" : build_default;
  }
}

RunKeyInputs run_key_inputs(const Step& step, const std::string& build_default_network) {
  const auto& run = std::get<parser::RunInstruction>(step.instruction);
  RunKeyInputs in;
  in.argv = run.argv;
  for (const auto& hd : run.heredocs) in.heredocs.push_back(hd.name + std::string(1, '\0') + hd.content);
  if (run.script) in.heredocs.push_back("script:" + run.script->name + std::string(1, '\0') + run.script->content);
  in.env = split_env(step.env);
  in.user = step.user;
  in.workdir = step.workdir.empty() ? "/" : step.workdir;
  in.network = run_network_name(run.network, build_default_network);
  in.security = run.security == parser::SecurityMode::insecure ? "insecure" : "sandbox";
  return in;
}

bool mount_keys_source(const parser::MountSpec& m) {
  return m.type == parser::MountSpec::Type::bind || (m.type == parser::MountSpec::Type::cache && !m.from.empty());
}

std::string mount_key_text(const parser::MountSpec& m, const std::string& source) {
  std::ostringstream k;
  k << "type=" << parser::MountSpec::type_name(m.type) << ",target=" << m.target;
  if (m.type == parser::MountSpec::Type::secret || m.type == parser::MountSpec::Type::ssh) {
    k << ",id=" << m.id << ",env=" << m.env << ",required=" << m.required;
    if (m.type == parser::MountSpec::Type::ssh) {
      // The socket's owner and mode, never the agent or its keys.
      if (m.uid) k << ",uid=" << *m.uid;
      if (m.gid) k << ",gid=" << *m.gid;
      if (m.mode) k << ",mode=" << *m.mode;
    }
    return k.str();
  }
  k << ",id=" << m.id << ",sharing=" << m.sharing << ",source=" << m.source << ",readonly=" << m.read_only;
  if (m.uid) k << ",uid=" << *m.uid;
  if (m.gid) k << ",gid=" << *m.gid;
  if (m.mode) k << ",mode=" << *m.mode;
  if (m.size) k << ",size=" << *m.size;
  if (!source.empty()) k << ",from=" << source;
  return k.str();
}

CopyKeyInputs copy_key_inputs(const Step& step) {
  const auto& c = std::get<parser::CopyInstruction>(step.instruction);
  CopyKeyInputs in;
  in.is_add = c.add;
  in.dest = c.dest;
  in.workdir = step.workdir.empty() ? "/" : step.workdir;
  in.chown = c.chown;
  in.chmod = c.chmod;
  in.link = c.link;
  in.parents = c.parents;
  in.unpack = c.unpack.value_or(true);
  in.excludes = c.excludes;
  in.sources = c.sources;
  for (const auto& f : c.inline_sources) in.heredocs.push_back(f.name + std::string(1, '\0') + f.content);
  in.checksum = c.checksum;
  return in;
}

std::string workdir_path(const Step& step) {
  const auto& w = std::get<parser::WorkdirInstruction>(step.instruction);
  return w.resolved.empty() ? w.path : w.resolved;
}

}  // namespace mkimage::graph
