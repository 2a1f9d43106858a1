#include "store/layer_apply.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/layer_writer.hpp"
#include "store/owner.hpp"
#include "util/sha256.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

constexpr std::size_t k_max_name = 4096;       // bytes of a name or link target
constexpr std::size_t k_max_component = 255;   // bytes of one path component
constexpr int k_max_xattrs = 1024;             // per entry
constexpr std::size_t k_max_xattr_value = 64 * 1024;  // bytes
constexpr la_int64_t k_max_id = 4294967294;    // uid/gid
constexpr const char* k_opaque = ".wh..wh..opq";

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd = o.fd;
      o.fd = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// One tar entry as pass 1 saw it.
struct Rec {
  std::string name;  // normalised: relative, no "." components, no trailing "/"; "" = the root
  char type = 'f';   // f d l h c b p; w = whiteout of `target`, o = opaque `name` (the directory)
  std::string link;  // hardlink: normalised target; symlink: as in the tar
  std::string target;  // whiteout: the path it deletes
};

Result<ReadArchive> open_archive(const fs::path& layer) {
  ReadArchive a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  if (archive_read_open_filename(a.get(), layer.c_str(), 1 << 20) != ARCHIVE_OK) {
    return Error{"layer \"" + layer.string() + "\": " + archive_error_string(a.get())};
  }
  return a;
}

std::string parent_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? std::string() : p.substr(0, s);
}
std::string base_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// Normalises a tar name. Errors: absolute, "..", too long.
Result<std::string> normalize(const char* raw, const char* what) {
  if (!raw) return Error{std::string(what) + " is not readable"};
  std::string_view s(raw);
  if (s.size() > k_max_name) return Error{std::string(what) + " longer than 4096 bytes"};
  if (s.empty()) return Error{std::string(what) + " is empty"};
  if (s.front() == '/') return Error{std::string(what) + " is an absolute path"};
  std::string out;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view c = s.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") return Error{std::string(what) + " has a \"..\" component"};
    if (c.size() > k_max_component) return Error{std::string(what) + " has a component longer than 255 bytes"};
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

struct Scan {
  std::vector<Rec> recs;
  ApplyStats stats;
};

// Pass 1: reads every header, checks what can be checked on one entry alone.
Result<Scan> scan(const fs::path& layer, ApplyMode mode, bool allow_devices) {
  MKIMAGE_TRY(ReadArchive a, open_archive(layer));
  Scan out;
  const std::string where = "layer \"" + layer.string() + "\"";
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error{where + ": " + archive_error_string(a.get())};
    const char* raw = archive_entry_pathname(e);
    std::string shown = raw ? std::string(raw).substr(0, 200) : std::string("?");
    auto refuse = [&](const std::string& why) { return Error{where + ": entry \"" + shown + "\": " + why}; };
    auto name = normalize(raw, "name");
    if (!name) return refuse(name.error().message);
    ++out.stats.entries;

    Rec rec;
    rec.name = *name;
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || uid > k_max_id || gid < 0 || gid > k_max_id) return refuse("uid/gid out of range");
    int nx = archive_entry_xattr_reset(e);
    if (nx > k_max_xattrs) return refuse("more than 1024 xattrs");
    const char* xn;
    const void* xv;
    size_t xs;
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
      if (xs > k_max_xattr_value) return refuse(std::string("xattr ") + xn + " larger than 64 KiB");
    }

    std::string base = base_of(rec.name);
    if (base.starts_with(".wh.")) {
      ++out.stats.whiteouts;
      if (base == k_opaque) {
        rec.type = 'o';
        rec.name = parent_of(rec.name);
      } else if (base.starts_with(".wh..wh.")) {
        return refuse("reserved whiteout name");
      } else {
        std::string victim = base.substr(4);
        if (victim.empty() || victim == "." || victim == "..") return refuse("whiteout of \"" + victim + "\"");
        rec.type = 'w';
        rec.target = join(parent_of(rec.name), victim);
      }
      out.recs.push_back(std::move(rec));
      archive_read_data_skip(a.get());
      continue;
    }

    if (const char* hl = archive_entry_hardlink(e)) {
      auto link = normalize(hl, "hardlink target");
      if (!link) return refuse(link.error().message);
      if (link->empty()) return refuse("hardlink to the root");
      rec.type = 'h';
      rec.link = *link;
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG: rec.type = 'f'; break;
        case AE_IFDIR: rec.type = 'd'; break;
        case AE_IFLNK: {
          rec.type = 'l';
          const char* t = archive_entry_symlink(e);
          if (!t || !*t) return refuse("symlink without a target");
          if (std::strlen(t) > k_max_name) return refuse("symlink target longer than 4096 bytes");
          rec.link = t;
          break;
        }
        case AE_IFCHR:
        case AE_IFBLK: {
          bool chr = archive_entry_filetype(e) == AE_IFCHR;
          rec.type = chr ? 'c' : 'b';
          if (!allow_devices) return refuse("device node (only root may create device nodes)");
          if (mode == ApplyMode::snapshot && chr && archive_entry_rdev(e) == makedev(0, 0)) {
            return refuse("0/0 character device (an overlay whiteout) in a layer tar");
          }
          break;
        }
        case AE_IFIFO: rec.type = 'p'; break;
        default: return refuse("unsupported entry type");
      }
    }
    if (rec.name.empty() && rec.type != 'd') return refuse("the root is not a directory");
    out.recs.push_back(std::move(rec));
    if (archive_read_data_skip(a.get()) < ARCHIVE_WARN) return Error{where + ": " + archive_error_string(a.get())};
  }
  return out;
}

// Pass 1, second half: simulates the layer over the target (if any) so that no
// entry, whiteout or hardlink goes through a symlink or a non-directory.
class Simulation {
public:
  // `require_link_targets`: a hardlink target must exist (in the layer or the target).
  Simulation(const Scan& scan, int rootfd, std::string where, bool require_link_targets)
      : m_rootfd(rootfd), m_where(std::move(where)), m_require_links(require_link_targets) {
    for (const auto& r : scan.recs) {
      if (r.type == 'w') m_whiteouts.insert(r.target);
      if (r.type == 'o') m_opaque.insert(r.name);
    }
  }

  Result<void> run(const Scan& scan) {
    for (const auto& r : scan.recs) {
      std::string shown = r.type == 'w' ? join(parent_of(r.target), ".wh." + base_of(r.target))
                          : r.type == 'o' ? join(r.name, k_opaque) : r.name;
      auto refuse = [&](const std::string& why) { return Error{m_where + ": entry \"" + shown + "\": " + why}; };
      const std::string& path = r.type == 'w' ? r.target : r.name;
      if (r.type == 'o') {
        // the opaque directory itself must be a real directory (or not exist yet)
        if (!r.name.empty()) {
          auto t = type_of(r.name);
          if (!t.ok()) return refuse(t.error().message);
          if (*t == 'l') return refuse("opaque whiteout in a symlink (\"" + r.name + "\")");
        }
        if (auto c = check_parents(r.name); !c) return refuse(c.error().message);
        continue;
      }
      if (path.empty()) continue;  // root entry
      if (auto c = check_parents(path); !c) return refuse(c.error().message);
      if (r.type == 'w') continue;
      if (r.type == 'h') {
        if (auto c = check_parents(r.link); !c) return refuse("hardlink target: " + c.error().message);
        auto t = type_of(r.link);
        if (!t.ok()) return refuse(t.error().message);
        if (*t == 0 && m_require_links) return refuse("hardlink target \"" + r.link + "\" does not exist");
        if (*t == 'd') return refuse("hardlink target \"" + r.link + "\" is a directory");
      }
      m_layer[path] = r.type == 'h' ? 'f' : r.type;
    }
    return {};
  }

private:
  // Lower content at `p` is gone when p or an ancestor is whited out, or an
  // ancestor (or the root) is opaque.
  bool hidden(const std::string& p) const {
    if (m_opaque.count("")) return true;
    std::size_t i = 0;
    for (;;) {
      std::size_t j = p.find('/', i);
      std::string prefix = p.substr(0, j);
      if (m_whiteouts.count(prefix)) return true;
      if (j == std::string::npos) return false;
      if (m_opaque.count(prefix)) return true;
      i = j + 1;
    }
  }

  // The type `p` will have when the layer's entries before the current one are
  // applied: from this layer, else from the target; 0 = does not exist.
  Result<char> type_of(const std::string& p) {
    if (auto it = m_layer.find(p); it != m_layer.end()) return it->second;
    if (m_rootfd < 0 || hidden(p)) return char(0);
    if (auto it = m_lower.find(p); it != m_lower.end()) return it->second;
    struct stat st;
    char t;
    if (::fstatat(m_rootfd, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return util::sys_error("lstat", p);
      t = 0;
    } else {
      t = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'f';
    }
    m_lower[p] = t;
    return t;
  }

  Result<void> check_parents(const std::string& p) {
    std::size_t j = 0;
    while ((j = p.find('/', j)) != std::string::npos) {
      std::string prefix = p.substr(0, j);
      ++j;
      if (m_ok.count(prefix) && !m_layer.count(prefix)) continue;
      MKIMAGE_TRY(char t, type_of(prefix));
      if (t == 'l') return Error{"path goes through the symlink \"" + prefix + "\""};
      if (t != 0 && t != 'd') return Error{"path goes through the non-directory \"" + prefix + "\""};
      if (t == 'd' && !m_layer.count(prefix)) m_ok.insert(prefix);
    }
    return {};
  }

  int m_rootfd;
  std::string m_where;
  bool m_require_links;
  std::unordered_set<std::string> m_whiteouts;
  std::unordered_set<std::string> m_opaque;
  std::unordered_map<std::string, char> m_layer;  // entries of this layer so far
  std::unordered_map<std::string, char> m_lower;  // lstat results of the target
  std::unordered_set<std::string> m_ok;           // target directories checked
};

// Opens directory `rel` below rootfd without following any symlink. Returns -1
// with errno set on failure.
int open_dir_nofollow(int rootfd, const std::string& rel) {
  int cur = ::dup(rootfd);
  if (cur < 0 || rel.empty()) return cur;
  std::size_t i = 0;
  while (i <= rel.size()) {
    std::size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string c = rel.substr(i, j - i);
    i = j + 1;
    int next = ::openat(cur, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    ::close(cur);
    if (next < 0) {
      errno = err;
      return -1;
    }
    cur = next;
  }
  return cur;
}

Result<void> remove_children(int dirfd, const std::string& shown);

// Removes `name` in dirfd (a directory recursively). Missing is fine.
Result<void> remove_tree_at(int dirfd, const std::string& name, const std::string& shown) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return util::sys_error("lstat", shown);
  }
  if (S_ISDIR(st.st_mode)) {
    Fd d(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (d.fd < 0) return util::sys_error("open", shown);
    MKIMAGE_TRY_VOID(remove_children(d.fd, shown));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) return util::sys_error("rmdir", shown);
    return {};
  }
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return util::sys_error("unlink", shown);
  return {};
}

Result<void> remove_children(int dirfd, const std::string& shown) {
  int dup = ::dup(dirfd);
  if (dup < 0) return util::sys_error("dup", shown);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return util::sys_error("opendir", shown);
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    const char* n = de->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) MKIMAGE_TRY_VOID(remove_tree_at(dirfd, n, shown + "/" + n));
  return {};
}

bool is_root_user() { return ::geteuid() == 0; }

// libarchive's disk writer reports a failed write(2) (ENOSPC, EIO...) with
// ARCHIVE_WARN, the level it also uses for metadata it could not restore (owner,
// times, xattrs on a file system without them). A warning caused by a full or
// failing disk is an error; so is any result below ARCHIVE_OK of a data write
// (write failed, or more data than the header said).
bool disk_failure(archive* a) {
  switch (archive_errno(a)) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EFBIG:
    case EROFS:
      return true;
    default:
      return false;
  }
}

std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  std::string out = m ? m : "libarchive error";
  int err = archive_errno(a);
  // "Write failed" alone does not say why
  if (err > 0 && out.find(std::strerror(err)) == std::string::npos) out += std::string(": ") + std::strerror(err);
  return out;
}

// Pass 2: extraction with libarchive into `root` (an absolute, symlink-free path).
Result<void> extract(const fs::path& layer, const std::string& root, ApplyMode mode, bool owners) {
  MKIMAGE_TRY(ReadArchive a, open_archive(layer));
  std::unique_ptr<archive, ArchiveWriteDeleter> disk(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (owners) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk.get(), flags);
  const std::string where = "layer \"" + layer.string() + "\"";
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error{where + ": " + archive_error_string(a.get())};
    auto name = normalize(archive_entry_pathname(e), "name");
    if (!name) return Error{where + ": " + name.error().message};
    if (name->empty() || base_of(*name).starts_with(".wh.")) {
      archive_read_data_skip(a.get());
      continue;
    }
    std::string abs = root + "/" + *name;
    if (mode == ApplyMode::flat) {
      // An entry replaces what the target has at its name when the types differ
      // (a directory by a file, a symlink or a file by a directory), as
      // containerd's and docker's apply do; a directory over a directory merges.
      bool entry_dir = archive_entry_filetype(e) == AE_IFDIR;
      struct stat st;
      if (::lstat(abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode) != entry_dir) {
        Fd parent(::open(fs::path(abs).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (parent.fd < 0) return util::sys_error("open", fs::path(abs).parent_path().string());
        MKIMAGE_TRY_VOID(remove_tree_at(parent.fd, base_of(*name), abs));
      }
    }
    archive_entry_set_pathname(e, abs.c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      auto link = normalize(hl, "hardlink target");
      if (!link) return Error{where + ": " + link.error().message};
      archive_entry_set_hardlink(e, (root + "/" + *link).c_str());
    }
    // keep only the xattrs a layer may carry
    if (archive_entry_xattr_count(e) > 0) {
      std::vector<std::pair<std::string, std::string>> keep;
      archive_entry_xattr_reset(e);
      const char* xn;
      const void* xv;
      size_t xs;
      while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
        if (layer_keeps_xattr(xn)) keep.emplace_back(xn, std::string(static_cast<const char*>(xv), xs));
      }
      archive_entry_xattr_clear(e);
      for (auto& [k, v] : keep) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    }
    r = archive_write_header(disk.get(), e);
    if (r < ARCHIVE_WARN || (r == ARCHIVE_WARN && disk_failure(disk.get()))) {
      return Error{where + ": extract \"" + *name + "\": " + archive_message(disk.get())};
    }
    if (archive_entry_size(e) > 0) {
      const void* buf;
      size_t size;
      la_int64_t off;
      for (;;) {
        int rr = archive_read_data_block(a.get(), &buf, &size, &off);
        if (rr == ARCHIVE_EOF) break;
        if (rr < ARCHIVE_WARN) return Error{where + ": " + archive_error_string(a.get())};
        // ARCHIVE_WARN here is a failed write(2) (ENOSPC, EIO) or too much data
        if (archive_write_data_block(disk.get(), buf, size, off) < ARCHIVE_OK) {
          return Error{where + ": write \"" + *name + "\": " + archive_message(disk.get())};
        }
      }
    }
    int fr = archive_write_finish_entry(disk.get());
    if (fr < ARCHIVE_WARN || (fr == ARCHIVE_WARN && disk_failure(disk.get()))) {
      return Error{where + ": finish \"" + *name + "\": " + archive_message(disk.get())};
    }
  }
  int cr = archive_write_close(disk.get());
  if (cr < ARCHIVE_WARN || (cr == ARCHIVE_WARN && disk_failure(disk.get()))) {
    return Error{where + ": " + archive_message(disk.get())};
  }
  return {};
}

// Creates the directories of `rel` below rootfd (mode 0755) and returns the last.
Result<Fd> mkdirs_nofollow(int rootfd, const std::string& rel, const std::string& shown) {
  Fd cur(::dup(rootfd));
  if (rel.empty()) return cur;
  std::size_t i = 0;
  while (i <= rel.size()) {
    std::size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string c = rel.substr(i, j - i);
    i = j + 1;
    if (::mkdirat(cur.fd, c.c_str(), 0755) != 0 && errno != EEXIST) return util::sys_error("mkdir", shown);
    Fd next(::openat(cur.fd, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.fd < 0) return util::sys_error("open", shown);
    cur = std::move(next);
  }
  return cur;
}

// Snapshot mode: OCI whiteouts → overlay whiteouts, keeping directory mtimes.
Result<void> write_overlay_whiteouts(const Scan& scan, int rootfd, const std::string& root) {
  std::unordered_set<std::string> entries;
  for (const auto& r : scan.recs) {
    if (r.type != 'w' && r.type != 'o') entries.insert(r.name);
  }
  for (const auto& r : scan.recs) {
    if (r.type != 'w' && r.type != 'o') continue;
    std::string dir = r.type == 'w' ? parent_of(r.target) : r.name;
    std::string shown = root + "/" + dir;
    MKIMAGE_TRY(Fd d, mkdirs_nofollow(rootfd, dir, shown));
    struct stat st;
    if (::fstat(d.fd, &st) != 0) return util::sys_error("stat", shown);
    if (r.type == 'w') {
      if (entries.count(r.target)) continue;  // the same layer re-creates it
      std::string name = base_of(r.target);
      if (::mknodat(d.fd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0 && errno != EEXIST) {
        return util::sys_error("mknod (overlay whiteout)", shown + "/" + name);
      }
    } else if (::fsetxattr(d.fd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
      return util::sys_error("setxattr trusted.overlay.opaque", shown);
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::futimens(d.fd, times);
  }
  return {};
}

Result<fs::path> canonical_dir(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::canonical(p, ec);
  if (ec) return Error{"target \"" + p.string() + "\": " + ec.message()};
  if (!fs::is_directory(c, ec)) return Error{"target \"" + p.string() + "\" is not a directory"};
  return c;
}

}  // namespace

Result<ApplyStats> check_layer(const fs::path& layer, const ApplyOptions& options) {
  bool devices = options.allow_devices.value_or(is_root_user());
  MKIMAGE_TRY(Scan s, scan(layer, ApplyMode::flat, devices));
  Simulation sim(s, -1, "layer \"" + layer.string() + "\"", false);
  MKIMAGE_TRY_VOID(sim.run(s));
  return s.stats;
}

Result<ApplyStats> apply_layer(const fs::path& layer, const fs::path& target, ApplyMode mode,
                               const ApplyOptions& options) {
  bool devices = options.allow_devices.value_or(is_root_user());
  bool owners = options.restore_owners.value_or(is_root_user());
  MKIMAGE_TRY(Scan s, scan(layer, mode, devices));
  const std::string where = "layer \"" + layer.string() + "\"";

  if (mode == ApplyMode::flat) {
    MKIMAGE_TRY(fs::path root, canonical_dir(target));
    Fd rootfd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (rootfd.fd < 0) return util::sys_error("open", root.string());
    {
      Simulation sim(s, rootfd.fd, where, true);
      MKIMAGE_TRY_VOID(sim.run(s));
    }
    // Whiteouts first: they hide lower content only, never this layer's entries.
    // A directory of the layer may replace a non-directory of the target (a
    // symlink removed and a directory made at its name): the lower entry has
    // nothing below it to hide (ENOTDIR, or ELOOP for a symlink), and the
    // extraction replaces it.
    auto nothing_below = [](int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP; };
    for (const auto& r : s.recs) {
      if (r.type == 'o') {
        Fd d(open_dir_nofollow(rootfd.fd, r.name));
        if (d.fd < 0) {
          if (nothing_below(errno)) continue;
          return util::sys_error("open", (root / r.name).string());
        }
        MKIMAGE_TRY_VOID(remove_children(d.fd, (root / r.name).string()));
      } else if (r.type == 'w') {
        Fd d(open_dir_nofollow(rootfd.fd, parent_of(r.target)));
        if (d.fd < 0) {
          if (nothing_below(errno)) continue;
          return util::sys_error("open", (root / parent_of(r.target)).string());
        }
        MKIMAGE_TRY_VOID(remove_tree_at(d.fd, base_of(r.target), (root / r.target).string()));
      }
    }
    MKIMAGE_TRY_VOID(extract(layer, root.string(), mode, owners));
    return s.stats;
  }

  // snapshot: staging directory beside the target, renamed into place.
  {
    Simulation sim(s, -1, where, true);
    MKIMAGE_TRY_VOID(sim.run(s));
  }
  fs::path tgt = target;
  while (!tgt.empty() && !tgt.has_filename()) tgt = tgt.parent_path();
  MKIMAGE_TRY(fs::path parent, canonical_dir(tgt.parent_path().empty() ? fs::path(".") : tgt.parent_path()));
  fs::path final_path = parent / tgt.filename();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(final_path, ec))) {
    if (!fs::is_directory(fs::symlink_status(final_path)) || !fs::is_empty(final_path, ec)) {
      return Error{"snapshot target \"" + final_path.string() + "\" exists and is not an empty directory"};
    }
  }
  // owner-tagged (store/owner.hpp): what a killed unpack leaves is swept
  std::string tmpl =
      (parent / (".tmp-" + tgt.filename().string().substr(0, 16) + "-" + owner_tag() + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) return util::sys_error("mkdtemp", tmpl);
  ::chmod(tmpl.c_str(), 0755);
  auto cleanup = [&] {
    Fd p(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (p.fd >= 0) (void)remove_tree_at(p.fd, fs::path(tmpl).filename().string(), tmpl);
  };
  auto done = [&]() -> Result<void> {
    MKIMAGE_TRY_VOID(extract(layer, tmpl, mode, owners));
    Fd stagefd(::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (stagefd.fd < 0) return util::sys_error("open", tmpl);
    MKIMAGE_TRY_VOID(write_overlay_whiteouts(s, stagefd.fd, tmpl));
    if (fs::exists(fs::symlink_status(final_path, ec)) && ::rmdir(final_path.c_str()) != 0) {
      return util::sys_error("rmdir", final_path.string());
    }
    if (::rename(tmpl.c_str(), final_path.c_str()) != 0) return util::sys_error("rename to", final_path.string());
    return {};
  }();
  if (!done) {
    cleanup();
    return done.error();
  }
  return s.stats;
}

namespace {

// What the tar says a path of the snapshot must be.
struct Expect {
  char type = 'f';    // f d l h c b p
  unsigned perm = 0;  // 0777 bits
  la_int64_t uid = 0, gid = 0;
  la_int64_t size = 0;
  std::string sha;   // regular file: SHA-256 of the content (hex)
  std::string link;  // symlink target; hardlink: the normalised path it names
};

Result<std::string> hash_file(int dirfd, const std::string& rel, const std::string& shown) {
  Fd fd(::openat(dirfd, rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd < 0) return util::sys_error("open", shown);
  util::Sha256 h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return util::sys_error("read", shown);
    if (n == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
  }
  return h.finish_hex();
}

char type_char(mode_t m) {
  return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b'
         : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '?';
}

const char* type_name(char t) {
  switch (t) {
    case 'f': return "a regular file";
    case 'd': return "a directory";
    case 'l': return "a symlink";
    case 'c': return "a character device";
    case 'b': return "a block device";
    case 'p': return "a fifo";
    case 's': return "a socket";
    default: return "something else";
  }
}

bool is_whiteout_node(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

}  // namespace

Result<std::vector<std::string>> verify_snapshot(const fs::path& layer, const fs::path& dir, std::size_t max_problems) {
  std::vector<std::string> problems;
  auto report = [&](const std::string& rel, const std::string& why) {
    if (problems.size() < max_problems) problems.push_back("\"/" + rel + "\": " + why);
  };
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.fd < 0) {
    problems.push_back(util::sys_error("open", dir.string()).message);
    return problems;
  }

  // The tar's final state: later entries of a path replace earlier ones.
  std::map<std::string, Expect> want;
  std::set<std::string> whiteouts, opaque;
  {
    MKIMAGE_TRY(ReadArchive a, open_archive(layer));
    const std::string where = "layer \"" + layer.string() + "\"";
    std::vector<char> sink;
    for (;;) {
      archive_entry* e = nullptr;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return Error{where + ": " + archive_error_string(a.get())};
      auto name = normalize(archive_entry_pathname(e), "name");
      if (!name) return Error{where + ": " + name.error().message};
      std::string base = base_of(*name);
      if (base == k_opaque) {
        opaque.insert(parent_of(*name));
        continue;
      }
      if (base.starts_with(".wh.")) {
        whiteouts.insert(join(parent_of(*name), base.substr(4)));
        continue;
      }
      if (name->empty()) continue;  // the root keeps the snapshot directory's own metadata
      Expect x;
      x.perm = archive_entry_perm(e) & 0777;
      x.uid = archive_entry_uid(e);
      x.gid = archive_entry_gid(e);
      if (const char* hl = archive_entry_hardlink(e)) {
        auto link = normalize(hl, "hardlink target");
        if (!link) return Error{where + ": " + link.error().message};
        x.type = 'h';
        x.link = *link;
      } else {
        x.type = type_char(archive_entry_filetype(e));
        if (x.type == 'l') x.link = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
      }
      if (x.type == 'f') {
        x.size = archive_entry_size(e);
        util::Sha256 h;
        const void* buf;
        size_t size;
        la_int64_t off;
        la_int64_t at = 0;
        for (;;) {
          int rr = archive_read_data_block(a.get(), &buf, &size, &off);
          if (rr == ARCHIVE_EOF) break;
          if (rr < ARCHIVE_WARN) return Error{where + ": " + archive_error_string(a.get())};
          if (off > at) {  // a sparse hole reads as zeros
            std::vector<char> zeros(static_cast<std::size_t>(std::min<la_int64_t>(off - at, 1 << 20)), 0);
            while (at < off) {
              auto n = static_cast<std::size_t>(std::min<la_int64_t>(off - at, static_cast<la_int64_t>(zeros.size())));
              h.update(zeros.data(), n);
              at += static_cast<la_int64_t>(n);
            }
          }
          h.update(buf, size);
          at = off + static_cast<la_int64_t>(size);
        }
        if (at < x.size) {
          std::vector<char> zeros(static_cast<std::size_t>(std::min<la_int64_t>(x.size - at, 1 << 20)), 0);
          while (at < x.size) {
            auto n = static_cast<std::size_t>(std::min<la_int64_t>(x.size - at, static_cast<la_int64_t>(zeros.size())));
            h.update(zeros.data(), n);
            at += static_cast<la_int64_t>(n);
          }
        }
        x.sha = h.finish_hex();
      }
      want.insert_or_assign(*name, std::move(x));
    }
  }

  const bool root_user = is_root_user();
  const std::string shown_root = dir.string();
  for (const auto& [rel, x] : want) {
    if (problems.size() >= max_problems) break;
    struct stat st;
    if (::fstatat(root.fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      report(rel, errno == ENOENT || errno == ENOTDIR ? std::string("missing") : std::strerror(errno));
      continue;
    }
    char want_type = x.type == 'h' ? 'f' : x.type;
    char have = type_char(st.st_mode);
    if (have != want_type) {
      report(rel, std::string("is ") + type_name(have) + ", the layer has " + type_name(want_type));
      continue;
    }
    if (x.type == 'h') {
      struct stat t;
      if (::fstatat(root.fd, x.link.c_str(), &t, AT_SYMLINK_NOFOLLOW) != 0 || t.st_ino != st.st_ino ||
          t.st_dev != st.st_dev) {
        report(rel, "is not a hardlink of \"/" + x.link + "\"");
      }
      continue;
    }
    if (x.type != 'l' && (st.st_mode & 0777) != x.perm) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "mode %03o, the layer has %03o", st.st_mode & 0777, x.perm);
      report(rel, buf);
      continue;
    }
    if (root_user && (st.st_uid != x.uid || st.st_gid != x.gid)) {
      report(rel, "owner " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + ", the layer has " +
                      std::to_string(x.uid) + ":" + std::to_string(x.gid));
      continue;
    }
    if (x.type == 'f') {
      if (st.st_size != x.size) {
        report(rel, std::to_string(st.st_size) + " bytes, the layer has " + std::to_string(x.size));
        continue;
      }
      auto sha = hash_file(root.fd, rel, shown_root + "/" + rel);
      if (!sha) {
        report(rel, sha.error().message);
      } else if (*sha != x.sha) {
        report(rel, "content differs from the layer");
      }
    } else if (x.type == 'l') {
      std::string target(4097, '\0');
      ssize_t n = ::readlinkat(root.fd, rel.c_str(), target.data(), target.size());
      if (n < 0) {
        report(rel, std::string("readlink: ") + std::strerror(errno));
        continue;
      }
      target.resize(static_cast<std::size_t>(n));
      if (target != x.link) report(rel, "symlink to \"" + target + "\", the layer has \"" + x.link + "\"");
    }
  }
  for (const auto& w : whiteouts) {
    if (problems.size() >= max_problems) break;
    if (want.count(w)) continue;  // the same layer re-creates it
    struct stat st;
    if (::fstatat(root.fd, w.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !is_whiteout_node(st)) {
      report(w, "the layer deletes it but the snapshot has no whiteout");
    }
  }
  for (const auto& o : opaque) {
    if (problems.size() >= max_problems) break;
    std::string p = o.empty() ? dir.string() : dir.string() + "/" + o;
    char v[2];
    ssize_t n = ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v);
    if (n < 0) n = ::lgetxattr(p.c_str(), "user.overlay.opaque", v, sizeof v);
    if (n == 1 && v[0] == 'y') continue;
    if (root_user) report(o, "the layer makes it opaque but the snapshot does not");
  }

  // Extra whiteouts: walk the snapshot.
  std::vector<std::string> todo{""};
  while (!todo.empty() && problems.size() < max_problems) {
    std::string d = todo.back();
    todo.pop_back();
    Fd dfd(d.empty() ? ::dup(root.fd) : ::openat(root.fd, d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dfd.fd < 0) {
      report(d, std::string("open: ") + std::strerror(errno));
      continue;
    }
    int dup = ::dup(dfd.fd);
    DIR* dp = dup < 0 ? nullptr : ::fdopendir(dup);
    if (!dp) {
      report(d, std::string("opendir: ") + std::strerror(errno));
      if (dup >= 0) ::close(dup);
      continue;
    }
    std::vector<std::string> names;
    while (dirent* de = ::readdir(dp)) {
      const char* n = de->d_name;
      if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
      names.emplace_back(n);
    }
    ::closedir(dp);
    for (const auto& n : names) {
      std::string rel = join(d, n);
      struct stat st;
      if (::fstatat(dfd.fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) todo.push_back(rel);
      if (want.count(rel)) continue;
      if (is_whiteout_node(st)) {
        if (!whiteouts.count(rel)) report(rel, "a whiteout the layer does not have");
        continue;
      }
      // Other extra content is no sign of damage (an unpack writes only what
      // the tar has), and an adopted upperdir legitimately keeps what its layer
      // leaves out: runtime-made mount points and secret targets (with content).
    }
  }
  return problems;
}

}  // namespace mkimage::store
