// The StatCache (builder/content_hash.hpp) kept in the store's SQLite index
// (stat_cache table, store/index.hpp), so a warm rebuild of a large build
// context hashes nothing: each file costs one lstat and one indexed lookup.
#pragma once

#include "builder/content_hash.hpp"
#include "store/index.hpp"

namespace mkimage::builder {

class IndexStatCache : public StatCache {
public:
  // `index` must outlive this object. Thread-safe (the Index serialises calls).
  explicit IndexStatCache(store::Index& index) : m_index(index) {}
  util::Result<std::optional<store::Digest>> get(const std::string& path, const StatKey& key) override;
  util::Result<void> put(const std::string& path, const StatKey& key, const store::Digest& digest) override;

private:
  store::Index& m_index;
};

}  // namespace mkimage::builder
