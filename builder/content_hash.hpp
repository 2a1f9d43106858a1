// Content digests of COPY/ADD sources for cache keys (issue 4 "Cache keys",
// docs/cache-keys.md). A selection of entries is hashed by what ends up in the
// image: relative path, file type, permission bits, uid/gid (after --chown),
// symlink target, xattrs and file bytes — never mtime, atime or inode, as in
// BuildKit's contenthash. File bytes are hashed through a StatCache so a warm
// rebuild of a large build context costs a walk and stats only.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/file_listing.hpp"
#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::util {
class Sha256;
}

namespace mkimage::builder {

// What identifies a file's bytes without reading them: if all five fields are
// unchanged, the bytes are assumed unchanged. ctime catches the "same size, mtime
// restored" edit (testdata/handed/cases/12-cache-copy-key build 6): any write or
// utimensat moves ctime, and user space cannot set it.
struct StatKey {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t size = 0;      // bytes
  std::int64_t mtime_ns = 0;  // ns since the epoch
  std::int64_t ctime_ns = 0;  // ns since the epoch
  std::uint32_t mode = 0;     // st_mode (type and permission bits)
  auto operator<=>(const StatKey&) const = default;
  static StatKey of(const struct stat& st);
};

// What a stat-cache record answers: the sha256 of the file's bytes and whether
// the file had no image_xattr()s when the record was made. `no_xattrs` is set
// only when the xattrs were read at least 2 s after the file's ctime: every
// xattr change moves ctime (setxattr/removexattr update it on ext4, xfs, btrfs,
// tmpfs and overlayfs, and user space cannot set ctime), so a record whose
// StatKey (ctime included) still matches proves the file still has none, and
// a warm rebuild skips its listxattr (docs/cache-keys.md "Stat cache").
struct StatCacheEntry {
  store::Digest digest;
  bool no_xattrs = false;
};

// (host path, StatKey) → StatCacheEntry. Implementations: MemoryStatCache
// (tests, one build) and IndexStatCache over the store's stat_cache table
// (builder/stat_cache_index.hpp). `path` is the absolute host path (a record's
// name; a hit needs path and every StatKey field equal). lookup() returning
// nullopt is a miss. Implementations must be thread-safe.
class StatCache {
public:
  virtual ~StatCache() = default;
  virtual util::Result<std::optional<StatCacheEntry>> lookup(const std::string& path, const StatKey& key) = 0;
  virtual util::Result<void> record(const std::string& path, const StatKey& key, const StatCacheEntry& entry) = 0;
  // lookup()/record() for the digest alone (a record made by put() claims nothing about xattrs).
  util::Result<std::optional<store::Digest>> get(const std::string& path, const StatKey& key);
  util::Result<void> put(const std::string& path, const StatKey& key, const store::Digest& digest) {
    return record(path, key, StatCacheEntry{digest, false});
  }
  // Hint: the records of files under `dir` ("/abs/dir", no trailing "/") are
  // about to be asked for; an implementation may read them in one pass.
  virtual util::Result<void> preload(const std::string& dir) {
    (void)dir;
    return {};
  }
  // Makes earlier record()s durable (an implementation may buffer them until then).
  virtual util::Result<void> flush() { return {}; }
};

class MemoryStatCache : public StatCache {
public:
  util::Result<std::optional<StatCacheEntry>> lookup(const std::string& path, const StatKey& key) override;
  util::Result<void> record(const std::string& path, const StatKey& key, const StatCacheEntry& entry) override;
  std::size_t size() const;

private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::pair<StatKey, StatCacheEntry>> m_entries;
};

struct SelectedEntry;

// Hashes file bytes, through an optional StatCache. Files whose ctime is less
// than 2 s old are hashed but not cached: a write within the filesystem's
// timestamp granularity could otherwise go unseen (git's "racy clean" problem).
class FileDigester {
public:
  explicit FileDigester(StatCache* cache = nullptr) : m_cache(cache) {}

  // sha256 of the bytes of the regular file at `host_path`, whose lstat is `st`.
  // Errors: open/read failures naming the path and errno; cache errors.
  util::Result<store::Digest> digest_file(const std::filesystem::path& host_path, const struct stat& st);
  // The same, from the StatKey of the file's lstat. `no_xattrs`: what a new
  // cache record says about the file's xattrs (see StatCacheEntry).
  util::Result<store::Digest> digest_file(const std::string& host_path, const StatKey& key, bool no_xattrs = false);

  // Fills e.content and e.xattrs of a walked regular file (e.stat and
  // e.host_path set): from the cache when its record matches e.stat (no file
  // opened, and no xattr read when the record says the file had none), else
  // reads the xattrs and hashes the bytes, recording both.
  util::Result<void> resolve_regular(SelectedEntry& e);
  std::uint64_t xattr_reads() const { return m_xattr_reads; }  // files whose xattrs were listed

  std::uint64_t files_read() const { return m_files_read; }    // files whose bytes were read
  std::uint64_t cache_hits() const { return m_cache_hits; }    // files answered by the cache

private:
  StatCache* m_cache;
  std::uint64_t m_files_read = 0;
  std::uint64_t m_cache_hits = 0;
  std::uint64_t m_xattr_reads = 0;
};

enum class EntryType { regular, directory, symlink, hardlink, fifo, char_device, block_device, socket };
const char* entry_type_name(EntryType t);

// One entry of a selection, as it will be written.
struct SelectedEntry {
  std::string path;                 // output-relative, "/"-separated, e.g. "src/a.txt"; "" = the
                                    // destination itself
  EntryType type = EntryType::regular;
  mode_t mode = 0644;               // permission bits (07777) after --chmod
  std::uint32_t uid = 0;            // after --chown (or the rule for "no --chown")
  std::uint32_t gid = 0;
  std::string link_target;          // symlink target bytes; hardlink: the output path linked to
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
  std::uint64_t rdev = 0;           // devices
  std::string host_path;            // regular files: where the bytes are read from
  std::optional<StatKey> stat;      // regular files: host_path's lstat when the walk made
                                    // it (else selection_digest lstats host_path)
  std::optional<store::Digest> content;  // regular files whose digest is already known
                                         // (heredocs, downloads); else read from host_path
};

// True for the xattrs a COPY writes into the image: `user.*`, `security.*` and
// `trusted.*`, except `trusted.overlay.*` and `security.selinux` (overlayfs and
// host labels). `system.*` (POSIX ACLs: host policy) never reaches a layer.
bool image_xattr(std::string_view name);

// Reads the image_xattr()s of `host_path` (not following a symlink), sorted by
// name: the key and the copy see the same ones. Filesystems without xattr
// support give none.
util::Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const std::filesystem::path& host_path);
util::Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const std::string& host_path);

// sha256 over a tagged, versioned serialisation of `entries` (in the given
// order: callers list them in the order they are written) and, for regular
// files, the digest of their bytes. `extra` is hashed first (e.g. a tag naming
// the selection kind). Never includes mtime, atime, inode or host paths.
util::Result<store::Digest> selection_digest(std::span<const SelectedEntry> entries, FileDigester& files,
                                             std::string_view extra = {});

// selection_digest one entry at a time, for selections too large to hold as
// SelectedEntry values: `count` entries must be add()ed, in order, before finish().
class SelectionHasher {
public:
  SelectionHasher(FileDigester& files, std::string_view extra, std::size_t count);
  ~SelectionHasher();
  SelectionHasher(const SelectionHasher&) = delete;
  SelectionHasher& operator=(const SelectionHasher&) = delete;
  // Errors: reading a regular file's bytes (FileDigester).
  util::Result<void> add(const SelectedEntry& e);
  store::Digest finish();
  // Also appends every add()ed entry to `out` (path, mode, digest of the rest),
  // for miss reasons (builder/file_listing.hpp); null = no list.
  void list_into(FileListing* out) { m_listing = out; }

private:
  FileDigester& m_files;
  std::unique_ptr<util::Sha256> m_hash;
  std::string m_buf;  // one entry's serialisation
  FileListing* m_listing = nullptr;
};

}  // namespace mkimage::builder
