#include "store/image.hpp"

#include "util/json_text.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mkimage::store {

using nlohmann::json;

// ---- Timestamp ----

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::string Timestamp::str() const {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09d", nanos);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

util::Result<Timestamp> Timestamp::parse(std::string_view text) {
  auto bad = [&] { return util::Error{"invalid RFC 3339 time \"" + std::string(text) + "\""}; };
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int Y, M, D, h, m, s;
  if (!digits(0, 4, Y) || text.size() < 20 || text[4] != '-' || !digits(5, 2, M) || text[7] != '-' ||
      !digits(8, 2, D) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(11, 2, h) ||
      text[13] != ':' || !digits(14, 2, m) || text[16] != ':' || !digits(17, 2, s))
    return bad();
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60) return bad();
  std::size_t pos = 19;
  std::int32_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int n = 0;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 9) {
        nanos = nanos * 10 + (text[pos] - '0');
        ++n;
      }
      ++pos;
    }
    if (pos == start) return bad();
    for (; n < 9; ++n) nanos *= 10;
  }
  std::int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' || !digits(pos + 4, 2, om))
      return bad();
    offset = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  Timestamp t;
  t.seconds = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D)) * 86400 + h * 3600 + m * 60 +
              s - offset;
  t.nanos = nanos;
  return t;
}

Timestamp Timestamp::now() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  return Timestamp{ns / 1000000000, static_cast<std::int32_t>(ns % 1000000000)};
}

// ---- ContainerConfig ----

std::optional<std::string> ContainerConfig::env_value(std::string_view name) const {
  for (const auto& e : env) {
    auto eq = e.find('=');
    std::string_view k = std::string_view(e).substr(0, eq);
    if (k == name) return eq == std::string::npos ? std::string() : e.substr(eq + 1);
  }
  return std::nullopt;
}

void ContainerConfig::set_env(std::string_view name, std::string_view value) {
  std::string entry = std::string(name) + "=" + std::string(value);
  for (auto& e : env) {
    if (std::string_view(e).substr(0, e.find('=')) == name) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

namespace {

json empty_set_object(const std::set<std::string>& s) {
  json o = json::object();
  for (const auto& k : s) o[k] = json::object();
  return o;
}

util::Error type_error(const std::string& what, const std::string& key, const char* want) {
  return util::Error{"invalid " + what + ": \"" + key + "\" is not " + want};
}

util::Result<std::vector<std::string>> string_array(const json& j, const std::string& what, const std::string& key) {
  if (!j.is_array()) return type_error(what, key, "an array of strings");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return type_error(what, key, "an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

util::Result<std::string> string_field(const json& j, const std::string& what, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) return type_error(what, key, "a string");
  return j[key].get<std::string>();
}

util::Result<std::int64_t> int_field(const json& j, const std::string& what, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::int64_t{0};
  if (!j[key].is_number_integer()) return type_error(what, key, "an integer");
  return j[key].get<std::int64_t>();
}

util::Result<std::set<std::string>> key_set(const json& j, const std::string& what, const char* key) {
  std::set<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_object()) return type_error(what, key, "an object");
  for (auto& [k, v] : j[key].items()) out.insert(k);
  return out;
}

util::Result<std::optional<Timestamp>> time_field(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<Timestamp>{};
  if (!j[key].is_string()) return util::Error{std::string("invalid \"") + key + "\": not a string"};
  MKIMAGE_TRY(Timestamp t, Timestamp::parse(j[key].get<std::string>()));
  return std::optional<Timestamp>{t};
}

}  // namespace

json to_json(const ContainerConfig& c) {
  json j = json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = empty_set_object(c.exposed_ports);
  if (!c.env.empty()) j["Env"] = c.env;
  if (c.entrypoint) j["Entrypoint"] = *c.entrypoint;
  if (c.cmd) j["Cmd"] = *c.cmd;
  if (!c.volumes.empty()) j["Volumes"] = empty_set_object(c.volumes);
  if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.args_escaped) j["ArgsEscaped"] = *c.args_escaped;
  if (c.healthcheck) {
    const auto& h = *c.healthcheck;
    json hj = json::object();
    if (!h.test.empty()) hj["Test"] = h.test;
    if (h.interval_ns) hj["Interval"] = h.interval_ns;
    if (h.timeout_ns) hj["Timeout"] = h.timeout_ns;
    if (h.start_period_ns) hj["StartPeriod"] = h.start_period_ns;
    if (h.start_interval_ns) hj["StartInterval"] = h.start_interval_ns;
    if (h.retries) hj["Retries"] = h.retries;
    j["Healthcheck"] = hj;
  }
  if (!c.on_build.empty()) j["OnBuild"] = c.on_build;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  return j;
}

util::Result<ContainerConfig> container_config_from_json(const json& j) {
  const std::string what = "image config \"config\"";
  ContainerConfig c;
  if (j.is_null()) return c;
  if (!j.is_object()) return util::Error{"invalid " + what + ": not an object"};
  MKIMAGE_TRY(c.user, string_field(j, what, "User"));
  MKIMAGE_TRY(c.exposed_ports, key_set(j, what, "ExposedPorts"));
  if (j.contains("Env") && !j["Env"].is_null()) { MKIMAGE_TRY(c.env, string_array(j["Env"], what, "Env")); }
  if (j.contains("Entrypoint") && !j["Entrypoint"].is_null()) {
    if (j["Entrypoint"].is_string()) {
      c.entrypoint = std::vector<std::string>{j["Entrypoint"].get<std::string>()};
    } else {
      MKIMAGE_TRY(auto v, string_array(j["Entrypoint"], what, "Entrypoint"));
      c.entrypoint = std::move(v);
    }
  }
  if (j.contains("Cmd") && !j["Cmd"].is_null()) {
    if (j["Cmd"].is_string()) {
      c.cmd = std::vector<std::string>{j["Cmd"].get<std::string>()};
    } else {
      MKIMAGE_TRY(auto v, string_array(j["Cmd"], what, "Cmd"));
      c.cmd = std::move(v);
    }
  }
  MKIMAGE_TRY(c.volumes, key_set(j, what, "Volumes"));
  MKIMAGE_TRY(c.working_dir, string_field(j, what, "WorkingDir"));
  if (j.contains("Labels") && !j["Labels"].is_null()) {
    if (!j["Labels"].is_object()) return type_error(what, "Labels", "an object");
    for (auto& [k, v] : j["Labels"].items()) {
      if (!v.is_string()) return type_error(what, "Labels." + k, "a string");
      c.labels[k] = v.get<std::string>();
    }
  }
  MKIMAGE_TRY(c.stop_signal, string_field(j, what, "StopSignal"));
  if (j.contains("ArgsEscaped") && j["ArgsEscaped"].is_boolean()) c.args_escaped = j["ArgsEscaped"].get<bool>();
  if (j.contains("Healthcheck") && !j["Healthcheck"].is_null()) {
    const auto& hj = j["Healthcheck"];
    if (!hj.is_object()) return type_error(what, "Healthcheck", "an object");
    HealthConfig h;
    if (hj.contains("Test") && !hj["Test"].is_null()) { MKIMAGE_TRY(h.test, string_array(hj["Test"], what, "Healthcheck.Test")); }
    MKIMAGE_TRY(h.interval_ns, int_field(hj, what, "Interval"));
    MKIMAGE_TRY(h.timeout_ns, int_field(hj, what, "Timeout"));
    MKIMAGE_TRY(h.start_period_ns, int_field(hj, what, "StartPeriod"));
    MKIMAGE_TRY(h.start_interval_ns, int_field(hj, what, "StartInterval"));
    MKIMAGE_TRY(std::int64_t retries, int_field(hj, what, "Retries"));
    h.retries = static_cast<int>(retries);
    c.healthcheck = h;
  }
  if (j.contains("OnBuild") && !j["OnBuild"].is_null()) { MKIMAGE_TRY(c.on_build, string_array(j["OnBuild"], what, "OnBuild")); }
  if (j.contains("Shell") && !j["Shell"].is_null()) { MKIMAGE_TRY(c.shell, string_array(j["Shell"], what, "Shell")); }
  return c;
}

json to_json(const ImageConfig& c) {
  json j = json::object();
  if (c.created) j["created"] = c.created->str();
  if (!c.author.empty()) j["author"] = c.author;
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  if (!c.variant.empty()) j["variant"] = c.variant;
  j["config"] = to_json(c.config);
  json diff_ids = json::array();
  for (const auto& d : c.diff_ids) diff_ids.push_back(d.digest.str());
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  if (!c.history.empty()) {
    json h = json::array();
    for (const auto& e : c.history) {
      json he = json::object();
      if (e.created) he["created"] = e.created->str();
      if (!e.created_by.empty()) he["created_by"] = e.created_by;
      if (!e.author.empty()) he["author"] = e.author;
      if (!e.comment.empty()) he["comment"] = e.comment;
      if (e.empty_layer) he["empty_layer"] = true;
      h.push_back(he);
    }
    j["history"] = h;
  }
  return j;
}

util::Result<ImageConfig> image_config_from_json(const json& j) {
  const std::string what = "image config";
  if (!j.is_object()) return util::Error{"invalid image config: not a JSON object"};
  ImageConfig c;
  MKIMAGE_TRY(c.created, time_field(j, "created"));
  MKIMAGE_TRY(c.author, string_field(j, what, "author"));
  MKIMAGE_TRY(c.architecture, string_field(j, what, "architecture"));
  MKIMAGE_TRY(c.os, string_field(j, what, "os"));
  MKIMAGE_TRY(c.variant, string_field(j, what, "variant"));
  if (j.contains("config")) { MKIMAGE_TRY(c.config, container_config_from_json(j["config"])); }
  if (!j.contains("rootfs") || !j["rootfs"].is_object()) return util::Error{"invalid image config: missing rootfs"};
  const auto& rootfs = j["rootfs"];
  if (!rootfs.contains("type") || !rootfs["type"].is_string() || rootfs["type"].get<std::string>() != "layers")
    return util::Error{"invalid image config: rootfs.type is not \"layers\""};
  if (rootfs.contains("diff_ids") && !rootfs["diff_ids"].is_null()) {
    MKIMAGE_TRY(auto ids, string_array(rootfs["diff_ids"], what, "rootfs.diff_ids"));
    for (const auto& s : ids) {
      MKIMAGE_TRY(Digest d, Digest::parse(s));
      c.diff_ids.push_back(DiffId{d});
    }
  }
  if (j.contains("history") && !j["history"].is_null()) {
    if (!j["history"].is_array()) return type_error(what, "history", "an array");
    for (const auto& he : j["history"]) {
      if (!he.is_object()) return type_error(what, "history[]", "an object");
      HistoryEntry e;
      MKIMAGE_TRY(e.created, time_field(he, "created"));
      MKIMAGE_TRY(e.created_by, string_field(he, what, "created_by"));
      MKIMAGE_TRY(e.author, string_field(he, what, "author"));
      MKIMAGE_TRY(e.comment, string_field(he, what, "comment"));
      e.empty_layer = he.contains("empty_layer") && he["empty_layer"].is_boolean() && he["empty_layer"].get<bool>();
      c.history.push_back(std::move(e));
    }
  }
  return c;
}

std::string serialize(const ImageConfig& c) { return util::json_text(to_json(c)); }

util::Result<ImageConfig> parse_image_config(std::string_view bytes) {
  auto j = json::parse(bytes, nullptr, false);
  if (j.is_discarded()) return util::Error{"invalid image config: not JSON"};
  return image_config_from_json(j);
}

// ---- Manifest ----

json to_json(const Manifest& m) {
  json j = json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = m.media_type.str();
  j["config"] = descriptor_to_json(m.config);
  json layers = json::array();
  for (const auto& l : m.layers) layers.push_back(descriptor_to_json(l));
  j["layers"] = layers;
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j;
}

std::string serialize(const Manifest& m) { return util::json_text(to_json(m)); }

// "schemaVersion": 2, an integer (a string, null or 2.5 is no version 2).
static bool schema_version_2(const json& j) {
  return j.contains("schemaVersion") && j["schemaVersion"].is_number_integer() && j["schemaVersion"].get<std::int64_t>() == 2;
}

util::Result<Manifest> parse_manifest(std::string_view bytes) {
  auto j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return util::Error{"invalid image manifest: not a JSON object"};
  if (!schema_version_2(j)) return util::Error{"invalid image manifest: schemaVersion is not 2"};
  Manifest m;
  if (j.contains("mediaType") && j["mediaType"].is_string()) {
    MKIMAGE_TRY(m.media_type, MediaType::parse(j["mediaType"].get<std::string>()));
    if (!m.media_type.is_manifest())
      return util::Error{"invalid image manifest: mediaType is \"" + m.media_type.str() + "\""};
  }
  if (!j.contains("config")) return util::Error{"invalid image manifest: missing config"};
  MKIMAGE_TRY(m.config, descriptor_from_json(j["config"]));
  if (!j.contains("layers") || !j["layers"].is_array()) return util::Error{"invalid image manifest: missing layers"};
  for (const auto& l : j["layers"]) {
    MKIMAGE_TRY(Descriptor d, descriptor_from_json(l));
    m.layers.push_back(std::move(d));
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto& [k, v] : j["annotations"].items())
      if (v.is_string()) m.annotations[k] = v.get<std::string>();
  }
  return m;
}

// ---- ImageIndex ----

json to_json(const ImageIndex& i) {
  json j = json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = i.media_type.str();
  json ms = json::array();
  for (const auto& d : i.manifests) ms.push_back(descriptor_to_json(d));
  j["manifests"] = ms;
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j;
}

std::string serialize(const ImageIndex& i) { return util::json_text(to_json(i)); }

util::Result<ImageIndex> parse_image_index(std::string_view bytes) {
  auto j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return util::Error{"invalid image index: not a JSON object"};
  if (!schema_version_2(j)) return util::Error{"invalid image index: schemaVersion is not 2"};
  ImageIndex i;
  if (j.contains("mediaType") && j["mediaType"].is_string()) {
    MKIMAGE_TRY(i.media_type, MediaType::parse(j["mediaType"].get<std::string>()));
  }
  if (!j.contains("manifests") || !j["manifests"].is_array()) return util::Error{"invalid image index: missing manifests"};
  for (const auto& m : j["manifests"]) {
    MKIMAGE_TRY(Descriptor d, descriptor_from_json(m));
    i.manifests.push_back(std::move(d));
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto& [k, v] : j["annotations"].items())
      if (v.is_string()) i.annotations[k] = v.get<std::string>();
  }
  return i;
}

}  // namespace mkimage::store
