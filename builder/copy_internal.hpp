// Internals of builder/copy.hpp shared by copy_*.cpp: resolved sources, the
// filtered walk, path patterns, archive extraction and downloads. Not a public API.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/content_hash.hpp"
#include "builder/copy.hpp"
#include "builder/user_db.hpp"
#include "parser/path_match.hpp"
#include "net/http.hpp"

namespace mkimage::builder {

// Patterns: parser/path_match.hpp (go_path_match for source wildcards,
// PatternMatcher for --exclude and --parents patterns).

// --- walk -----------------------------------------------------------------------

// The lstat fields a walk keeps, under struct stat's names: what the cache
// key and the copy use (a struct stat is 144 bytes; this is 96, for each of a
// context's 100,000 entries).
struct WalkStat {
  std::uint32_t st_mode = 0;
  std::uint32_t st_uid = 0;
  std::uint32_t st_gid = 0;
  std::uint32_t st_nlink = 0;
  std::int64_t st_size = 0;
  std::uint64_t st_dev = 0;
  std::uint64_t st_ino = 0;
  std::uint64_t st_rdev = 0;
  struct timespec st_atim {};
  struct timespec st_mtim {};
  struct timespec st_ctim {};
  WalkStat() = default;
  explicit WalkStat(const struct stat& s)
      : st_mode(s.st_mode), st_uid(s.st_uid), st_gid(s.st_gid), st_nlink(static_cast<std::uint32_t>(s.st_nlink)),
        st_size(s.st_size), st_dev(s.st_dev), st_ino(s.st_ino), st_rdev(s.st_rdev), st_atim(s.st_atim),
        st_mtim(s.st_mtim), st_ctim(s.st_ctim) {}
  // The stat-cache key (StatKey::of a struct stat with these fields).
  StatKey key() const {
    StatKey k;
    k.dev = st_dev;
    k.ino = st_ino;
    k.size = st_size;
    k.mtime_ns = static_cast<std::int64_t>(st_mtim.tv_sec) * 1000000000LL + st_mtim.tv_nsec;
    k.ctime_ns = static_cast<std::int64_t>(st_ctim.tv_sec) * 1000000000LL + st_ctim.tv_nsec;
    k.mode = st_mode;
    return k;
  }
};

// One entry found under a resolved source.
struct WalkEntry {
  std::string rel;                // relative to the item's root: "" = the root itself, "a/b"
  WalkStat st;                    // lstat (the root of a followed symlink source: stat of the target)
  std::string link_target;        // symlinks
  bool context_root = false;      // the context directory itself (st: a 0755 directory)
};

// --- items ------------------------------------------------------------------------

struct CopyPlan::Item {
  enum class Kind { path, heredoc, url } kind = Kind::path;
  std::string source_text;        // as written in the instruction
  std::filesystem::path host;     // path: the resolved host path (symlinks followed)
  std::string rel;                // path: relative to the source tree root ("" = root)
  std::string out_name;           // where it lands under a directory destination: file base
                                  // name, "" for directory contents (and --parents bases)
  bool is_dir = false;            // path: contents copy
  bool extract = false;           // ADD: unpack this local archive / downloaded file
  std::deque<WalkEntry> walk;     // path: entries in pre-order (parents first), sorted by name
                                  // (a deque: a 100,000-entry walk grows without copying itself)
  // heredoc
  std::string content;
  // url
  std::string url;
  std::filesystem::path downloaded;      // empty until downloaded
  std::optional<store::Digest> content_digest;  // heredocs, downloads
  std::optional<std::int64_t> mtime_s;  // url: Last-Modified
};

// The host path of walk entry `w` of `item` (not followed): the item's host
// path joined with w.rel. Not stored per entry: a 100,000-entry walk would
// hold its context's directory prefix 100,000 times.
inline std::string walk_host(const CopyPlan::Item& item, const WalkEntry& w) {
  std::string h = item.host.native();
  if (!w.rel.empty()) {
    if (h.empty() || h.back() != '/') h.push_back('/');
    h.append(w.rel);
  }
  return h;
}

// --- archives -----------------------------------------------------------------------

// True when `host` is a tar archive (plain, gzip, bzip2, xz, zstd, …) that
// libarchive can read (BuildKit's ADD unpacks only tar archives).
bool is_tar_archive(const std::filesystem::path& host);

struct ExtractOptions {
  std::optional<Owner> owner;   // override every entry's uid/gid (ADD --chown); else the tar's
  bool set_owner = true;        // false: do not chown (unprivileged context unpack)
  const class ChmodSpec* chmod = nullptr;
};

struct ExtractStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
};

// Extracts the archive at `archive` (a file) or `fd` into the host directory
// `dest_dir`; entry names are clamped inside it and every parent is resolved
// inside it (a symlink from the archive cannot redirect a later entry out).
util::Result<ExtractStats> extract_tar(const std::filesystem::path& archive, const std::filesystem::path& dest_dir,
                                       const ExtractOptions& options);
util::Result<ExtractStats> extract_tar_memory(const std::string& bytes, const std::filesystem::path& dest_dir,
                                              const ExtractOptions& options);
// True when `bytes` hold a (possibly compressed) tar archive.
bool is_tar_memory(const std::string& bytes);

// --- downloads ------------------------------------------------------------------------

struct Download {
  std::filesystem::path file;
  store::Digest digest;                 // sha256 of the bytes
  std::optional<std::int64_t> mtime_s;  // Last-Modified
};

// Downloads `url` (http/https; redirects followed; HTTP status >= 400 is an
// error) into `dir/<n>` and returns its digest. With `cache_dir`, a download
// kept there whose ETag the server confirms (HEAD) is reused instead, and a
// fresh one with an ETag is kept (builder/url_cache.hpp).
util::Result<Download> download_url(const std::string& url, const std::filesystem::path& dir,
                                    const std::filesystem::path& cache_dir = {});

// The ADD file name for a URL: the last element of its path, or "__unnamed__".
std::string url_file_name(const std::string& url);
using net::is_url;

}  // namespace mkimage::builder
