#include "builder/snapshotter_copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include "builder/snapshotter.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool is_opaque(const fs::path& p) {
  char v[4] = {};
  return lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v) > 0 && v[0] == 'y';
}

void copy_xattrs(const fs::path& src, const fs::path& dst) {
  ssize_t n = llistxattr(src.c_str(), nullptr, 0);
  if (n <= 0) return;
  std::string names(static_cast<size_t>(n), '\0');
  n = llistxattr(src.c_str(), names.data(), names.size());
  if (n <= 0) return;
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.rfind("trusted.overlay.", 0) == 0) continue;
    ssize_t vn = lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) continue;
    std::string value(static_cast<size_t>(vn), '\0');
    vn = lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (vn >= 0) lsetxattr(dst.c_str(), name.c_str(), value.data(), static_cast<size_t>(vn), 0);
  }
}

void set_times(const fs::path& dst, const struct stat& st) {
  timespec ts[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, dst.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

// Copies one entry (not the children of a directory).
Result<void> copy_entry(const fs::path& src, const fs::path& dst, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(dst.c_str(), st.st_mode & 07777) != 0 && errno != EEXIST) return util::sys_error("mkdir", dst.string());
  } else if (S_ISREG(st.st_mode)) {
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return util::sys_error("open", src.string());
    int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
    if (out < 0) {
      int e = errno;
      ::close(in);
      return util::sys_error("create", dst.string(), e);
    }
    char buf[1 << 16];
    // Every result checked: a full disk shows as a short write, then ENOSPC.
    auto failed = [&](const char* what, const fs::path& p) {
      int e = errno;
      ::close(in);
      ::close(out);
      return util::sys_error(what, p.string(), e);
    };
    for (;;) {
      ssize_t n = ::read(in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failed("read", src);
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return failed("write", dst);
        off += w;
      }
    }
    ::close(in);
    if (::close(out) != 0) return util::sys_error("close", dst.string());
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) return util::sys_error("readlink", src.string());
    target.resize(static_cast<size_t>(n));
    if (::symlink(target.c_str(), dst.c_str()) != 0) return util::sys_error("symlink", dst.string());
  } else {
    if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) return util::sys_error("mknod", dst.string());
  }
  ::lchown(dst.c_str(), st.st_uid, st.st_gid);
  if (!S_ISLNK(st.st_mode)) ::chmod(dst.c_str(), st.st_mode & 07777);
  copy_xattrs(src, dst);
  if (!S_ISDIR(st.st_mode)) set_times(dst, st);
  return {};
}

Result<void> copy_tree_stat(const fs::path& src, const fs::path& dst, const struct stat& st) {
  MKIMAGE_TRY_VOID(copy_entry(src, dst, st));
  if (S_ISDIR(st.st_mode)) {
    for (const auto& name : list_dir(src)) {
      struct stat cst;
      if (::lstat((src / name).c_str(), &cst) != 0) continue;
      MKIMAGE_TRY_VOID(copy_tree_stat(src / name, dst / name, cst));
    }
    set_times(dst, st);
  }
  return {};
}

// Applies one overlay-format layer directory `layer` onto `base`.
Result<void> apply_layer(const fs::path& layer, const fs::path& base) {
  for (const auto& name : list_dir(layer)) {
    fs::path src = layer / name, dst = base / name;
    struct stat st, dst_st;
    if (::lstat(src.c_str(), &st) != 0) continue;
    bool dst_exists = ::lstat(dst.c_str(), &dst_st) == 0;
    if (is_whiteout(st)) {
      if (dst_exists) remove_tree(dst);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (dst_exists && S_ISDIR(dst_st.st_mode)) {
        if (is_opaque(src))
          for (const auto& child : list_dir(dst)) remove_tree(dst / child);
        ::lchown(dst.c_str(), st.st_uid, st.st_gid);
        ::chmod(dst.c_str(), st.st_mode & 07777);
      } else {
        if (dst_exists) remove_tree(dst);
        MKIMAGE_TRY_VOID(copy_entry(src, dst, st));
      }
      MKIMAGE_TRY_VOID(apply_layer(src, dst));
      set_times(dst, st);
    } else {
      if (dst_exists) remove_tree(dst);
      MKIMAGE_TRY_VOID(copy_entry(src, dst, st));
    }
  }
  return {};
}

bool differs(const fs::path& a, const struct stat& sa, const fs::path& b, const struct stat& sb) {
  if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) return true;
  if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid) return true;
  if (S_ISDIR(sa.st_mode)) return false;
  if (sa.st_size != sb.st_size || sa.st_rdev != sb.st_rdev) return true;
  if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) return true;
  if (S_ISLNK(sa.st_mode)) return fs::read_symlink(a) != fs::read_symlink(b);
  return false;
}

// Makes sure the directories leading to upper/rel exist (copied from merged).
Result<void> ensure_parents(const fs::path& merged, const fs::path& upper, const fs::path& rel) {
  fs::path acc;
  for (const auto& part : rel.parent_path()) {
    acc /= part;
    fs::path u = upper / acc;
    struct stat st;
    if (::lstat(u.c_str(), &st) == 0) continue;
    if (::lstat((merged / acc).c_str(), &st) != 0) return util::sys_error("stat", (merged / acc).string());
    MKIMAGE_TRY_VOID(copy_entry(merged / acc, u, st));
  }
  return {};
}

Result<void> diff_dir(const fs::path& merged, const fs::path& base, const fs::path& upper, const fs::path& rel) {
  std::set<std::string> seen;
  for (const auto& name : list_dir(merged / rel)) {
    seen.insert(name);
    fs::path r = rel / name;
    struct stat m, b;
    if (::lstat((merged / r).c_str(), &m) != 0) continue;
    bool in_base = ::lstat((base / r).c_str(), &b) == 0;
    if (!in_base || (m.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) {
      MKIMAGE_TRY_VOID(ensure_parents(merged, upper, r));
      MKIMAGE_TRY_VOID(copy_tree_stat(merged / r, upper / r, m));
      if (in_base && S_ISDIR(m.st_mode)) lsetxattr((upper / r).c_str(), "trusted.overlay.opaque", "y", 1, 0);
      continue;
    }
    if (S_ISDIR(m.st_mode)) {
      if (differs(merged / r, m, base / r, b)) {
        MKIMAGE_TRY_VOID(ensure_parents(merged, upper, r));
        struct stat u;
        if (::lstat((upper / r).c_str(), &u) != 0) MKIMAGE_TRY_VOID(copy_entry(merged / r, upper / r, m));
      }
      MKIMAGE_TRY_VOID(diff_dir(merged, base, upper, r));
      continue;
    }
    if (differs(merged / r, m, base / r, b)) {
      MKIMAGE_TRY_VOID(ensure_parents(merged, upper, r));
      MKIMAGE_TRY_VOID(copy_entry(merged / r, upper / r, m));
    }
  }
  for (const auto& name : list_dir(base / rel)) {
    if (seen.count(name)) continue;
    fs::path r = rel / name;
    MKIMAGE_TRY_VOID(ensure_parents(merged, upper, r));
    if (::mknod((upper / r).c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
      return util::sys_error("mknod whiteout", (upper / r).string());
  }
  return {};
}

}  // namespace

Result<void> copy_tree(const fs::path& src, const fs::path& dst) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return util::sys_error("stat", src.string());
  return copy_tree_stat(src, dst, st);
}

Result<void> copy_snapshot_prepare(const std::vector<fs::path>& lowers, const fs::path& upper, const fs::path& base,
                                   const fs::path& merged) {
  fs::path marker = merged.parent_path() / "copied";
  struct stat st;
  if (::lstat(marker.c_str(), &st) == 0) return {};
  remove_tree(base);
  remove_tree(merged);
  if (::mkdir(base.c_str(), 0755) != 0) return util::sys_error("mkdir", base.string());
  for (auto it = lowers.rbegin(); it != lowers.rend(); ++it) MKIMAGE_TRY_VOID(apply_layer(*it, base));
  MKIMAGE_TRY_VOID(copy_tree(base, merged));
  MKIMAGE_TRY_VOID(apply_layer(upper, merged));
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return util::sys_error("create", marker.string());
  ::close(fd);
  return {};
}

Result<void> copy_snapshot_diff(const fs::path& merged, const fs::path& base, const fs::path& upper) {
  for (const auto& name : list_dir(upper)) remove_tree(upper / name);
  return diff_dir(merged, base, upper, {});
}

}  // namespace mkimage::builder
