#include "builder/stat_cache_index.hpp"

#include <algorithm>
#include <cstring>

namespace mkimage::builder {

namespace {

constexpr std::size_t k_block = 1 << 20;

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

StatKey key_of(const store::StatCacheRow& r) {
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

const char* IndexStatCache::intern(std::string_view s) {
  if (s.size() > m_arena_left) {
    std::size_t n = std::max(k_block, s.size());
    m_arena.push_back(std::make_unique_for_overwrite<char[]>(n));
    m_arena_at = m_arena.back().get();
    m_arena_left = n;
  }
  char* p = m_arena_at;
  std::memcpy(p, s.data(), s.size());
  m_arena_at += s.size();
  m_arena_left -= s.size();
  return p;
}

util::Result<void> IndexStatCache::preload(const std::string& dir) {
  std::lock_guard lock(m_mutex);
  std::string prefix = dir.empty() || dir.back() != '/' ? dir + "/" : dir;
  for (const auto& d : m_dirs) {
    if (prefix.starts_with(d.prefix)) return {};
  }
  Dir d;
  d.prefix = prefix;
  // One range scan, in path order: the rows are appended as they come.
  MKIMAGE_TRY_VOID(m_index.for_each_stat(prefix, [&](const store::StatCacheRow& r) {
    std::string_view rel = r.path.substr(prefix.size());
    d.rows.push_back(Loaded{intern(rel), static_cast<std::uint32_t>(rel.size()), r.no_xattrs, key_of(r), r.digest});
  }));
  m_dirs.push_back(std::move(d));
  return {};
}

std::optional<StatCacheEntry> IndexStatCache::find(Dir& d, std::string_view rel, const StatKey& key) {
  std::size_t i = d.next;
  if (i >= d.rows.size() || d.rows[i].rel_path() != rel) {
    auto it = std::lower_bound(d.rows.begin(), d.rows.end(), rel,
                               [](const Loaded& l, std::string_view p) { return l.rel_path() < p; });
    if (it == d.rows.end() || it->rel_path() != rel) return std::nullopt;
    i = static_cast<std::size_t>(it - d.rows.begin());
  }
  d.next = i + 1;
  const Loaded& l = d.rows[i];
  if (!(l.key == key)) return std::nullopt;
  return StatCacheEntry{l.digest, l.no_xattrs};
}

util::Result<std::optional<StatCacheEntry>> IndexStatCache::lookup(const std::string& path, const StatKey& key) {
  std::lock_guard lock(m_mutex);
  if (!m_put.empty()) {
    auto it = m_put.find(path);
    if (it != m_put.end()) {
      if (it->second.key == key) return std::optional<StatCacheEntry>{it->second.entry};
      return std::optional<StatCacheEntry>{};
    }
  }
  for (auto& d : m_dirs) {
    if (path.starts_with(d.prefix)) return find(d, std::string_view(path).substr(d.prefix.size()), key);
  }
  // Not preloaded: one indexed lookup (it claims nothing about xattrs).
  MKIMAGE_TRY(auto digest, m_index.get_stat(record_of(path, key)));
  if (!digest) return std::optional<StatCacheEntry>{};
  return std::optional<StatCacheEntry>{StatCacheEntry{*digest, false}};
}

util::Result<void> IndexStatCache::record(const std::string& path, const StatKey& key, const StatCacheEntry& entry) {
  std::lock_guard lock(m_mutex);
  auto& p = m_put[path];
  if (p.written || !p.entry.digest.valid()) ++m_unwritten;
  p = Put{key, entry, false};
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
    r.digest = p.entry.digest;
    r.no_xattrs = p.entry.no_xattrs;
    records.push_back(std::move(r));
  }
  MKIMAGE_TRY_VOID(m_index.put_stats(records));
  for (auto& [path, p] : m_put) p.written = true;
  m_unwritten = 0;
  return {};
}

}  // namespace mkimage::builder
