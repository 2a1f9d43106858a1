#include "builder/content_hash.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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

util::Result<std::optional<store::Digest>> MemoryStatCache::get(const std::string& path, const StatKey& key) {
  std::lock_guard lock(m_mutex);
  auto it = m_entries.find(path);
  if (it == m_entries.end() || it->second.first != key) return std::optional<store::Digest>{};
  return std::optional<store::Digest>{it->second.second};
}

util::Result<void> MemoryStatCache::put(const std::string& path, const StatKey& key, const store::Digest& digest) {
  std::lock_guard lock(m_mutex);
  m_entries[path] = {key, digest};
  return {};
}

std::size_t MemoryStatCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

util::Result<store::Digest> FileDigester::digest_file(const fs::path& host_path, const struct stat& st) {
  return digest_file(host_path.native(), StatKey::of(st));
}

util::Result<store::Digest> FileDigester::digest_file(const std::string& path, const StatKey& key) {
  if (m_cache) {
    MKIMAGE_TRY(auto hit, m_cache->get(path, key));
    if (hit) {
      ++m_cache_hits;
      return *hit;
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
      MKIMAGE_TRY_VOID(m_cache->put(path, key, digest));
    }
  }
  return digest;
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

util::Result<std::vector<std::pair<std::string, std::string>>> read_xattrs_at(int dir_fd, const char* name,
                                                                               const fs::path& host_path) {
#ifdef __x86_64__
  // listxattrat(dfd, path, at_flags, list, size); not in Debian 12's headers yet.
  constexpr long k_sys_listxattrat = 465;
  static std::atomic<bool> unsupported{false};
  if (!unsupported.load(std::memory_order_relaxed)) {
    char probe[256];
    long n = ::syscall(k_sys_listxattrat, dir_fd, name, AT_SYMLINK_NOFOLLOW, probe, sizeof probe);
    if (n == 0) return std::vector<std::pair<std::string, std::string>>{};
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
      unsupported.store(true, std::memory_order_relaxed);  // seccomp filters may answer EPERM
    } else if (n < 0 && errno == ENOTSUP) {
      return std::vector<std::pair<std::string, std::string>>{};
    } else if (n > 0) {
      // Something is there: only image_xattr() names need the full read.
      bool any = false;
      for (long pos = 0; pos < n;) {
        std::string_view x(probe + pos);
        any = any || image_xattr(x);
        pos += static_cast<long>(x.size()) + 1;
      }
      if (!any) return std::vector<std::pair<std::string, std::string>>{};
    }
    // ERANGE (a long list) and names to read: the path-based read below.
  }
#else
  (void)dir_fd;
  (void)name;
#endif
  return read_xattrs(host_path);
}

util::Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(const fs::path& host_path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string path = host_path.string();
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
  util::Sha256& h = *m_hash;
  std::string content;  // the bytes' digest, when listing
  add_field(h, "path", e.path);
  add_field(h, "type", entry_type_name(e.type));
  char mode[16];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(e.mode & 07777));
  add_field(h, "mode", mode);
  add_field(h, "uid", std::to_string(e.uid));
  add_field(h, "gid", std::to_string(e.gid));
  if (e.type == EntryType::symlink || e.type == EntryType::hardlink) add_field(h, "link", e.link_target);
  if (e.type == EntryType::char_device || e.type == EntryType::block_device) {
    add_field(h, "rdev", std::to_string(e.rdev));
  }
  add_field(h, "xattrs", std::to_string(e.xattrs.size()));
  for (const auto& [name, value] : e.xattrs) {
    add_field(h, "xattr.name", name);
    add_field(h, "xattr.value", value);
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
    add_field(h, "content", d.str());
    if (m_listing) content = d.str();
  }
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
