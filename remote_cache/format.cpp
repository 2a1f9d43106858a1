#include "remote_cache/format.hpp"

#include "util/json_text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "store/media_type.hpp"

namespace mkimage::remote_cache {

using nlohmann::json;
using util::Error;
using util::Result;

namespace {

json record_json(const Record& r) {
  json j = json::object();
  j["key"] = r.key;
  j["diff_id"] = r.diff_id ? json(r.diff_id->digest.str()) : json(nullptr);
  j["created"] = r.created;
  return j;
}

Result<Record> record_from(const json& j) {
  if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
    return Error{"a record without a key"};
  Record r;
  r.key = j["key"].get<std::string>();
  if (!store::Digest::parse(r.key).ok()) return Error{"record key \"" + r.key + "\" is not a digest"};
  if (j.contains("diff_id") && !j["diff_id"].is_null()) {
    if (!j["diff_id"].is_string()) return Error{"record " + r.key + ": diff_id is not a string"};
    auto d = store::Digest::parse(j["diff_id"].get<std::string>());
    if (!d.ok()) return Error{"record " + r.key + ": " + d.error().message};
    r.diff_id = store::DiffId{*d};
  }
  if (j.contains("created") && j["created"].is_string()) r.created = j["created"].get<std::string>();
  return r;
}

Result<Layer> layer_from(const json& j) {
  if (!j.is_object() || !j.contains("diff_id") || !j["diff_id"].is_string() || !j.contains("blob"))
    return Error{"a layer without diff_id or blob"};
  Layer l;
  auto d = store::Digest::parse(j["diff_id"].get<std::string>());
  if (!d.ok()) return Error{"layer diff_id: " + d.error().message};
  l.diff_id = store::DiffId{*d};
  MKIMAGE_TRY(l.blob, store::descriptor_from_json(j["blob"]));
  if (j.contains("size") && j["size"].is_number_integer()) l.size = j["size"].get<std::int64_t>();
  return l;
}

json layers_of_manifest(std::string_view bytes) {
  json m = json::parse(bytes, nullptr, false);
  if (!m.is_object() || !m.contains("layers") || !m["layers"].is_array()) return json::array();
  return m["layers"];
}

}  // namespace

std::string serialize(const RecordSet& set) {
  std::vector<Record> records = set.records;
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  json j = json::object();
  j["version"] = set.version;
  j["records"] = json::array();
  for (const auto& r : records) j["records"].push_back(record_json(r));
  if (!set.layers.empty()) {
    j["layers"] = json::array();
    for (const auto& l : set.layers) {
      json e = {{"diff_id", l.diff_id.digest.str()}, {"blob", store::descriptor_to_json(l.blob)}};
      if (l.size > 0) e["size"] = l.size;
      j["layers"].push_back(e);
    }
  }
  if (!set.mounts.empty()) {
    j["mounts"] = json::array();
    for (const auto& m : set.mounts) j["mounts"].push_back({{"id", m.id}, {"layer", m.layer}});
  }
  return util::json_text(j);
}

Result<RecordSet> parse_record_set(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Error{"the cache record set is not a JSON object"};
  if (!j.contains("version") || !j["version"].is_number_integer())
    return Error{"the cache record set has no format version"};
  // Read wide: a version that wraps to 1 as an int is not version 1.
  const json& v = j["version"];
  std::string version = v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>()) : std::to_string(v.get<std::int64_t>());
  if (version != std::to_string(k_format_version))
    return Error{"cache format version " + version + " is not supported (this mkimage reads version " +
                 std::to_string(k_format_version) + ")"};
  RecordSet set;
  if (!j.contains("records") || !j["records"].is_array()) return Error{"the cache record set has no records"};
  std::set<std::string> seen;
  for (const auto& r : j["records"]) {
    MKIMAGE_TRY(Record rec, record_from(r));
    if (!seen.insert(rec.key).second) return Error{"record " + rec.key + " appears twice"};
    set.records.push_back(std::move(rec));
  }
  if (j.contains("layers")) {
    if (!j["layers"].is_array()) return Error{"the cache record set's layers are not a list"};
    for (const auto& l : j["layers"]) {
      MKIMAGE_TRY(Layer layer, layer_from(l));
      set.layers.push_back(std::move(layer));
    }
  }
  if (j.contains("mounts") && j["mounts"].is_array()) {
    for (const auto& m : j["mounts"]) {
      if (!m.is_object() || !m.contains("id") || !m["id"].is_string() || !m.contains("layer") ||
          !m["layer"].is_number_unsigned())
        return Error{"a cache mount entry without id or layer"};
      Mount mount{m["id"].get<std::string>(), m["layer"].get<std::size_t>()};
      if (mount.layer >= set.layers.size()) return Error{"cache mount " + mount.id + " names a layer that does not exist"};
      set.mounts.push_back(std::move(mount));
    }
  }
  return set;
}

std::string manifest_json(const RecordSet& set, const std::string& config_bytes) {
  json m = json::object();
  m["schemaVersion"] = 2;
  m["mediaType"] = store::media_types::oci_manifest;
  m["artifactType"] = std::string(k_artifact_type);
  store::Descriptor config{store::MediaType::of(std::string(k_config_media_type)), store::Digest::sha256_of(config_bytes),
                           static_cast<std::int64_t>(config_bytes.size()), {}, std::nullopt};
  m["config"] = store::descriptor_to_json(config);
  m["layers"] = json::array();
  for (const auto& l : set.layers) m["layers"].push_back(store::descriptor_to_json(l.blob));
  return util::json_text(m);
}

Result<store::Descriptor> cache_manifest_config(std::string_view bytes) {
  json m = json::parse(bytes, nullptr, false);
  if (!m.is_object() || !m.contains("config")) return Error{"the cache manifest is not a JSON manifest"};
  MKIMAGE_TRY(store::Descriptor config, store::descriptor_from_json(m["config"]));
  if (config.media_type.str() != k_config_media_type)
    return Error{"not an mkimage cache manifest (config media type " + config.media_type.str() + ")"};
  return config;
}

Result<void> check_layers(std::string_view manifest_bytes, const RecordSet& set) {
  json layers = layers_of_manifest(manifest_bytes);
  if (layers.size() != set.layers.size())
    return Error{"the cache manifest lists " + std::to_string(layers.size()) + " layers, its records " +
                 std::to_string(set.layers.size())};
  for (std::size_t i = 0; i < layers.size(); ++i) {
    MKIMAGE_TRY(store::Descriptor d, store::descriptor_from_json(layers[i]));
    const store::Descriptor& want = set.layers[i].blob;
    if (d.digest != want.digest || d.size != want.size || d.media_type != want.media_type)
      return Error{"the cache manifest's layer " + std::to_string(i) + " differs from its record (" + d.digest.str() + ")"};
  }
  return {};
}

}  // namespace mkimage::remote_cache
