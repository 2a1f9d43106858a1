// The end of a build: the final image into the store (config with --label
// values, OCI manifest, tags), then every --output.
#include <nlohmann/json.hpp>

#include "util/json_text.hpp"
#include "builder/build_internal.hpp"
#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/push.hpp"

namespace mkimage::builder {

namespace {

// Push progress of a build: a line per layer outcome, as the push step's output.
class PushLines : public registry::TransferEvents {
public:
  explicit PushLines(InternalStep& step) : m_step(step) {}
  void message(const std::string& line) override { m_step.output(line); }
  void layer(const std::string& id, const std::string& status) override {
    if (status != "Preparing" && status != "Pushing") m_step.output(id + ": " + status);
  }

private:
  InternalStep& m_step;
};

// Pushes the built image under each name, one "[internal] pushing REF" step each.
// Errors: BuildKit's "failed to push REF: why".
util::Result<void> push_names(BuildSession& s, const store::Image& img, const std::vector<std::string>& names,
                              BuildResult& result) {
  if (names.empty()) return util::Error{"ERROR: push requested but the image has no name (use -t or --output type=image,name=...)"};
  MKIMAGE_TRY(auto config, registry::RegistryConfig::load(s.store->root().dir()));
  auto creds = registry::CredentialStore::open_default();
  registry::PushOptions opts;
  opts.config = &config;
  opts.credentials = &creds;
  for (const auto& n : names) {
    MKIMAGE_TRY(store::Reference ref, store::Reference::parse(n));
    InternalStep step(s, "pushing " + ref.str());
    PushLines events(step);
    auto pushed = registry::push_image(*s.store, img.record.manifest.str(), ref, opts, events);
    if (pushed.ok()) {
      step.output(pushed->tag + ": digest: " + pushed->digest.str() + " size: " + std::to_string(pushed->size));
      result.pushed.emplace_back(ref.familiar(), pushed->digest.str());
    }
    auto done = step.finish(std::move(pushed));
    if (!done.ok()) return util::Error{"ERROR: failed to push " + ref.str() + ": " + done.error().message};
  }
  return {};
}

// The image into the store; with --cache-to type=inline its config carries the
// cache records of its steps (remote_cache::k_inline_config_key).
util::Result<store::Image> put_final_image(BuildSession& s, const StageState& final_state,
                                           const store::ImageConfig& config,
                                           const std::vector<store::Descriptor>& layers) {
  auto records = inline_records(s, final_state);
  if (!records) return s.store->put_image(config, layers);
  nlohmann::json j = store::to_json(config);
  j[std::string(remote_cache::k_inline_config_key)] = nlohmann::json::parse(remote_cache::serialize(*records));
  return s.store->put_image_raw(util::json_text(j), layers);
}

}  // namespace

util::Result<void> write_outputs(BuildSession& s, const StageState& final_state, BuildResult& result) {
  ConfigState cfg = final_state.config;
  for (const auto& [k, v] : s.request.labels) cfg.add_label(k, v);
  // SOURCE_DATE_EPOCH, else the time of the last layer step (cached steps keep
  // their first build's time, so a fully cached rebuild gives the same image
  // ID); an image of metadata steps on scratch has no created time (BuildKit).
  std::optional<store::Timestamp> created = final_state.last_created;
  if (s.source_date_epoch) created = created_time(s.source_date_epoch);
  store::ImageConfig config = cfg.finish(created);
  std::vector<store::Descriptor> layers;
  for (const auto& l : final_state.layers) {
    store::Descriptor d;
    d.media_type = l.media_type;
    d.digest = l.blob;
    d.size = l.size;
    if (d.size == 0) {
      auto sz = s.store->blobs().size(l.blob);
      if (sz.ok()) d.size = *sz;
    }
    layers.push_back(d);
  }
  MKIMAGE_TRY_VOID(ensure_layers_local(s, final_state.layers));
  MKIMAGE_TRY(store::Image img, put_final_image(s, final_state, config, layers));
  result.image_id = img.record.config;
  result.manifest_digest = img.record.manifest;
  for (const auto& t : s.request.tags) {
    MKIMAGE_TRY(store::Reference ref, store::Reference::parse(t));
    if (!ref.tag()) ref = ref.with_tag("latest");
    MKIMAGE_TRY_VOID(s.store->tag(ref, img.record.manifest));
    result.tags.push_back(ref.familiar());
  }
  std::vector<std::string> to_push;
  if (s.request.push) to_push = s.request.tags;
  for (const auto& out : s.request.outputs) {
    switch (out.type) {
      case OutputType::image:
        for (const auto& n : out.names) {
          MKIMAGE_TRY(store::Reference ref, store::Reference::parse(n));
          if (!ref.tag()) ref = ref.with_tag("latest");
          MKIMAGE_TRY_VOID(s.store->tag(ref, img.record.manifest));
          result.tags.push_back(ref.familiar());
        }
        if (out.push) to_push.insert(to_push.end(), out.names.empty() ? s.request.tags.begin() : out.names.begin(),
                                     out.names.empty() ? s.request.tags.end() : out.names.end());
        break;
      default:
        MKIMAGE_TRY_VOID(export_output(s, img, final_state, out));
        break;
    }
  }
  if (!to_push.empty() || s.request.push) MKIMAGE_TRY_VOID(push_names(s, img, to_push, result));
  return {};
}

}  // namespace mkimage::builder
