// ADD's archive extraction (and `-` build contexts): tar archives, plain or
// compressed (libarchive's filters: gzip, bzip2, xz, zstd, …). Entries are
// written with our own resolution so nothing lands outside the destination.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

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
    struct timespec times[2];
  };
  std::vector<DirTime> dir_times;
  archive_entry* e = nullptr;
  while (true) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return archive_error(a, "read " + what);
    std::string rel = clamp_name(archive_entry_pathname(e));
    if (rel.empty()) continue;  // "./": the destination itself keeps its metadata
    auto slash = rel.rfind('/');
    std::string parent = slash == std::string::npos ? "/" : "/" + rel.substr(0, slash);
    std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    DirAttrs pattrs;
    if (opt.owner) {
      pattrs.uid = opt.owner->uid;
      pattrs.gid = opt.owner->gid;
    }
    MKIMAGE_TRY(fs::path parent_host, mkdir_all_in_root(dest_dir, parent, pattrs));
    fs::path target = parent_host / name;
    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e) & 07777;
    if (opt.chmod && type != AE_IFLNK) perm = opt.chmod->apply(perm, type == AE_IFDIR);

    struct stat st;
    bool exists = lstat(target.c_str(), &st) == 0;
    if (exists && !(type == AE_IFDIR && S_ISDIR(st.st_mode))) {
      if (S_ISDIR(st.st_mode)) {
        std::error_code ec;
        fs::remove_all(target, ec);
        if (ec) return util::sys_error("remove", target.string(), ec.value());
      } else if (::unlink(target.c_str()) != 0) {
        return util::sys_error("unlink", target.string());
      }
      exists = false;
    }
    const char* hardlink = archive_entry_hardlink(e);
    if (hardlink) {
      std::string lrel = clamp_name(hardlink);
      MKIMAGE_TRY(fs::path src, resolve_in_root(dest_dir, "/" + lrel, FollowFinal::no));
      if (::link(src.c_str(), target.c_str()) != 0) return util::sys_error("link", target.string());
      ++stats.entries;
      continue;
    }
    switch (type) {
      case AE_IFDIR:
        if (!exists && ::mkdir(target.c_str(), 0700) != 0) return util::sys_error("mkdir", target.string());
        break;
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        if (::symlink(t ? t : "", target.c_str()) != 0) return util::sys_error("symlink", target.string());
        break;
      }
      case AE_IFREG: {
        int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) return util::sys_error("create", target.string());
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
              return util::sys_error("write", target.string(), err);
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
          return util::sys_error("truncate", target.string(), err);
        }
        if (::close(fd) != 0) return util::sys_error("close", target.string());
        break;
      }
      case AE_IFIFO:
      case AE_IFCHR:
      case AE_IFBLK:
        if (::mknod(target.c_str(), type | 0600, archive_entry_rdev(e)) != 0) {
          return util::sys_error("mknod", target.string());
        }
        break;
      default:
        continue;  // sockets and unknown types are skipped
    }
    ++stats.entries;
    if (opt.set_owner) {
      uid_t uid = opt.owner ? opt.owner->uid : static_cast<uid_t>(archive_entry_uid(e));
      gid_t gid = opt.owner ? opt.owner->gid : static_cast<gid_t>(archive_entry_gid(e));
      if (::lchown(target.c_str(), uid, gid) != 0) return util::sys_error("lchown", target.string());
    }
    if (type != AE_IFLNK && ::chmod(target.c_str(), perm) != 0) return util::sys_error("chmod", target.string());
    // xattrs recorded in the archive (pax SCHILY.xattr / LIBARCHIVE.xattr).
    archive_entry_xattr_reset(e);
    const char* xname;
    const void* xvalue;
    size_t xsize;
    while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
      if (::lsetxattr(target.c_str(), xname, xvalue, xsize, 0) != 0 && errno != ENOTSUP && errno != EPERM) {
        return util::sys_error(std::string("lsetxattr ") + xname, target.string());
      }
    }
    struct timespec times[2];
    times[1].tv_sec = archive_entry_mtime(e);
    times[1].tv_nsec = archive_entry_mtime_nsec(e);
    times[0] = archive_entry_atime_is_set(e)
                   ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                   : times[1];
    if (type == AE_IFDIR) {
      dir_times.push_back(DirTime{target, {times[0], times[1]}});
    } else if (::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return util::sys_error("utimensat", target.string());
    }
  }
  for (auto it = dir_times.rbegin(); it != dir_times.rend(); ++it) {
    if (::utimensat(AT_FDCWD, it->host.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0) {
      return util::sys_error("utimensat", it->host.string());
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
