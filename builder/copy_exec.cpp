// COPY/ADD execution: writes a CopyPlan into the destination rootfs.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "builder/chmod.hpp"
#include "builder/copy_internal.hpp"
#include "builder/fs_resolve.hpp"
#include "util/fd.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

// Copies what is left of `in` to `out` (both open; not closed): copy_file_range
// in the kernel, sendfile where the filesystems refuse it (`use_cfr` becomes
// false then, so that the next file of the same copy does not try again: from
// the context into an overlay mount it is always EXDEV). `to` names the
// destination in errors.
util::Result<void> copy_fd_bytes(int in, int out, const fs::path& to, std::uint64_t& bytes, bool& use_cfr) {
  while (true) {
    ssize_t n;
    if (use_cfr) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        use_cfr = false;
        continue;
      }
    } else {
      n = ::sendfile(out, in, nullptr, 1 << 30);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("copy", to.string());
    }
    if (n == 0) return {};
    bytes += static_cast<std::uint64_t>(n);
  }
}

// Copies the image_xattr()s of the file open as `in` to the file open as `out`
// (what read_xattrs + lsetxattr do by path, without two path lookups per call).
util::Result<void> copy_fd_xattrs(int in, int out, const std::string& from, const fs::path& to) {
  char small[1024];
  std::string names;
  ssize_t n = ::flistxattr(in, small, sizeof small);
  if (n < 0 && errno == ERANGE) {
    ssize_t want = ::flistxattr(in, nullptr, 0);
    if (want < 0) return util::sys_error("llistxattr", from);
    names.resize(static_cast<std::size_t>(want));
    n = ::flistxattr(in, names.data(), names.size());
  } else if (n > 0) {
    names.assign(small, static_cast<std::size_t>(n));
  }
  if (n < 0) {
    if (errno == ENOTSUP) return {};
    return util::sys_error("llistxattr", from);
  }
  names.resize(static_cast<std::size_t>(n));
  std::vector<std::string> sorted;
  for (std::size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (image_xattr(name)) sorted.push_back(std::move(name));
  }
  std::sort(sorted.begin(), sorted.end());  // the order read_xattrs gives (set in name order)
  for (const auto& name : sorted) {
    ssize_t vn = ::fgetxattr(in, name.c_str(), nullptr, 0);
    if (vn < 0) {
      if (errno == ENODATA) continue;
      return util::sys_error("lgetxattr " + name, from);
    }
    std::string value(static_cast<std::size_t>(vn), '\0');
    vn = ::fgetxattr(in, name.c_str(), value.data(), value.size());
    if (vn < 0) return util::sys_error("lgetxattr " + name, from);
    value.resize(static_cast<std::size_t>(vn));
    if (::fsetxattr(out, name.c_str(), value.data(), value.size(), 0) != 0) {
      if (errno == ENOTSUP || errno == EPERM) continue;
      return util::sys_error("lsetxattr " + name, to.string());
    }
  }
  return {};
}

util::Result<void> copy_bytes(const fs::path& from, const fs::path& to, mode_t mode, std::uint64_t& bytes) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return util::sys_error("open", from.string());
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 0777);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return util::sys_error("create", to.string(), err);
  }
  bool use_cfr = true;
  if (auto r = copy_fd_bytes(in, out, to, bytes, use_cfr); !r) {
    ::close(in);
    ::close(out);
    return r;
  }
  ::close(in);
  if (::close(out) != 0) return util::sys_error("close", to.string());
  return {};
}

util::Result<void> write_bytes(const fs::path& to, const std::string& content, mode_t mode) {
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 0777);
  if (out < 0) return util::sys_error("create", to.string());
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(out, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(out);
      return util::sys_error("write", to.string(), err);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::close(out) != 0) return util::sys_error("close", to.string());
  return {};
}

// Removes what is at `p` unless it is a directory; returns whether a directory is there.
util::Result<bool> clear_non_dir(const fs::path& p) {
  struct stat st;
  if (lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return util::sys_error("lstat", p.string());
  }
  if (S_ISDIR(st.st_mode)) return true;
  if (::unlink(p.c_str()) != 0) return util::sys_error("unlink", p.string());
  return false;
}

struct Executor {
  const CopyPlan& plan;
  const DestTree& dest;
  std::optional<Owner> owner;          // --chown
  std::optional<ChmodSpec> chmod;
  CopyStats stats;
  std::map<std::pair<dev_t, ino_t>, fs::path> links;
  struct DirTimes {
    fs::path host;
    struct timespec times[2];
  };
  std::vector<DirTimes> dir_times;  // applied last, so writing children does not move them
  bool use_cfr = true;              // copy_file_range until the filesystems refuse it

  Owner owner_for(const WalkStat& st) const {
    if (owner) return *owner;
    if (plan.source.origin == SourceTree::Origin::rootfs) return Owner{st.st_uid, st.st_gid};
    return Owner{0, 0};
  }

  // `file_parents`: the directories above a destination that names a file.
  DirAttrs new_dir_attrs(bool file_parents = false) const {
    DirAttrs a;
    if (owner) {
      a.uid = owner->uid;
      a.gid = owner->gid;
    }
    // Directories the copy creates: 0755; those above a destination file get
    // the permission bits of an octal --chmod (BuildKit: `COPY --chmod=777 f
    // /parent/f` gives /parent 0777). A destination directory ("dir/") stays
    // 0755, so `COPY --chmod=640 files/ conf/` leaves conf/ traversable.
    a.mode = file_parents && chmod && chmod->is_octal() ? (chmod->apply(0, true) & 0777) : 0755;
    return a;
  }

  util::Result<void> apply_meta(const fs::path& target, const WalkStat& st, const Owner& o, mode_t mode,
                                const fs::path* xattr_source) {
    bool link = S_ISLNK(st.st_mode);
    if (::lchown(target.c_str(), o.uid, o.gid) != 0) return util::sys_error("lchown", target.string());
    if (!link && ::chmod(target.c_str(), mode & 07777) != 0) return util::sys_error("chmod", target.string());
    if (xattr_source) {
      MKIMAGE_TRY(auto xattrs, read_xattrs(*xattr_source));
      for (const auto& [name, value] : xattrs) {
        if (::lsetxattr(target.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
          if (errno == ENOTSUP || errno == EPERM) continue;  // e.g. user.* on a symlink
          return util::sys_error("lsetxattr " + name, target.string());
        }
      }
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISDIR(st.st_mode)) {
      dir_times.push_back(DirTimes{target, {times[0], times[1]}});
    } else if (::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return util::sys_error("utimensat", target.string());
    }
    return {};
  }

  mode_t mode_for(const WalkStat& st) const {
    mode_t m = st.st_mode & 07777;
    if (chmod && !S_ISLNK(st.st_mode)) m = chmod->apply(m, S_ISDIR(st.st_mode));
    return m;
  }

  // Where a walk entry's source and target are opened from: their parent
  // directories, open, and the entry's name; or nothing (full paths).
  struct At {
    int src_dir = AT_FDCWD;
    int dst_dir = AT_FDCWD;
    const char* name = nullptr;
    bool fresh_parent = false;  // this copy made the target's parent: nothing is at the target
  };

  // A regular file: its bytes (copy_file_range), then owner, mode, xattrs and
  // times through the open descriptors (one path lookup per file on each side,
  // none when `at` has the parents open).
  util::Result<void> copy_regular(const WalkEntry& w, const std::string& host, const fs::path& target,
                                  const Owner& o, mode_t mode, const At* at) {
    bool by_name = at && at->name;
    util::Fd in(by_name ? ::openat(at->src_dir, at->name, O_RDONLY | O_CLOEXEC) : ::open(host.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) return util::sys_error("open", host);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (at && at->fresh_parent ? O_EXCL : O_TRUNC);
    util::Fd out(by_name ? ::openat(at->dst_dir, at->name, flags, 0600) : ::open(target.c_str(), flags, 0600));
    if (out.fd < 0) return util::sys_error("create", target.string());
    MKIMAGE_TRY_VOID(copy_fd_bytes(in.fd, out.fd, target, stats.bytes, use_cfr));
    if (::fchown(out.fd, o.uid, o.gid) != 0) return util::sys_error("lchown", target.string());
    if (::fchmod(out.fd, mode & 07777) != 0) return util::sys_error("chmod", target.string());
    MKIMAGE_TRY_VOID(copy_fd_xattrs(in.fd, out.fd, host, target));
    struct timespec times[2] = {w.st.st_atim, w.st.st_mtim};
    if (::futimens(out.fd, times) != 0) return util::sys_error("utimensat", target.string());
    if (::close(out.release()) != 0) return util::sys_error("close", target.string());
    return {};
  }

  // Writes one walk entry at `target` (host path whose parent is a real directory).
  // `overwrite_dir_meta`: an existing directory gets the source's metadata.
  // `made_dir` (for a directory) tells whether this call created it.
  util::Result<void> write_entry(const WalkEntry& w, const fs::path& host, const fs::path& target,
                                 bool overwrite_dir_meta, const At* at = nullptr, bool* made_dir = nullptr) {
    const auto& st = w.st;
    Owner o = owner_for(st);
    mode_t mode = mode_for(st);
    bool fresh = at && at->fresh_parent;
    if (S_ISDIR(st.st_mode)) {
      bool is_dir = false;
      if (!fresh) {
        MKIMAGE_TRY(is_dir, clear_non_dir(target));
      }
      if (!is_dir) {
        if (::mkdir(target.c_str(), 0700) != 0) return util::sys_error("mkdir", target.string());
        if (made_dir) *made_dir = true;
      } else if (!overwrite_dir_meta) {
        return {};
      }
      ++stats.dirs;
      return apply_meta(target, st, o, mode, w.context_root ? nullptr : &host);
    }
    bool is_dir = false;
    if (!fresh) {
      MKIMAGE_TRY(is_dir, clear_non_dir(target));
    }
    if (is_dir) {
      return util::Error{"cannot replace directory \"" + rootfs_path_of(dest.rootfs, target) + "\" with a non-directory"};
    }
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        auto it = links.find(key);
        if (it != links.end()) {
          if (::link(it->second.c_str(), target.c_str()) != 0) return util::sys_error("link", target.string());
          return {};
        }
        links.emplace(key, target);
      }
      if (dest.link_equal_files && st.st_uid == o.uid && st.st_gid == o.gid && (st.st_mode & 07777) == mode &&
          ::linkat(AT_FDCWD, host.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        ++stats.files;
        stats.bytes += static_cast<std::uint64_t>(st.st_size);
        return {};  // the source's own metadata is what the copy would set
      }
      ++stats.files;
      return copy_regular(w, host, target, o, mode, at);
    } else if (S_ISLNK(st.st_mode)) {
      if (::symlink(w.link_target.c_str(), target.c_str()) != 0) return util::sys_error("symlink", target.string());
      ++stats.symlinks;
    } else if (S_ISSOCK(st.st_mode)) {
      // A socket cannot travel in a layer: BuildKit (fsutil) turns it into an
      // empty regular file with the socket's permissions.
      int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return util::sys_error("create", target.string());
      ::close(fd);
      ++stats.files;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (::mknod(target.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
        return util::sys_error("mknod", target.string());
      }
    }
    return apply_meta(target, st, o, mode, &host);
  }

  // Copies a path item's walk with its root written at `root_target`.
  util::Result<void> copy_walk(const CopyPlan::Item& item, const fs::path& root_target) {
    // The root: a directory whose contents go into root_target, or a file.
    struct Written {
      fs::path target;  // host target of a directory written
      bool made = false;  // created by this copy (empty until its children come)
    };
    std::map<std::string, Written> dirs;  // by rel
    // The source and target directories of the files being copied, open while
    // the walk (parents first, by name) stays in one directory.
    const Written* open_parent = nullptr;
    util::Fd src_dir, dst_dir;
    for (std::size_t i = 0; i < item.walk.size(); ++i) {
      const auto& w = item.walk[i];
      fs::path target;
      std::string host = walk_host(item, w);
      At at;
      const At* where = nullptr;
      if (w.rel.empty()) {
        target = root_target;
      } else {
        auto slash = w.rel.rfind('/');
        std::string parent = slash == std::string::npos ? "" : w.rel.substr(0, slash);
        auto it = dirs.find(parent);
        if (it == dirs.end()) return util::Error{"internal error: parent of " + w.rel + " not written"};
        std::size_t base = slash == std::string::npos ? 0 : slash + 1;
        target = it->second.target / w.rel.substr(base);
        at.fresh_parent = it->second.made;
        where = &at;
        if (S_ISREG(w.st.st_mode)) {
          if (open_parent != &it->second) {
            open_parent = &it->second;
            std::string src_parent = host.substr(0, host.size() - (w.rel.size() - base) - 1);
            src_dir.reset(::open(src_parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            dst_dir.reset(::open(it->second.target.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          }
          if (src_dir.fd >= 0 && dst_dir.fd >= 0) {  // else by full paths
            at.src_dir = src_dir.fd;
            at.dst_dir = dst_dir.fd;
            at.name = w.rel.c_str() + base;
          }
        }
      }
      bool made = false;
      MKIMAGE_TRY_VOID(write_entry(w, host, target, !w.rel.empty(), where, &made));
      if (S_ISDIR(w.st.st_mode)) dirs[w.rel] = Written{target, made};
    }
    return {};
  }

  util::Result<void> write_file_item(const CopyPlan::Item& item, const fs::path& target) {
    MKIMAGE_TRY(bool is_dir, clear_non_dir(target));
    if (is_dir) {
      return util::Error{"cannot replace directory \"" + rootfs_path_of(dest.rootfs, target) + "\" with a file"};
    }
    Owner o = owner ? *owner : Owner{0, 0};
    mode_t base = item.kind == CopyPlan::Item::Kind::url ? 0600 : 0644;
    mode_t mode = chmod ? chmod->apply(base, false) : base;
    if (item.kind == CopyPlan::Item::Kind::heredoc) {
      MKIMAGE_TRY_VOID(write_bytes(target, item.content, 0600));
      stats.bytes += item.content.size();
    } else {
      MKIMAGE_TRY_VOID(copy_bytes(item.downloaded, target, 0600, stats.bytes));
    }
    ++stats.files;
    if (::lchown(target.c_str(), o.uid, o.gid) != 0) return util::sys_error("lchown", target.string());
    if (::chmod(target.c_str(), mode) != 0) return util::sys_error("chmod", target.string());
    if (item.mtime_s) {
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = static_cast<time_t>(*item.mtime_s);
      ts[0].tv_nsec = ts[1].tv_nsec = 0;
      if (::utimensat(AT_FDCWD, target.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
        return util::sys_error("utimensat", target.string());
      }
    }
    return {};
  }

  util::Result<void> extract_item(const fs::path& archive, const fs::path& dir) {
    ExtractOptions eo;
    eo.owner = owner;
    eo.chmod = chmod ? &*chmod : nullptr;
    MKIMAGE_TRY(auto s, extract_tar(archive, dir, eo));
    stats.files += s.entries;
    stats.bytes += s.bytes;
    return {};
  }

  util::Result<void> run() {
    if (plan.op.flags.chown) {
      const fs::path& users = dest.user_rootfs.empty() ? dest.rootfs : dest.user_rootfs;
      MKIMAGE_TRY(auto o, resolve_owner(users, *plan.op.flags.chown));
      owner = o;
    }
    if (plan.op.flags.chmod) {
      MKIMAGE_TRY(auto c, ChmodSpec::parse(*plan.op.flags.chmod));
      chmod = c;
    }
    if (plan.items.empty()) return {};
    std::string d = join_path(dest.workdir.empty() ? "/" : dest.workdir, plan.op.dest);
    fs::path dir_host;
    if (plan.dest_is_dir) {
      MKIMAGE_TRY(dir_host, mkdir_all_in_root(dest.rootfs, d, new_dir_attrs()));
    }
    for (const auto& ip : plan.items) {
      auto& item = const_cast<CopyPlan::Item&>(*ip);
      if (item.kind == CopyPlan::Item::Kind::url && item.downloaded.empty()) {
        // --checksum given: downloaded now, verified against the checksum.
        MKIMAGE_TRY(auto dl, download_url(item.url, plan_scratch(item)));
        if (item.content_digest && dl.digest != *item.content_digest) {
          return util::Error{"checksum mismatch for " + item.url + ": expected " + item.content_digest->str() +
                             ", got " + dl.digest.str()};
        }
        item.downloaded = dl.file;
        item.mtime_s = dl.mtime_s;
      }
      bool extract = item.extract;
      if (extract && item.kind == CopyPlan::Item::Kind::url) extract = is_tar_archive(item.downloaded);
      if (extract) {
        fs::path target_dir = dir_host;
        if (!plan.dest_is_dir) {
          MKIMAGE_TRY(target_dir, mkdir_all_in_root(dest.rootfs, d, new_dir_attrs()));
        }
        MKIMAGE_TRY_VOID(extract_item(item.kind == CopyPlan::Item::Kind::url ? item.downloaded : item.host, target_dir));
        continue;
      }
      bool dir_item = item.kind == CopyPlan::Item::Kind::path && item.is_dir;
      fs::path target;
      if (plan.dest_is_dir) {
        target = dir_item ? dir_host : dir_host / item.out_name;
      } else {
        MKIMAGE_TRY(fs::path resolved, resolve_in_root(dest.rootfs, d, FollowFinal::yes));
        struct stat st;
        bool exists_dir = lstat(resolved.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        if (dir_item || !exists_dir) {
          std::string parent = d == "/" ? "/" : d.substr(0, d.rfind('/'));
          if (parent.empty()) parent = "/";
          MKIMAGE_TRY_VOID(mkdir_all_in_root(dest.rootfs, parent, new_dir_attrs(!dir_item)));
          MKIMAGE_TRY(resolved, resolve_in_root(dest.rootfs, d, FollowFinal::yes));
          target = resolved;
        } else {
          target = resolved / item.out_name;
        }
      }
      if (item.kind == CopyPlan::Item::Kind::path) {
        MKIMAGE_TRY_VOID(copy_walk(item, target));
      } else {
        MKIMAGE_TRY_VOID(write_file_item(item, target));
      }
    }
    for (auto it = dir_times.rbegin(); it != dir_times.rend(); ++it) {
      if (::utimensat(AT_FDCWD, it->host.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0) {
        return util::sys_error("utimensat", it->host.string());
      }
    }
    return {};
  }

  fs::path plan_scratch(const CopyPlan::Item&) const { return m_scratch; }
  fs::path m_scratch;
};

}  // namespace

util::Result<CopyStats> execute_copy(const CopyPlan& plan, const DestTree& dest) {
  Executor ex{plan, dest, {}, {}, {}, {}, {}, true, {}};
  ex.m_scratch = plan.scratch_dir;
  MKIMAGE_TRY_VOID(ex.run());
  return ex.stats;
}

util::Result<CopyStats> run_copy(const CopyOp& op, const SourceTree& source, const DestTree& dest,
                                 const PlanOptions& options) {
  MKIMAGE_TRY(auto plan, plan_copy(op, source, options));
  return execute_copy(plan, dest);
}

}  // namespace mkimage::builder
