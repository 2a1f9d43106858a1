#include "remote_cache/importer.hpp"

namespace mkimage::remote_cache {

using util::Error;
using util::Result;

Result<std::optional<std::size_t>> Importer::add(std::unique_ptr<Source> source) {
  MKIMAGE_TRY(std::optional<RecordSet> set, read_records(*source));
  if (!set) return std::optional<std::size_t>{};
  std::lock_guard lock(m_mutex);
  std::size_t index = m_sources.size();
  std::string name = source->name();
  m_sources.push_back(std::move(source));
  std::size_t added = 0;
  for (const auto& r : set->records) {
    if (m_records.emplace(r.key, RemoteHit{r, name}).second) ++added;
  }
  for (const auto& l : set->layers) m_layers.emplace(l.diff_id.digest.str(), Entry{l, index});
  for (const auto& m : set->mounts) m_mounts.emplace(m.id, Entry{set->layers[m.layer], index});
  return std::optional<std::size_t>{added};
}

bool Importer::usable(const store::DiffId& diff_id) const {
  return !m_dropped.count(diff_id.digest.str()) || m_store.blobs().exists(diff_id.digest);
}

std::optional<RemoteHit> Importer::lookup(const std::string& key) const {
  std::lock_guard lock(m_mutex);
  auto it = m_records.find(key);
  if (it == m_records.end()) return std::nullopt;
  // A record whose layer no source lists cannot be used.
  const auto& d = it->second.record.diff_id;
  if (d && (!m_layers.count(d->digest.str()) || !usable(*d))) return std::nullopt;
  return it->second;
}

std::optional<LayerLocation> Importer::locate(const store::DiffId& diff_id) const {
  std::lock_guard lock(m_mutex);
  auto it = m_layers.find(diff_id.digest.str());
  if (it == m_layers.end() || !usable(diff_id)) return std::nullopt;
  const Source& s = *m_sources[it->second.source];
  return LayerLocation{it->second.layer, s.registry_domain(), s.repository(), s.name()};
}

std::optional<LayerLocation> Importer::mount(const std::string& id) const {
  std::lock_guard lock(m_mutex);
  auto it = m_mounts.find(id);
  if (it == m_mounts.end()) return std::nullopt;
  const Source& s = *m_sources[it->second.source];
  return LayerLocation{it->second.layer, s.registry_domain(), s.repository(), s.name()};
}

Result<void> Importer::fetch(const store::DiffId& diff_id, registry::TransferEvents& events) {
  std::shared_ptr<std::mutex> one;
  {
    std::lock_guard lock(m_fetch_mutex);
    auto& m = m_fetching[diff_id.digest.str()];
    if (!m) m = std::make_shared<std::mutex>();
    one = m;
  }
  std::lock_guard lock(*one);
  if (m_store.blobs().exists(diff_id.digest)) return {};
  Entry e;
  Source* source = nullptr;
  {
    std::lock_guard l(m_mutex);
    auto it = m_layers.find(diff_id.digest.str());
    if (it == m_layers.end() || m_dropped.count(diff_id.digest.str()))
      return Error{"layer " + diff_id.digest.str() + " is in no usable --cache-from source"};
    e = it->second;
    source = m_sources[e.source].get();
  }
  auto got = source->fetch_layer(m_store, e.layer.blob, diff_id, events);
  if (!got.ok()) {
    std::lock_guard l(m_mutex);
    m_dropped.insert(diff_id.digest.str());
    return Error{"cache " + source->name() + ": " + got.error().message};
  }
  MKIMAGE_TRY_VOID(m_store.add_blob(store::BlobInfo{diff_id.digest, *got, true},
                                    store::oci_layer_media_type(store::Compression::none)));
  return {};
}

}  // namespace mkimage::remote_cache
