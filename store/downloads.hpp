// Kept `ADD <url>` downloads: ROOT/url-cache/<name>.json (URL, ETag, digest)
// and <name>.data (the bytes), written and revalidated by builder/url_cache.hpp.
// They are build cache: `cache du`, `system df` and the cache garbage collector
// (store/gc.hpp) count them, `cache prune` and the cache.max-size bound remove
// them, least recently used first (a reuse touches the .json file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mkimage::store {

struct DownloadRecord {
  std::string name;            // <name>.json / <name>.data: the sha256 hex of the URL
  std::int64_t bytes = 0;      // both files, apparent size
  std::int64_t last_used = 0;  // epoch seconds: the .json file's mtime (kept or last reused)
};

// Every complete download under `dir` (a pair of .json and .data; temporaries
// and half pairs are not listed). An absent directory lists nothing.
std::vector<DownloadRecord> list_downloads(const std::filesystem::path& dir);

// Removes the download `name` (the .json first: a record never names missing
// bytes). Returns the bytes freed; 0 when it was gone already.
std::int64_t remove_download(const std::filesystem::path& dir, const std::string& name);

}  // namespace mkimage::store
