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

#include "store/archive_error.hpp"
#include "store/layer_tar.hpp"
#include "store/layer_writer.hpp"
#include "store/owner.hpp"
#include "util/sha256.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

using namespace layer_tar;

// One tar entry as pass 1 saw it.
struct Rec {
  std::string name;  // normalised: relative, no "." components, no trailing "/"; "" = the root
  char type = 'f';   // f d l h c b p; w = whiteout of `target`, o = opaque `name` (the directory)
  std::string link;  // hardlink: normalised target; symlink: as in the tar
  std::string target;  // whiteout: the path it deletes
};

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
    if (r < ARCHIVE_WARN) return Error{where + ": " + archive_error_text(a.get())};
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
    if (archive_read_data_skip(a.get()) < ARCHIVE_WARN) return Error{where + ": " + archive_error_text(a.get())};
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
    // (most layers have no whiteouts: no walk over p's prefixes, which made a
    // deep path cubic — testdata/fuzz/layer_apply/regressions/deep-directory.tar)
    if (m_whiteouts.empty() && m_opaque.empty()) return false;
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
  std::string out = archive_error_text(a);
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
    MKIMAGE_TRY(auto entry, next_entry(a.get(), where));
    if (!entry) break;
    archive_entry* e = entry->first;
    const std::string* name = &entry->second;
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
    int r = archive_write_header(disk.get(), e);
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
        if (rr < ARCHIVE_WARN) return Error{where + ": " + archive_error_text(a.get())};
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

}  // namespace mkimage::store
