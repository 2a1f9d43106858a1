#include "builder/stat_cache_index.hpp"

#include <algorithm>

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

StatKey key_of(const store::StatCacheRecord& r) {
  StatKey k;
  k.dev = r.dev;
  k.ino = r.ino;
  k.size = r.size;
  k.mtime_ns = r.mtime_ns;
  k.ctime_ns = r.ctime_ns;
  k.mode = r.mode;
  return k;
}

}  // namespace

IndexStatCache::~IndexStatCache() { (void)flush(); }

bool IndexStatCache::preloaded(std::string_view path) const {
  for (const auto& d : m_dirs) {
    if (path.starts_with(d)) return true;
  }
  return false;
}

util::Result<void> IndexStatCache::preload(const std::string& dir) {
  std::lock_guard lock(m_mutex);
  std::string prefix = dir.empty() || dir.back() != '/' ? dir + "/" : dir;
  if (preloaded(prefix)) return {};
  std::size_t before = m_loaded.size();
  MKIMAGE_TRY_VOID(m_index.for_each_stat(prefix, [&](const store::StatCacheRecord& r) {
    m_loaded.push_back(Loaded{m_arena.size(), static_cast<std::uint32_t>(r.path.size()), key_of(r), r.digest});
    m_arena += r.path;
  }));
  // Each scan comes sorted; a second directory's records are merged in.
  if (before > 0 && m_loaded.size() > before) {
    auto less = [&](const Loaded& a, const Loaded& b) { return path_of(a) < path_of(b); };
    std::inplace_merge(m_loaded.begin(), m_loaded.begin() + static_cast<std::ptrdiff_t>(before), m_loaded.end(), less);
  }
  m_dirs.push_back(std::move(prefix));
  return {};
}

util::Result<std::optional<store::Digest>> IndexStatCache::get(const std::string& path, const StatKey& key) {
  std::lock_guard lock(m_mutex);
  if (!m_put.empty()) {
    auto it = m_put.find(path);
    if (it != m_put.end()) {
      if (it->second.key == key) return std::optional<store::Digest>{it->second.digest};
      return std::optional<store::Digest>{};
    }
  }
  if (!preloaded(path)) return m_index.get_stat(record_of(path, key));
  auto it = std::lower_bound(m_loaded.begin(), m_loaded.end(), std::string_view(path),
                             [&](const Loaded& l, std::string_view p) { return path_of(l) < p; });
  if (it == m_loaded.end() || path_of(*it) != path || !(it->key == key)) return std::optional<store::Digest>{};
  return std::optional<store::Digest>{it->digest};
}

util::Result<void> IndexStatCache::put(const std::string& path, const StatKey& key, const store::Digest& digest) {
  std::lock_guard lock(m_mutex);
  auto& p = m_put[path];
  if (p.written || !p.digest.valid()) ++m_unwritten;
  p = Put{key, digest, false};
  return {};
}

util::Result<void> IndexStatCache::flush() {
  std::lock_guard lock(m_mutex);
  if (m_unwritten == 0) return {};
  std::vector<store::StatCacheRecord> records;
  records.reserve(m_unwritten);
  for (const auto& [path, p] : m_put) {
    if (p.written) continue;
    auto r = record_of(path, p.key);
    r.digest = p.digest;
    records.push_back(std::move(r));
  }
  MKIMAGE_TRY_VOID(m_index.put_stats(records));
  for (auto& [path, p] : m_put) p.written = true;
  m_unwritten = 0;
  return {};
}

}  // namespace mkimage::builder
