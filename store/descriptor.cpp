#include "store/descriptor.hpp"

#include <nlohmann/json.hpp>

namespace mkimage::store {

nlohmann::json descriptor_to_json(const Descriptor& d) {
  nlohmann::json j = nlohmann::json::object();
  j["mediaType"] = d.media_type.str();
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) {
    nlohmann::json p = {{"architecture", d.platform->architecture}, {"os", d.platform->os}};
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

util::Result<Descriptor> descriptor_from_json(const nlohmann::json& j) {
  auto bad = [&](const std::string& why) { return util::Error{"invalid descriptor: " + why}; };
  if (!j.is_object()) return bad("not a JSON object");
  Descriptor d;
  if (!j.contains("mediaType") || !j["mediaType"].is_string()) return bad("missing mediaType");
  MKIMAGE_TRY(d.media_type, MediaType::parse(j["mediaType"].get<std::string>()));
  if (!j.contains("digest") || !j["digest"].is_string()) return bad("missing digest");
  MKIMAGE_TRY(d.digest, Digest::parse(j["digest"].get<std::string>()));
  if (!j.contains("size") || !j["size"].is_number_integer()) return bad("missing size");
  d.size = j["size"].get<std::int64_t>();
  if (d.size < 0) return bad("negative size");
  if (j.contains("annotations")) {
    if (!j["annotations"].is_object()) return bad("annotations is not an object");
    for (auto& [k, v] : j["annotations"].items()) {
      if (!v.is_string()) return bad("annotation \"" + k + "\" is not a string");
      d.annotations[k] = v.get<std::string>();
    }
  }
  if (j.contains("platform")) {
    const auto& p = j["platform"];
    if (!p.is_object()) return bad("platform is not an object");
    Platform pl;
    // each of these is a string or absent ("" then); another type is refused
    auto field = [&](const char* key, std::string& out) {
      out.clear();
      if (!p.contains(key) || p[key].is_null()) return true;
      if (!p[key].is_string()) return false;
      out = p[key].get<std::string>();
      return true;
    };
    for (auto [key, out] : {std::pair<const char*, std::string*>{"architecture", &pl.architecture},
                            {"os", &pl.os}, {"variant", &pl.variant}}) {
      if (!field(key, *out)) return bad(std::string("platform.") + key + " is not a string");
    }
    d.platform = pl;
  }
  return d;
}

}  // namespace mkimage::store
