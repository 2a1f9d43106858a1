#include "mkimage/build_metadata.hpp"

#include "store/reference.hpp"
#include "util/json_text.hpp"
#include "store/root.hpp"

namespace mkimage::cli {

nlohmann::json build_metadata(const BuildResult& result, store::Store& store) {
  nlohmann::json j = nlohmann::json::object();
  if (!result.build_ref.empty()) j["buildx.build.ref"] = result.build_ref;
  j["containerimage.config.digest"] = result.image_id.str();
  j["containerimage.digest"] = result.manifest_digest.str();
  nlohmann::json desc = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", result.manifest_digest.str()}};
  if (auto blob = store.index().get_blob(result.manifest_digest); blob.ok() && *blob) {
    if (!(*blob)->media_type.str().empty()) desc["mediaType"] = (*blob)->media_type.str();
    desc["size"] = (*blob)->size;
  }
  j["containerimage.descriptor"] = desc;
  std::string names;
  for (const auto& t : result.tags) {
    auto ref = store::Reference::parse(t);
    names += (names.empty() ? "" : ",") + (ref.ok() ? ref->str() : t);
  }
  if (!names.empty()) j["image.name"] = names;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : result.steps) {
    std::string outcome = s.outcome == CacheOutcome::hit ? (s.step.cache_source.empty() ? "CACHED" : "remote-cached") : "run";
    steps.push_back({{"number", s.step.number},
                     {"name", (s.step.label.empty() ? "" : s.step.label + " ") + s.step.name},
                     {"outcome", outcome},
                     {"duration_ms", static_cast<std::int64_t>(s.elapsed_s * 1000 + 0.5)},
                     {"cache_key", s.step.cache_key}});
  }
  j["mkimage.build.steps"] = steps;
  return j;
}

util::Result<void> write_build_metadata(const std::filesystem::path& path, const BuildResult& result,
                                        store::Store& store) {
  return store::write_file_atomic(path, util::json_text(build_metadata(result, store), 2) + "\n");
}

}  // namespace mkimage::cli
