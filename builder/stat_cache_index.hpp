// The StatCache (builder/content_hash.hpp) kept in the store's SQLite index
// (stat_cache table, store/index.hpp), so a warm rebuild of a large build
// context hashes nothing. preload(dir) reads the records under a context
// directory in one range scan into a compact sorted array (one string arena,
// no allocation per record); get() for a path below a preloaded directory is a
// binary search in memory, other paths are one indexed lookup. put()s are kept
// in memory and written by flush() in one transaction: a rebuild where nothing
// changed writes nothing.
#pragma once

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
  util::Result<std::optional<store::Digest>> get(const std::string& path, const StatKey& key) override;
  util::Result<void> put(const std::string& path, const StatKey& key, const store::Digest& digest) override;
  util::Result<void> preload(const std::string& dir) override;
  util::Result<void> flush() override;

private:
  struct Loaded {
    std::uint64_t path_offset;  // into m_arena
    std::uint32_t path_size;
    StatKey key;
    store::Digest digest;
  };
  std::string_view path_of(const Loaded& l) const { return {m_arena.data() + l.path_offset, l.path_size}; }
  bool preloaded(std::string_view path) const;

  store::Index& m_index;
  std::mutex m_mutex;
  std::vector<std::string> m_dirs;  // preloaded directories, each with a trailing "/"
  std::string m_arena;              // the paths of m_loaded, back to back
  std::vector<Loaded> m_loaded;     // sorted by path
  struct Put {
    StatKey key;
    store::Digest digest;
    bool written = false;  // by flush()
  };
  std::unordered_map<std::string, Put> m_put;  // put() in this process
  std::size_t m_unwritten = 0;                 // entries of m_put not flushed yet
};

}  // namespace mkimage::builder
