#include "registry/push.hpp"

#include <mutex>

#include "registry/client.hpp"
#include "registry/parallel.hpp"
#include "store/archive.hpp"

namespace mkimage::registry {

using util::Error;
using util::Result;

namespace {

struct Target {
  Client& client;
  store::Store& st;
  const store::Reference& ref;
  const PushOptions& options;
  TransferEvents& events;
};

// Steps 1 and 2 of push.hpp: a copy the registry has already. nullopt = upload.
Result<std::optional<store::Descriptor>> reuse_remote(Target& t, const store::DiffId& diff_id, const std::string& id) {
  MKIMAGE_TRY(auto sources, t.st.index().distribution_sources(diff_id));
  for (const auto& s : sources) {
    if (s.registry != t.ref.domain() || s.repository != t.ref.path()) continue;
    MKIMAGE_TRY(auto size, t.client.blob_size(t.ref.path(), s.descriptor.digest));
    if (size) {
      t.events.layer(id, "Layer already exists");
      return std::optional<store::Descriptor>{s.descriptor};
    }
  }
  for (const auto& s : sources) {
    if (s.registry != t.ref.domain() || s.repository == t.ref.path()) continue;
    MKIMAGE_TRY(bool mounted, t.client.mount_blob(t.ref.path(), s.descriptor.digest, s.repository));
    if (mounted) {
      t.events.layer(id, "Mounted from " + s.repository);
      return std::optional<store::Descriptor>{s.descriptor};
    }
  }
  return std::optional<store::Descriptor>{};
}

// One layer, by the cheapest route; returns the descriptor the manifest lists.
Result<store::Descriptor> push_layer(Target& t, const store::Descriptor& stored, const store::DiffId& diff_id) {
  std::string id = diff_id.digest.short_id();
  MKIMAGE_TRY(auto remote, reuse_remote(t, diff_id, id));
  store::Descriptor d;
  if (remote) {
    d = *remote;
  } else {
    // A layer the store keeps compressed (loaded that way) goes as it is.
    if (stored.media_type.layer_compression() != store::Compression::none && t.st.blobs().exists(stored.digest)) {
      d = stored;
    } else {
      MKIMAGE_TRY(d, store::compressed_layer(t.st, diff_id, t.options.compression));
    }
    MKIMAGE_TRY(auto size, t.client.blob_size(t.ref.path(), d.digest));
    if (size) {
      t.events.layer(id, "Layer already exists");
    } else {
      t.events.layer(id, "Pushing");
      MKIMAGE_TRY_VOID(t.client.upload_blob(t.ref.path(), d, t.st.blobs().path(d.digest), [&](std::int64_t done) {
        t.events.layer_progress(id, done, d.size);
      }));
      t.events.layer(id, "Pushed");
    }
  }
  MKIMAGE_TRY_VOID(t.st.index().put_distribution_source(store::DistributionSource{d, t.ref.domain(), t.ref.path(), diff_id}));
  return d;
}

Result<std::vector<store::Descriptor>> push_layers(Target& t, const store::Image& img) {
  const auto& diff_ids = img.config.diff_ids;
  std::vector<store::Descriptor> out(diff_ids.size());
  for (std::size_t i = diff_ids.size(); i-- > 0;) t.events.layer(diff_ids[i].digest.short_id(), "Preparing");
  std::mutex m;
  MKIMAGE_TRY_VOID(parallel_for(t.options.config->max_concurrent_uploads, diff_ids.size(), [&](std::size_t i) -> Result<void> {
    store::Descriptor stored = i < img.manifest.layers.size() ? img.manifest.layers[i] : store::Descriptor{};
    MKIMAGE_TRY(store::Descriptor d, push_layer(t, stored, diff_ids[i]));
    std::lock_guard lock(m);
    out[i] = d;
    return {};
  }));
  return out;
}

}  // namespace

Result<PushResult> push_image(store::Store& st, const std::string& local, const store::Reference& target_in,
                              const PushOptions& options, TransferEvents& events) {
  store::Reference target = target_in.tag() || target_in.digest() ? target_in : target_in.with_tag("latest");
  auto fail = [&](const Error& e) { return Error{"push " + target.familiar() + ": " + e.message}; };
  MKIMAGE_TRY(auto found, st.resolve(local));
  if (!found) return Error{"An image does not exist locally with the tag: " + local};
  const store::Image& img = *found;
  auto client_r = Client::open(*options.config, *options.credentials, target.domain(), true);
  if (!client_r.ok()) return fail(client_r.error());
  Client& client = **client_r;
  events.message("The push refers to repository [" + target.repository() + "]");
  Target t{client, st, target, options, events};

  auto layers = push_layers(t, img);
  if (!layers.ok()) return fail(layers.error());
  store::Descriptor config{store::MediaType::of(store::media_types::oci_config), img.record.config,
                           static_cast<std::int64_t>(img.config_bytes.size()), {}, std::nullopt};
  auto have = client.blob_size(target.path(), config.digest);
  if (!have.ok()) return fail(have.error());
  if (!*have) {
    auto up = client.upload_blob(target.path(), config, st.blobs().path(config.digest));
    if (!up.ok()) return fail(up.error());
  }
  store::Manifest m;
  m.config = config;
  m.layers = *layers;
  std::string bytes = store::serialize(m);
  std::string tag = target.tag().value_or("latest");
  auto digest = client.put_manifest(target.path(), target.digest() ? target.digest()->str() : tag, bytes, m.media_type);
  if (!digest.ok()) return fail(digest.error());
  auto recorded = st.index().put_repo_digest(target.with_digest(*digest), img.record.manifest);
  if (!recorded.ok()) return fail(recorded.error());
  return PushResult{*digest, static_cast<std::int64_t>(bytes.size()), tag};
}

}  // namespace mkimage::registry
