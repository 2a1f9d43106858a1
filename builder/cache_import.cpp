// --cache-from in a build (docs/remote-cache.md): the sources' records are read
// once at the start; a step whose key the store's own cache lacks is looked up
// there, and a hit takes the record's layer (not yet fetched) and history time.
// Layers are fetched when a later step or an output needs their content.
#include <mutex>

#include "builder/build_internal.hpp"
#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/parallel.hpp"
#include "remote_cache/source.hpp"

namespace mkimage::builder {

namespace {

class FetchLines : public registry::TransferEvents {
public:
  explicit FetchLines(InternalStep& step) : m_step(step) {}
  void layer(const std::string& id, const std::string& status) override {
    if (status == "Pull complete" || status == "Copied") {
      std::lock_guard lock(m_mutex);
      m_step.output(id + ": " + status);
    }
  }

private:
  InternalStep& m_step;
  std::mutex m_mutex;
};

util::Result<std::unique_ptr<remote_cache::Source>> open_source(BuildSession& s, const CacheSpec& spec) {
  if (spec.type == CacheType::local) return remote_cache::layout_source(spec.dir);
  MKIMAGE_TRY(auto config, registry::RegistryConfig::load(s.store->root().dir()));
  auto creds = registry::CredentialStore::open_default();
  return remote_cache::registry_source(config, creds, spec.ref);
}

}  // namespace

void import_caches(BuildSession& s) {
  if (s.request.cache_from.empty() || s.request.no_cache) return;
  s.imported_cache = std::make_unique<remote_cache::Importer>(*s.store);
  for (const auto& spec : s.request.cache_from) {
    std::string name = spec.type == CacheType::local ? "local:" + spec.dir.string() : spec.ref;
    InternalStep step(s, "importing cache manifest from " + name);
    auto source = open_source(s, spec);
    util::Result<std::optional<std::size_t>> added =
        source.ok() ? s.imported_cache->add(std::move(*source)) : util::Result<std::optional<std::size_t>>(source.error());
    if (added.ok() && *added) {
      step.output(std::to_string(**added) + " records");
    } else if (added.ok()) {
      // The first build of a new branch: nothing was exported there yet.
      s.warn("cache " + name + " not used: it holds no cache (nothing was exported there yet)");
    } else {
      // A cache that cannot be read is a miss, never a failed build.
      s.warn("cache " + name + " not used: " + added.error().message);
    }
    (void)step.finish(util::Result<void>{});
  }
}

util::Result<bool> apply_remote_hit(BuildSession& s, const graph::Stage& stage, StageState& state, StepInfo& info,
                                    const CacheKey& key, const std::string& created_by) {
  if (!s.imported_cache) return false;
  auto hit = s.imported_cache->lookup(key.str());
  if (!hit) return false;
  store::Timestamp created = created_time(s.source_date_epoch);
  if (auto t = store::Timestamp::parse(hit->record.created); t.ok()) created = *t;
  if (hit->record.diff_id) {
    const store::DiffId& d = *hit->record.diff_id;
    LayerRef l;
    l.diff_id = d;
    l.chain_id = store::chain_id_of(state.layers.empty() ? nullptr : &state.layers.back().chain_id, d);
    l.blob = d.digest;
    l.media_type = store::oci_layer_media_type(store::Compression::none);
    if (auto loc = s.imported_cache->locate(d)) l.size = loc->layer.size;
    l.remote = !s.store->blobs().exists(d.digest);
    if (!l.remote) {
      MKIMAGE_TRY(l.size, s.store->blobs().size(d.digest));
    }
    state.layers.push_back(l);
  }
  state.config.add_history(created_by, created, hit->record.diff_id);
  state.key = key;
  state.last_created = created;
  info.cache_source = hit->source;
  note_cache_step(s, stage, key, hit->record.diff_id, created, true);
  return true;
}

util::Result<void> ensure_layers_local(BuildSession& s, const std::vector<LayerRef>& layers) {
  std::vector<const LayerRef*> todo;
  std::vector<store::Digest> remote;
  for (const auto& l : layers)
    if (l.remote) remote.push_back(l.blob);
  MKIMAGE_TRY_VOID(s.store->hold(remote));  // held, then checked (and fetched if missing)
  for (const auto& l : layers)
    if (l.remote && !s.store->blobs().exists(l.blob)) todo.push_back(&l);
  if (todo.empty()) return {};
  if (!s.imported_cache) return util::Error{"layer " + todo.front()->diff_id.digest.str() + " is not in the store"};
  MKIMAGE_TRY(auto config, registry::RegistryConfig::load(s.store->root().dir()));
  InternalStep step(s, "fetching " + std::to_string(todo.size()) + " cache layer" + (todo.size() > 1 ? "s" : ""));
  FetchLines events(step);
  auto r = registry::parallel_for(config.max_concurrent_downloads, todo.size(), [&](std::size_t i) -> util::Result<void> {
    auto got = s.imported_cache->fetch(todo[i]->diff_id, events);
    if (!got.ok()) {
      // The importer has dropped the layer: build() runs the stages once more,
      // and the steps that led to it miss this time (see build.cpp).
      std::lock_guard lock(s.cache_failures_mutex);
      s.cache_failures.push_back(got.error().message);
    }
    return got;
  });
  return step.finish(std::move(r));
}

}  // namespace mkimage::builder
