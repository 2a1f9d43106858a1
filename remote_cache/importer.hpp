// The imported cache of one build (`--cache-from`): every source's records,
// merged (the first source that has a key wins), answered by key without
// touching any layer. Layer blobs are fetched only when asked (lazy import): a
// remote hit costs nothing until a later step or an output needs the layer's
// content. Thread-safe: stages ask from several threads; one download per layer.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "remote_cache/source.hpp"

namespace mkimage::remote_cache {

// A record found in a source.
struct RemoteHit {
  Record record;
  std::string source;  // Source::name()
};

// Where a layer blob is known to live (for exports that can reuse it).
struct LayerLocation {
  Layer layer;
  std::string registry;    // "" for a directory source
  std::string repository;
  std::string source;      // Source::name()
};

class Importer {
public:
  explicit Importer(store::Store& store) : m_store(store) {}

  // Reads a source's records and adds them; returns how many were new, nullopt
  // when the source holds nothing (a cache ref that does not exist yet). Errors:
  // the source's (the caller turns them into a warning: a cache that cannot be
  // read is a miss).
  util::Result<std::optional<std::size_t>> add(std::unique_ptr<Source> source);

  std::optional<RemoteHit> lookup(const std::string& key) const;
  std::optional<LayerLocation> locate(const store::DiffId& diff_id) const;
  // The layer of a `RUN --mount=type=cache` id, when a source exported it.
  std::optional<LayerLocation> mount(const std::string& id) const;

  // Makes the uncompressed layer blob `diff_id` present in the store, fetching it
  // from the source that listed it (nothing to do when the store has it).
  // Errors: the layer is unknown to every source, the transfer's, a blob whose
  // digest or uncompressed content is not what the source said. A layer that
  // failed is dropped: from then on lookup() misses for every record leading to
  // it (unless the store has the layer by then) and locate() does not know it.
  util::Result<void> fetch(const store::DiffId& diff_id, registry::TransferEvents& events);

  bool empty() const { return m_records.empty(); }

private:
  bool usable(const store::DiffId& diff_id) const;  // not dropped, or in the store anyway (m_mutex held)
  struct Entry {
    Layer layer;
    std::size_t source = 0;
  };
  store::Store& m_store;
  std::vector<std::unique_ptr<Source>> m_sources;
  std::map<std::string, RemoteHit> m_records;        // by key
  std::map<std::string, Entry> m_layers;             // by diff_id
  std::map<std::string, Entry> m_mounts;             // by mount id
  std::set<std::string> m_dropped;                   // diff_ids whose fetch failed
  mutable std::mutex m_mutex;                        // the maps above
  std::mutex m_fetch_mutex;                          // guards m_fetching
  std::map<std::string, std::shared_ptr<std::mutex>> m_fetching;  // one download per diff_id
};

}  // namespace mkimage::remote_cache
