#include "builder/content_hash.hpp"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <ctime>
#include <cstring>

#include "util/sha256.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

// Serialisation format of selection_digest; bump when the fields change.
constexpr const char* k_selection_format = "mkimage.selection.v1";

std::int64_t ns_of(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Length-prefixed field: "<tag>\\0<len>\\0<value>" keeps fields unambiguous.
void add_field(util::Sha256& h, std::string_view tag, std::string_view value) {
  h.update(tag);
  h.update("\0", 1);
  std::string len = std::to_string(value.size());
  h.update(len);
  h.update("\0", 1);
  h.update(value);
}

}  // namespace

StatKey StatKey::of(const struct stat& st) {
  StatKey k;
  k.dev = static_cast<std::uint64_t>(st.st_dev);
  k.ino = static_cast<std::uint64_t>(st.st_ino);
  k.size = static_cast<std::int64_t>(st.st_size);
  k.mtime_ns = ns_of(st.st_mtim);
  k.ctime_ns = ns_of(st.st_ctim);
  k.mode = static_cast<std::uint32_t>(st.st_mode);
  return k;
}

util::Result<std::optional<store::Digest>> StatCache::get(const std::string& path, const StatKey& key) {
  MKIMAGE_TRY(auto hit, lookup(path, key));
  if (!hit) return std::optional<store::Digest>{};
  return std::optional<store::Digest>{hit->digest};
}

util::Result<std::optional<StatCacheEntry>> MemoryStatCache::lookup(const std::string& path, const StatKey& key) {
  std::lock_guard lock(m_mutex);
  auto it = m_entries.find(path);
  if (it == m_entries.end() || it->second.first != key) return std::optional<StatCacheEntry>{};
  return std::optional<StatCacheEntry>{it->second.second};
}

util::Result<void> MemoryStatCache::record(const std::string& path, const StatKey& key, const StatCacheEntry& entry) {
  std::lock_guard lock(m_mutex);
  m_entries[path] = {key, entry};
  return {};
}

std::size_t MemoryStatCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

util::Result<store::Digest> FileDigester::digest_file(const fs::path& host_path, const struct stat& st) {
  return digest_file(host_path.native(), StatKey::of(st));
}

util::Result<store::Digest> FileDigester::digest_file(const std::string& path, const StatKey& key, bool no_xattrs) {
  if (m_cache) {
    MKIMAGE_TRY(auto hit, m_cache->lookup(path, key));
    if (hit) {
      ++m_cache_hits;
      return hit->digest;
    }
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return util::sys_error("open", path);
  util::Sha256 h;
  std::vector<char> buf(1 << 16);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return util::sys_error("read", path, err);
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
  }
  // Stat again through the open file: if it changed while being read, do not cache.
  struct stat after;
  bool stable = fstat(fd, &after) == 0 && StatKey::of(after) == key;
  ::close(fd);
  ++m_files_read;
  auto digest = store::Digest::from_bytes(h.finish());
  if (m_cache && stable) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    // Racy-clean guard: a write in the same timestamp tick would not move ctime.
    if (ns_of(now) - key.ctime_ns >= 2000000000LL) {
      MKIMAGE_TRY_VOID(m_cache->record(path, key, StatCacheEntry{digest, no_xattrs}));
    }
  }
  return digest;
}

util::Result<void> FileDigester::resolve_regular(SelectedEntry& e) {
  const StatKey& key = *e.stat;
  e.content.reset();
  e.xattrs.clear();
  if (m_cache) {
    MKIMAGE_TRY(auto hit, m_cache->lookup(e.host_path, key));
    if (hit) {
      ++m_cache_hits;
      e.content = hit->digest;
      // The record matches ctime: no xattr was set or removed since it was made.
      if (hit->no_xattrs) return {};
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      ++m_xattr_reads;
      MKIMAGE_TRY(e.xattrs, read_xattrs(e.host_path));
      // A record made before xattrs were recorded (or when the file was too
      // new to tell) learns "none" once, so the next rebuild lists nothing.
      if (e.xattrs.empty() && ns_of(now) - key.ctime_ns >= 2000000000LL) {
        MKIMAGE_TRY_VOID(m_cache->record(e.host_path, key, StatCacheEntry{hit->digest, true}));
      }
      return {};
    }
  }
  // The clock is read before the xattrs: a record may claim "none" only when
  // any later xattr change must land at least 2 s past the recorded ctime (a
  // tick no filesystem's ctime is coarser than), so it moves ctime.
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  ++m_xattr_reads;
  MKIMAGE_TRY(e.xattrs, read_xattrs(e.host_path));
  bool no_xattrs = e.xattrs.empty() && ns_of(now) - key.ctime_ns >= 2000000000LL;
  MKIMAGE_TRY(auto d, digest_file(e.host_path, key, no_xattrs));
  e.content = d;
  return {};
}

const char* entry_type_name(EntryType t) {
  switch (t) {
    case EntryType::regular: return "file";
    case EntryType::directory: return "dir";
    case EntryType::symlink: return "symlink";
    case EntryType::hardlink: return "hardlink";
    case EntryType::fifo: return "fifo";
    case EntryType::char_device: return "chardev";
    case EntryType::block_device: return "blockdev";
    case EntryType::socket: return "socket";
  }
  return "?";
}

bool image_xattr(std::string_view name) {
  if (name.starts_with("trusted.overlay.") || name == "security.selinux") return false;
  return name.starts_with("user.") || name.starts_with("security.") || name.starts_with("trusted.");
}

util::Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const fs::path& host_path) {
  return read_xattrs(host_path.native());
}

util::Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t n = llistxattr(path.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENOENT) return out;
    return util::sys_error("llistxattr", path);
  }
  if (n == 0) return out;
  std::string names(static_cast<std::size_t>(n), '\0');
  n = llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return util::sys_error("llistxattr", path);
  names.resize(static_cast<std::size_t>(n));
  std::size_t pos = 0;
  while (pos < names.size()) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (!image_xattr(name)) continue;
    ssize_t vn = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) {
      if (errno == ENODATA) continue;
      return util::sys_error("lgetxattr " + name, path);
    }
    std::string value(static_cast<std::size_t>(vn), '\0');
    vn = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vn < 0) return util::sys_error("lgetxattr " + name, path);
    value.resize(static_cast<std::size_t>(vn));
    out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

SelectionHasher::SelectionHasher(FileDigester& files, std::string_view extra, std::size_t count)
    : m_files(files), m_hash(std::make_unique<util::Sha256>()) {
  add_field(*m_hash, "format", k_selection_format);
  add_field(*m_hash, "extra", extra);
  add_field(*m_hash, "count", std::to_string(count));
}

SelectionHasher::~SelectionHasher() = default;

namespace {

// The file-list entry of `e`: everything but path and mode in one short digest.
void list_entry(const SelectedEntry& e, const std::string& content, FileListing& out) {
  if (e.type == EntryType::regular && e.uid == 0 && e.gid == 0 && e.xattrs.empty() && content.size() > 23) {
    // The common case needs no hashing: the bytes' digest is the rest.
    out.push_back(FileDigestEntry{e.path, static_cast<std::uint32_t>(e.mode & 07777), content.substr(7, 16)});
    return;
  }
  std::string rest = entry_type_name(e.type);
  rest += '\0' + std::to_string(e.uid) + ':' + std::to_string(e.gid) + '\0' + e.link_target + '\0' +
          std::to_string(e.rdev) + '\0' + content;
  for (const auto& [name, value] : e.xattrs) rest += '\0' + name + '=' + value;
  out.push_back(FileDigestEntry{e.path, static_cast<std::uint32_t>(e.mode & 07777), util::sha256_hex(rest).substr(0, 16)});
}

}  // namespace

util::Result<void> SelectionHasher::add(const SelectedEntry& e) {
  // The fields are serialised into one reused buffer and hashed with one
  // update (the same bytes as add_field() per field, without an allocation
  // per number).
  std::string& b = m_buf;
  b.clear();
  auto field = [&b](std::string_view tag, std::string_view value) {
    b.append(tag);
    b.push_back('\0');
    char len[24];
    auto r = std::to_chars(len, len + sizeof len, value.size());
    b.append(len, r.ptr);
    b.push_back('\0');
    b.append(value);
  };
  auto number = [&field](std::string_view tag, std::uint64_t v) {
    char num[24];
    auto r = std::to_chars(num, num + sizeof num, v);
    field(tag, std::string_view(num, static_cast<std::size_t>(r.ptr - num)));
  };
  field("path", e.path);
  field("type", entry_type_name(e.type));
  std::string content;  // the bytes' digest, when listing
  // "%04o" of the permission bits, without printf.
  unsigned bits = static_cast<unsigned>(e.mode & 07777);
  const char mode[4] = {static_cast<char>('0' + ((bits >> 9) & 7)), static_cast<char>('0' + ((bits >> 6) & 7)),
                        static_cast<char>('0' + ((bits >> 3) & 7)), static_cast<char>('0' + (bits & 7))};
  field("mode", std::string_view(mode, sizeof mode));
  number("uid", e.uid);
  number("gid", e.gid);
  if (e.type == EntryType::symlink || e.type == EntryType::hardlink) field("link", e.link_target);
  if (e.type == EntryType::char_device || e.type == EntryType::block_device) number("rdev", e.rdev);
  number("xattrs", e.xattrs.size());
  for (const auto& [name, value] : e.xattrs) {
    field("xattr.name", name);
    field("xattr.value", value);
  }
  if (e.type == EntryType::regular) {
    store::Digest d;
    if (e.content) {
      d = *e.content;
    } else if (e.stat) {
      if (!S_ISREG(e.stat->mode)) return util::Error{"\"" + e.host_path + "\": not a regular file"};
      MKIMAGE_TRY(d, m_files.digest_file(e.host_path, *e.stat));
    } else {
      struct stat st;
      if (lstat(e.host_path.c_str(), &st) != 0) return util::sys_error("lstat", e.host_path);
      if (!S_ISREG(st.st_mode)) return util::Error{"\"" + e.host_path + "\": not a regular file"};
      MKIMAGE_TRY(d, m_files.digest_file(e.host_path, StatKey::of(st)));
    }
    // d.str() without an allocation.
    static constexpr char k_hex[] = "0123456789abcdef";
    char text[7 + 64];
    std::memcpy(text, "sha256:", 7);
    const auto& bytes = d.bytes();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      text[7 + 2 * i] = k_hex[bytes[i] >> 4];
      text[8 + 2 * i] = k_hex[bytes[i] & 15];
    }
    field("content", std::string_view(text, sizeof text));
    if (m_listing) content.assign(text, sizeof text);
  }
  m_hash->update(b);
  if (m_listing) list_entry(e, content, *m_listing);
  return {};
}

store::Digest SelectionHasher::finish() { return store::Digest::from_bytes(m_hash->finish()); }

util::Result<store::Digest> selection_digest(std::span<const SelectedEntry> entries, FileDigester& files,
                                             std::string_view extra) {
  SelectionHasher h(files, extra, entries.size());
  for (const auto& e : entries) MKIMAGE_TRY_VOID(h.add(e));
  return h.finish();
}

}  // namespace mkimage::builder
