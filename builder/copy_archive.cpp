// ADD's archive extraction (and `-` build contexts): tar archives, plain or
// compressed (libarchive's filters: gzip, bzip2, xz, zstd, …). Entries are
// written with our own resolution so nothing lands outside the destination.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <memory>

#include "builder/chmod.hpp"
#include "builder/copy_internal.hpp"
#include "builder/fs_resolve.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

ArchivePtr new_reader() {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  return a;
}

bool first_header_is_tar(archive* a) {
  archive_entry* e = nullptr;
  int r = archive_read_next_header(a, &e);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return false;
  return (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;
}

util::Error archive_error(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return util::Error{what + ": " + (msg ? msg : "archive error")};
}

// Entry name → relative path inside the destination ("" for the root itself).
std::string clamp_name(const char* name) {
  std::string c = clean_path(std::string("/") + (name ? name : ""));
  return c == "/" ? "" : c.substr(1);
}

util::Result<ExtractStats> extract(archive* a, const fs::path& dest_dir, const ExtractOptions& opt,
                                   const std::string& what) {
  ExtractStats stats;
  struct DirTime {
    fs::path host;
    std::string shown;
    struct timespec times[2];
  };
  std::vector<DirTime> dir_times;
  // The last parent resolved (rootfs path inside dest_dir, host path): entries
  // of one directory, and a directory chain of any depth, resolve in O(1) each.
  // Any removal forgets it (a directory on the way may have been replaced).
  std::string memo_parent;
  fs::path memo_host;
  // Paths are used whole with the kernel, which takes at most PATH_MAX bytes.
  std::size_t dest_len = dest_dir.string().size();
  std::size_t max_rel = dest_len + 2 < PATH_MAX ? PATH_MAX - dest_len - 2 : 0;
  archive_entry* e = nullptr;
  while (true) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return archive_error(a, "read " + what);
    std::string rel = clamp_name(archive_entry_pathname(e));
    if (rel.empty()) continue;  // "./": the destination itself keeps its metadata
    if (rel.size() > max_rel) {
      return util::Error{what + ": entry \"" + rel.substr(0, 48) + "…\" (" + std::to_string(rel.size()) +
                         " bytes): file name too long (paths below the destination may have at most " +
                         std::to_string(max_rel) + " bytes)"};
    }
    auto slash = rel.rfind('/');
    std::string parent = slash == std::string::npos ? "/" : "/" + rel.substr(0, slash);
    std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    DirAttrs pattrs;
    if (opt.owner) {
      pattrs.uid = opt.owner->uid;
      pattrs.gid = opt.owner->gid;
    }
    if (parent != memo_parent || memo_host.empty()) {
      MKIMAGE_TRY(memo_host, mkdir_all_in_root(dest_dir, parent, pattrs));
      memo_parent = parent;
    }
    fs::path target = memo_host / name;
    std::string shown = "/" + rel;  // errors name the entry, never a host path
    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e) & 07777;
    if (opt.chmod && type != AE_IFLNK) perm = opt.chmod->apply(perm, type == AE_IFDIR);

    struct stat st;
    bool exists = lstat(target.c_str(), &st) == 0;
    if (exists && !(type == AE_IFDIR && S_ISDIR(st.st_mode))) {
      memo_parent.clear();
      memo_host.clear();
      if (S_ISDIR(st.st_mode)) {
        std::error_code ec;
        fs::remove_all(target, ec);
        if (ec) return util::sys_error("remove", shown, ec.value());
      } else if (::unlink(target.c_str()) != 0) {
        return util::sys_error("unlink", shown);
      }
      exists = false;
    }
    const char* hardlink = archive_entry_hardlink(e);
    if (hardlink) {
      std::string lrel = clamp_name(hardlink);
      MKIMAGE_TRY(fs::path src, resolve_in_root(dest_dir, "/" + lrel, FollowFinal::no));
      if (::link(src.c_str(), target.c_str()) != 0) return util::sys_error("link", shown);
      ++stats.entries;
      continue;
    }
    switch (type) {
      case AE_IFDIR:
        if (!exists && ::mkdir(target.c_str(), 0700) != 0) return util::sys_error("mkdir", shown);
        // A directory just made (or found) here is the likely parent of what follows.
        memo_parent = shown;
        memo_host = target;
        break;
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        if (::symlink(t ? t : "", target.c_str()) != 0) return util::sys_error("symlink", shown);
        break;
      }
      case AE_IFREG: {
        int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) return util::sys_error("create", shown);
        const void* buf;
        size_t size;
        la_int64_t offset;
        while (true) {
          int rr = archive_read_data_block(a, &buf, &size, &offset);
          if (rr == ARCHIVE_EOF) break;
          if (rr != ARCHIVE_OK && rr != ARCHIVE_WARN) {
            ::close(fd);
            return archive_error(a, "read " + what);
          }
          // a full disk shows as a short write, then ENOSPC
          const char* p = static_cast<const char*>(buf);
          size_t left = size;
          la_int64_t at = offset;
          while (left > 0) {
            ssize_t n = ::pwrite(fd, p, left, at);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
              int err = errno;
              ::close(fd);
              return util::sys_error("write", shown, err);
            }
            p += n;
            left -= static_cast<size_t>(n);
            at += n;
          }
          stats.bytes += size;
        }
        // Sparse tails: make the size right.
        if (::ftruncate(fd, archive_entry_size(e)) != 0) {
          int err = errno;
          ::close(fd);
          return util::sys_error("truncate", shown, err);
        }
        if (::close(fd) != 0) return util::sys_error("close", shown);
        break;
      }
      case AE_IFIFO:
      case AE_IFCHR:
      case AE_IFBLK:
        if (::mknod(target.c_str(), type | 0600, archive_entry_rdev(e)) != 0) {
          return util::sys_error("mknod", shown);
        }
        break;
      default:
        continue;  // sockets and unknown types are skipped
    }
    ++stats.entries;
    if (opt.set_owner) {
      uid_t uid = opt.owner ? opt.owner->uid : static_cast<uid_t>(archive_entry_uid(e));
      gid_t gid = opt.owner ? opt.owner->gid : static_cast<gid_t>(archive_entry_gid(e));
      if (::lchown(target.c_str(), uid, gid) != 0) return util::sys_error("lchown", shown);
    }
    if (type != AE_IFLNK && ::chmod(target.c_str(), perm) != 0) return util::sys_error("chmod", shown);
    // xattrs recorded in the archive (pax SCHILY.xattr / LIBARCHIVE.xattr).
    archive_entry_xattr_reset(e);
    const char* xname;
    const void* xvalue;
    size_t xsize;
    while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
      if (::lsetxattr(target.c_str(), xname, xvalue, xsize, 0) != 0 && errno != ENOTSUP && errno != EPERM) {
        return util::sys_error(std::string("lsetxattr ") + xname, shown);
      }
    }
    struct timespec times[2];
    times[1].tv_sec = archive_entry_mtime(e);
    times[1].tv_nsec = archive_entry_mtime_nsec(e);
    times[0] = archive_entry_atime_is_set(e)
                   ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                   : times[1];
    if (type == AE_IFDIR) {
      dir_times.push_back(DirTime{target, shown, {times[0], times[1]}});
    } else if (::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return util::sys_error("utimensat", shown);
    }
  }
  for (auto it = dir_times.rbegin(); it != dir_times.rend(); ++it) {
    if (::utimensat(AT_FDCWD, it->host.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0) {
      return util::sys_error("utimensat", it->shown);
    }
  }
  return stats;
}

}  // namespace

bool is_tar_archive(const fs::path& host) {
  auto a = new_reader();
  if (archive_read_open_filename(a.get(), host.c_str(), 1 << 16) != ARCHIVE_OK) return false;
  return first_header_is_tar(a.get());
}

bool is_tar_memory(const std::string& bytes) {
  if (bytes.empty()) return false;
  auto a = new_reader();
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) return false;
  return first_header_is_tar(a.get());
}

util::Result<ExtractStats> extract_tar(const fs::path& archive_path, const fs::path& dest_dir,
                                       const ExtractOptions& options) {
  auto a = new_reader();
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return archive_error(a.get(), "open " + archive_path.string());
  }
  return extract(a.get(), dest_dir, options, archive_path.string());
}

util::Result<ExtractStats> extract_tar_memory(const std::string& bytes, const fs::path& dest_dir,
                                              const ExtractOptions& options) {
  auto a = new_reader();
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return archive_error(a.get(), "open archive");
  }
  return extract(a.get(), dest_dir, options, "archive");
}

}  // namespace mkimage::builder
