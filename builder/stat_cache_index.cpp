#include "builder/stat_cache_index.hpp"

namespace mkimage::builder {

namespace {

store::StatCacheRecord record_of(const std::string& path, const StatKey& key) {
  store::StatCacheRecord r;
  r.path = path;
  r.dev = key.dev;
  r.ino = key.ino;
  r.size = key.size;
  r.mtime_ns = key.mtime_ns;
  r.ctime_ns = key.ctime_ns;
  r.mode = key.mode;
  return r;
}

}  // namespace

util::Result<std::optional<store::Digest>> IndexStatCache::get(const std::string& path, const StatKey& key) {
  return m_index.get_stat(record_of(path, key));
}

util::Result<void> IndexStatCache::put(const std::string& path, const StatKey& key, const store::Digest& digest) {
  auto r = record_of(path, key);
  r.digest = digest;
  return m_index.put_stat(r);
}

}  // namespace mkimage::builder
