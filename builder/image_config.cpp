#include "builder/image_config.hpp"

#include <algorithm>
#include <cctype>

#include "builder/runtime.hpp"  // k_default_path

namespace mkimage::builder {

ConfigState ConfigState::scratch() {
  ConfigState c;
  c.m_config.architecture = "amd64";
  c.m_config.os = "linux";
  c.m_config.config.env = {std::string("PATH=") + k_default_path};
  c.m_config.config.working_dir = "/";  // BuildKit writes WorkingDir "/" when none is set
  return c;
}

ConfigState ConfigState::from_base(const store::ImageConfig& base) {
  ConfigState c;
  c.m_config = base;
  c.m_config.created.reset();
  c.m_base_triggers = std::move(c.m_config.config.on_build);
  c.m_config.config.on_build.clear();
  if (!c.env_value("PATH")) {
    auto& env = c.m_config.config.env;
    env.insert(env.begin(), std::string("PATH=") + k_default_path);
  }
  if (c.m_config.config.working_dir.empty()) c.m_config.config.working_dir = "/";
  return c;
}

ConfigState ConfigState::from_stage(const ConfigState& stage) {
  // A stage used as a base behaves like an image: its ONBUILD triggers run in
  // the new stage (the planner puts them first) and are not inherited.
  ConfigState c;
  c.m_config = stage.m_config;
  c.m_base_triggers = std::move(c.m_config.config.on_build);
  c.m_config.config.on_build.clear();
  return c;
}

void ConfigState::set_env(const std::string& key, const std::string& value) {
  auto& env = m_config.config.env;
  if (!m_env_indexed) {
    m_env_at.clear();
    for (std::size_t i = 0; i < env.size(); ++i) m_env_at.try_emplace(env[i].substr(0, env[i].find('=')), i);
    m_env_indexed = true;
  }
  auto [it, added] = m_env_at.try_emplace(key, env.size());
  if (added) env.push_back(key + "=" + value);
  else env[it->second] = key + "=" + value;
}
void ConfigState::set_workdir(const std::string& p) { m_config.config.working_dir = p; }
void ConfigState::set_user(const std::string& u) { m_config.config.user = u; }
void ConfigState::add_label(const std::string& k, const std::string& v) { m_config.config.labels[k] = v; }
void ConfigState::add_exposed_port(const std::string& p) { m_config.config.exposed_ports.insert(p); }
void ConfigState::add_volume(const std::string& p) { m_config.config.volumes.insert(p); }

void ConfigState::set_cmd(const std::vector<std::string>& cmd) {
  m_config.config.cmd = cmd;
  m_cmd_set_in_stage = true;
}

void ConfigState::set_entrypoint(const std::vector<std::string>& ep) {
  if (ep.empty()) m_config.config.entrypoint.reset();
  else m_config.config.entrypoint = ep;
  // docker: ENTRYPOINT resets a CMD inherited from the base image or parent stage.
  if (!m_cmd_set_in_stage) m_config.config.cmd.reset();
}

void ConfigState::set_healthcheck(const store::HealthConfig& hc) { m_config.config.healthcheck = hc; }
void ConfigState::set_shell(const std::vector<std::string>& s) { m_config.config.shell = s; }
void ConfigState::set_stopsignal(const std::string& s) { m_config.config.stop_signal = s; }
void ConfigState::set_maintainer(const std::string& a) { m_config.author = a; }
void ConfigState::add_onbuild(const std::string& t) { m_config.config.on_build.push_back(t); }

std::vector<std::pair<std::string, std::string>> ConfigState::env() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : m_config.config.env) {
    auto eq = s.find('=');
    if (eq == std::string::npos) out.emplace_back(s, "");
    else out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

std::optional<std::string> ConfigState::env_value(const std::string& key) const {
  for (auto& [k, v] : env())
    if (k == key) return v;
  return std::nullopt;
}

void ConfigState::add_history(const std::string& created_by, const std::optional<store::Timestamp>& created,
                              const std::optional<store::DiffId>& diff_id) {
  if (diff_id && created) {
    // metadata entries that had no time yet take this layer's (BuildKit's
    // normalizeLayersAndHistory: "the first new layer time")
    for (auto it = m_config.history.rbegin(); it != m_config.history.rend() && !it->created; ++it) it->created = created;
  }
  store::HistoryEntry h;
  h.created = created;
  h.created_by = created_by;
  h.comment = "buildkit.dockerfile.v0";
  if (diff_id) m_config.diff_ids.push_back(*diff_id);
  else h.empty_layer = true;
  m_config.history.push_back(std::move(h));
}

store::ImageConfig ConfigState::finish(const std::optional<store::Timestamp>& created) const {
  store::ImageConfig c = m_config;
  c.created = created;
  return c;
}

store::Timestamp created_time(std::optional<std::int64_t> sde) {
  if (sde) return store::Timestamp{*sde, 0};
  return store::Timestamp::now();
}

std::optional<std::vector<std::string>> expose_keys(const std::string& word) {
  std::string port = word, proto = "tcp";
  auto slash = word.find('/');
  if (slash != std::string::npos) {
    port = word.substr(0, slash);
    proto = word.substr(slash + 1);
    for (auto& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (proto != "tcp" && proto != "udp" && proto != "sctp") return std::nullopt;
  }
  auto is_num = [](const std::string& s) {
    return !s.empty() && s.size() <= 5 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::vector<std::string> out;
  auto dash = port.find('-');
  if (dash == std::string::npos) {
    if (!is_num(port) || std::stol(port) > 65535) return std::nullopt;
    out.push_back(std::to_string(std::stol(port)) + "/" + proto);
    return out;
  }
  std::string a = port.substr(0, dash), b = port.substr(dash + 1);
  if (!is_num(a) || !is_num(b)) return std::nullopt;
  long lo = std::stol(a), hi = std::stol(b);
  if (lo > hi || hi > 65535) return std::nullopt;
  for (long p = lo; p <= hi; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

}  // namespace mkimage::builder
