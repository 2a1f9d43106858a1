// The end of a build: the final image into the store (config with --label
// values, OCI manifest, tags), then every --output.
#include "builder/build_internal.hpp"

namespace mkimage::builder {

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
  MKIMAGE_TRY(store::Image img, s.store->put_image(config, layers));
  result.image_id = img.record.config;
  result.manifest_digest = img.record.manifest;
  for (const auto& t : s.request.tags) {
    MKIMAGE_TRY(store::Reference ref, store::Reference::parse(t));
    if (!ref.tag()) ref = ref.with_tag("latest");
    MKIMAGE_TRY_VOID(s.store->tag(ref, img.record.manifest));
    result.tags.push_back(ref.familiar());
  }
  for (const auto& out : s.request.outputs) {
    switch (out.type) {
      case OutputType::image:
        break;
      default:
        MKIMAGE_TRY_VOID(export_output(s, img, final_state, out));
        break;
    }
  }
  return {};
}

}  // namespace mkimage::builder
