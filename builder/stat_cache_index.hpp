// The StatCache (builder/content_hash.hpp) kept in the store's SQLite index
// (stat_cache table, store/index.hpp), so a warm rebuild of a large build
// context hashes nothing. preload(dir) reads the records under a context
// directory in one range scan into compact blocks (paths relative to the
// directory in a string arena, no allocation per record, nothing copied as it
// grows); lookup() for a path below a preloaded directory first tries the
// record after the previous hit (a walk asks in nearly the records' order, so
// this is a sorted merge), then a binary search; other paths are one indexed
// lookup. record()s are kept in memory and written by flush() in one
// transaction: a rebuild where nothing changed writes nothing.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "builder/content_hash.hpp"
#include "store/index.hpp"

namespace mkimage::builder {

class IndexStatCache : public StatCache {
public:
  // `index` must outlive this object. Thread-safe.
  explicit IndexStatCache(store::Index& index) : m_index(index) {}
  ~IndexStatCache() override;
  util::Result<std::optional<StatCacheEntry>> lookup(const std::string& path, const StatKey& key) override;
  util::Result<void> record(const std::string& path, const StatKey& key, const StatCacheEntry& entry) override;
  util::Result<void> preload(const std::string& dir) override;
  util::Result<void> flush() override;

private:
  struct Loaded {
    const char* rel;  // the path below the directory, in m_arena
    std::uint32_t rel_size;
    bool no_xattrs;
    StatKey key;
    store::Digest digest;
    std::string_view rel_path() const { return {rel, rel_size}; }
  };
  // The records of one preloaded directory, sorted by path.
  struct Dir {
    std::string prefix;         // "/abs/dir/"
    std::deque<Loaded> rows;
    std::size_t next = 0;       // the row after the last hit
  };
  const char* intern(std::string_view s);
  std::optional<StatCacheEntry> find(Dir& d, std::string_view rel, const StatKey& key);

  store::Index& m_index;
  std::mutex m_mutex;
  std::vector<Dir> m_dirs;
  std::vector<std::unique_ptr<char[]>> m_arena;  // blocks of k_block bytes (or one long path)
  std::size_t m_arena_left = 0;
  char* m_arena_at = nullptr;
  struct Put {
    StatKey key;
    StatCacheEntry entry;
    bool written = false;  // by flush()
  };
  std::unordered_map<std::string, Put> m_put;  // record() in this process
  std::size_t m_unwritten = 0;                 // entries of m_put not flushed yet
};

}  // namespace mkimage::builder
