#include "builder/image_config.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace mkimage::builder {

using nlohmann::json;

ImageConfig ImageConfig::scratch() {
  ImageConfig c;
  c.m_root = json::object({{"architecture", "amd64"}, {"os", "linux"}});
  c.m_config = json::object();
  c.m_config["Env"] = json::array({std::string("PATH=") + k_default_path});
  return c;
}

ImageConfig ImageConfig::from_base(const json& base) {
  ImageConfig c;
  c.m_root = json::object();
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (it.key() == "config" || it.key() == "rootfs" || it.key() == "history" || it.key() == "created" ||
        it.key() == "container_config" || it.key() == "container")
      continue;
    c.m_root[it.key()] = it.value();
  }
  if (!c.m_root.contains("architecture")) c.m_root["architecture"] = "amd64";
  if (!c.m_root.contains("os")) c.m_root["os"] = "linux";
  if (base.contains("config") && base["config"].is_object()) c.m_config = base["config"];
  if (base.contains("history") && base["history"].is_array()) c.m_history = base["history"];
  if (base.contains("rootfs") && base["rootfs"].contains("diff_ids")) {
    for (const auto& d : base["rootfs"]["diff_ids"]) {
      auto dg = store::Digest::parse(d.get<std::string>());
      if (dg.ok()) c.m_diff_ids.push_back(store::DiffId{*dg});
    }
  }
  if (c.m_config.contains("OnBuild") && c.m_config["OnBuild"].is_array()) {
    for (const auto& t : c.m_config["OnBuild"]) c.m_base_triggers.push_back(t.get<std::string>());
  }
  c.m_config.erase("OnBuild");
  if (!c.env_value("PATH")) {
    if (!c.m_config.contains("Env") || !c.m_config["Env"].is_array()) c.m_config["Env"] = json::array();
    auto& env = c.m_config["Env"];
    env.insert(env.begin(), std::string("PATH=") + k_default_path);
  }
  return c;
}

void ImageConfig::set_env(const std::string& key, const std::string& value) {
  if (!m_config.contains("Env") || !m_config["Env"].is_array()) m_config["Env"] = json::array();
  auto& env = m_config["Env"];
  for (auto& e : env) {
    std::string s = e.get<std::string>();
    auto eq = s.find('=');
    if (s.substr(0, eq) == key) {
      e = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

void ImageConfig::set_workdir(const std::string& p) { m_config["WorkingDir"] = p; }
void ImageConfig::set_user(const std::string& u) { m_config["User"] = u; }

void ImageConfig::add_label(const std::string& key, const std::string& value) {
  if (!m_config.contains("Labels") || !m_config["Labels"].is_object()) m_config["Labels"] = json::object();
  m_config["Labels"][key] = value;
}

void ImageConfig::add_exposed_port(const std::string& port_key) {
  if (!m_config.contains("ExposedPorts") || !m_config["ExposedPorts"].is_object())
    m_config["ExposedPorts"] = json::object();
  m_config["ExposedPorts"][port_key] = json::object();
}

void ImageConfig::add_volume(const std::string& path) {
  if (!m_config.contains("Volumes") || !m_config["Volumes"].is_object()) m_config["Volumes"] = json::object();
  m_config["Volumes"][path] = json::object();
}

void ImageConfig::set_cmd(const std::vector<std::string>& cmd) {
  m_config["Cmd"] = cmd;
  m_cmd_set_in_stage = true;
}

void ImageConfig::set_entrypoint(const std::vector<std::string>& ep) {
  if (ep.empty()) m_config.erase("Entrypoint");
  else m_config["Entrypoint"] = ep;
  // docker: ENTRYPOINT resets a CMD inherited from the base image or parent stage.
  if (!m_cmd_set_in_stage) m_config.erase("Cmd");
}

void ImageConfig::set_healthcheck(const HealthcheckSpec& hc) {
  json h = json::object();
  h["Test"] = hc.test;
  if (hc.interval_ns) h["Interval"] = hc.interval_ns;
  if (hc.timeout_ns) h["Timeout"] = hc.timeout_ns;
  if (hc.start_period_ns) h["StartPeriod"] = hc.start_period_ns;
  if (hc.start_interval_ns) h["StartInterval"] = hc.start_interval_ns;
  if (hc.retries) h["Retries"] = hc.retries;
  m_config["Healthcheck"] = h;
}

void ImageConfig::set_shell(const std::vector<std::string>& shell) { m_config["Shell"] = shell; }
void ImageConfig::set_stopsignal(const std::string& s) { m_config["StopSignal"] = s; }
void ImageConfig::set_maintainer(const std::string& a) { m_root["author"] = a; }

void ImageConfig::add_onbuild(const std::string& trigger) {
  if (!m_config.contains("OnBuild") || !m_config["OnBuild"].is_array()) m_config["OnBuild"] = json::array();
  m_config["OnBuild"].push_back(trigger);
}

std::vector<std::pair<std::string, std::string>> ImageConfig::env() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!m_config.contains("Env") || !m_config["Env"].is_array()) return out;
  for (const auto& e : m_config["Env"]) {
    std::string s = e.get<std::string>();
    auto eq = s.find('=');
    if (eq == std::string::npos) out.emplace_back(s, "");
    else out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

std::optional<std::string> ImageConfig::env_value(const std::string& key) const {
  for (auto& [k, v] : env())
    if (k == key) return v;
  return std::nullopt;
}

std::string ImageConfig::workdir() const {
  if (m_config.contains("WorkingDir") && m_config["WorkingDir"].is_string())
    return m_config["WorkingDir"].get<std::string>();
  return "";
}

std::string ImageConfig::user() const {
  if (m_config.contains("User") && m_config["User"].is_string()) return m_config["User"].get<std::string>();
  return "";
}

std::vector<std::string> ImageConfig::shell() const {
  if (m_config.contains("Shell") && m_config["Shell"].is_array() && !m_config["Shell"].empty())
    return m_config["Shell"].get<std::vector<std::string>>();
  return {"/bin/sh", "-c"};
}

void ImageConfig::add_history(const std::string& created_by, const std::string& created,
                              const std::optional<store::DiffId>& diff_id) {
  json h = json::object();
  h["created"] = created;
  h["created_by"] = created_by;
  h["comment"] = "buildkit.dockerfile.v0";
  if (diff_id) m_diff_ids.push_back(*diff_id);
  else h["empty_layer"] = true;
  m_history.push_back(std::move(h));
}

std::size_t ImageConfig::history_size() const { return m_history.size(); }

json ImageConfig::to_json(const std::string& created) const {
  json j = m_root;
  j["config"] = m_config;
  j["created"] = created;
  j["history"] = m_history;
  json ids = json::array();
  for (const auto& d : m_diff_ids) ids.push_back(d.digest.str());
  j["rootfs"] = json::object({{"type", "layers"}, {"diff_ids", ids}});
  return j;
}

std::string rfc3339(std::int64_t secs, std::int64_t nanos) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s = buf;
  if (nanos > 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nanos));
    std::string f = frac;
    while (!f.empty() && f.back() == '0') f.pop_back();
    s += f;
  }
  return s + "Z";
}

std::string created_time(std::optional<std::int64_t> sde) {
  if (sde) return rfc3339(*sde);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  return rfc3339(ns / 1000000000, ns % 1000000000);
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
    return !s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto dash = port.find('-');
  std::vector<std::string> out;
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
