#include "builder/fs_resolve.hpp"

#include "parser/path_match.hpp"
#include "util/fd.hpp"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string host_of(const fs::path& root, const std::vector<std::string>& parts) {
  std::string s = root.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  for (const auto& p : parts) {
    s += '/';
    s += p;
  }
  return s;
}

std::string rootfs_of(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string s;
  for (const auto& p : parts) {
    s += '/';
    s += p;
  }
  return s;
}

constexpr int k_dir_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Opens the directory `root/<parts>` (parts are symlink-free).
util::Result<util::Fd> open_dir(const fs::path& root, const std::vector<std::string>& parts) {
  std::string host = host_of(root, parts);
  int fd = ::open(host.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open", rootfs_of(parts));
  return util::Fd(fd);
}

// Reads the symlink `name` in directory `dir`.
util::Result<std::string> read_link_at(int dir, const std::string& name, std::size_t size_hint,
                                       const std::vector<std::string>& parts) {
  std::string target(size_hint + 1, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n = readlinkat(dir, name.c_str(), target.data(), target.size());
    if (n < 0) return util::sys_error("readlink", rootfs_of(parts));
    if (static_cast<std::size_t>(n) < target.size()) {
      target.resize(static_cast<std::size_t>(n));
      return target;
    }
    target.assign(4096, '\0');  // the link grew between lstat and readlink
  }
  return util::sys_error("readlink", rootfs_of(parts), ENAMETOOLONG);
}

// Walks `path` inside `root`. `resolved` holds the symlink-free components so
// far and `dir` the open directory they name, so every component costs one
// fstatat (and one openat for a directory) whatever the depth: a walk is linear
// in the path's length, not quadratic.
util::Result<std::vector<std::string>> walk(const fs::path& root, std::string_view path, FollowFinal follow) {
  std::vector<std::string> resolved;
  MKIMAGE_TRY(util::Fd dir, open_dir(root, resolved));
  // Work list of components still to process (front = next).
  std::vector<std::string> pending = split_components(path);
  std::reverse(pending.begin(), pending.end());
  int links = 0;
  // Once a component is missing, the rest are kept as written: resolved[missing_at]
  // is the first missing one (npos: none).
  constexpr std::size_t none = std::string::npos;
  std::size_t missing_at = none;
  while (!pending.empty()) {
    std::string comp = std::move(pending.back());
    pending.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!resolved.empty()) resolved.pop_back();
      if (missing_at != none && resolved.size() > missing_at) continue;  // still below the missing one
      missing_at = none;
      MKIMAGE_TRY(dir, open_dir(root, resolved));
      continue;
    }
    resolved.push_back(comp);
    if (missing_at != none) continue;
    bool last = pending.empty();
    struct stat st;
    if (fstatat(dir.fd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        missing_at = resolved.size() - 1;
        continue;
      }
      return util::sys_error("lstat", rootfs_of(resolved));
    }
    if (S_ISLNK(st.st_mode)) {
      if (last && follow == FollowFinal::no) break;
      if (++links > 40) return util::sys_error("resolve", std::string(path), ELOOP);
      MKIMAGE_TRY(std::string target, read_link_at(dir.fd, comp, static_cast<std::size_t>(st.st_size), resolved));
      resolved.pop_back();
      if (!target.empty() && target[0] == '/') {
        resolved.clear();
        MKIMAGE_TRY(dir, open_dir(root, resolved));
      }
      auto tparts = split_components(target);
      for (auto it = tparts.rbegin(); it != tparts.rend(); ++it) pending.push_back(*it);
      continue;
    }
    if (last) break;
    if (!S_ISDIR(st.st_mode)) return util::sys_error("resolve", rootfs_of(resolved), ENOTDIR);
    int next = openat(dir.fd, comp.c_str(), k_dir_flags);
    if (next < 0) return util::sys_error("open", rootfs_of(resolved));
    dir = util::Fd(next);
  }
  return resolved;
}

}  // namespace

util::Result<fs::path> resolve_in_root(const fs::path& root, std::string_view path, FollowFinal follow) {
  MKIMAGE_TRY(auto parts, walk(root, path, follow));
  return fs::path(host_of(root, parts));
}

std::string rootfs_path_of(const fs::path& root, const fs::path& host_path) {
  std::string r = root.string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  std::string h = host_path.string();
  if (h.size() >= r.size() && h.compare(0, r.size(), r) == 0) {
    std::string rest = h.substr(r.size());
    return rest.empty() ? "/" : clean_path(rest);
  }
  return clean_path(h);
}

util::Result<fs::path> mkdir_all_in_root(const fs::path& root, std::string_view path, const DirAttrs& attrs) {
  // One pass over the components with the open directory: each costs an fstatat
  // (+ mkdirat when missing) and an openat, so a 3,000-deep path is linear work.
  // A symlink met on the way is resolved inside root (walk) and the pass goes on
  // from its target.
  auto parts = split_components(clean_path(std::string("/") + std::string(path)));
  std::vector<std::string> done;  // symlink-free components of `dir`
  MKIMAGE_TRY(util::Fd dir, open_dir(root, done));
  // A created directory gets its time once its last child is made: `dir_made`
  // says `dir` (entry `dir_name` of `parent`) was created here. Directories
  // created at a symlink's target get theirs by path at the end.
  util::Fd parent;
  std::string dir_name;
  std::string dir_path;  // rootfs path of `dir` (for errors)
  bool dir_made = false;
  std::vector<fs::path> made_by_path;
  auto set_time = [&](int at, const std::string& name) -> util::Result<void> {
    if (!attrs.mtime_s) return {};
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = static_cast<time_t>(*attrs.mtime_s);
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    if (utimensat(at, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      return util::sys_error("utimensat", at == AT_FDCWD ? rootfs_path_of(root, name) : dir_path);
    return {};
  };
  for (const auto& comp : parts) {
    done.push_back(comp);
    struct stat st;
    int rc = fstatat(dir.fd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    int err = errno;
    if (rc == 0 && S_ISLNK(st.st_mode)) {
      if (dir_made) MKIMAGE_TRY_VOID(set_time(parent.fd, dir_name));
      parent = util::Fd();
      dir_made = false;
      // Follow the link inside root; walk stops at the first missing component,
      // so at most the final one of the target is created.
      MKIMAGE_TRY(done, walk(root, rootfs_of(done), FollowFinal::yes));
      std::string host = host_of(root, done);
      if (lstat(host.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return util::sys_error("mkdir", rootfs_of(done), ENOTDIR);
      } else if (errno != ENOENT || mkdir(host.c_str(), 0700) != 0) {
        return util::sys_error("mkdir", rootfs_of(done));
      } else {
        if (lchown(host.c_str(), attrs.uid, attrs.gid) != 0) return util::sys_error("chown", rootfs_of(done));
        if (chmod(host.c_str(), attrs.mode & 07777) != 0) return util::sys_error("chmod", rootfs_of(done));
        made_by_path.emplace_back(host);
      }
      MKIMAGE_TRY(dir, open_dir(root, done));
      continue;
    }
    bool made = false;
    if (rc == 0) {
      if (!S_ISDIR(st.st_mode)) return util::sys_error("mkdir", rootfs_of(done), ENOTDIR);
    } else if (err == ENOENT) {
      if (mkdirat(dir.fd, comp.c_str(), 0700) != 0 && errno != EEXIST) return util::sys_error("mkdir", rootfs_of(done));
      if (fchownat(dir.fd, comp.c_str(), attrs.uid, attrs.gid, AT_SYMLINK_NOFOLLOW) != 0)
        return util::sys_error("chown", rootfs_of(done));
      if (fchmodat(dir.fd, comp.c_str(), attrs.mode & 07777, 0) != 0) return util::sys_error("chmod", rootfs_of(done));
      made = true;
    } else {
      errno = err;
      return util::sys_error("lstat", rootfs_of(done));
    }
    int next = openat(dir.fd, comp.c_str(), k_dir_flags);
    if (next < 0) return util::sys_error("open", rootfs_of(done));
    if (dir_made) MKIMAGE_TRY_VOID(set_time(parent.fd, dir_name));  // its last child was just made
    parent = std::move(dir);
    dir = util::Fd(next);
    dir_name = comp;
    if (made) dir_path = rootfs_of(done);  // only for errors; building it for every component would be quadratic
    dir_made = made;
  }
  if (dir_made) MKIMAGE_TRY_VOID(set_time(parent.fd, dir_name));
  for (const auto& h : made_by_path) MKIMAGE_TRY_VOID(set_time(AT_FDCWD, h.string()));
  return fs::path(host_of(root, done));
}

std::string clean_path(std::string_view path) { return parser::clean_path(path); }

std::string join_path(std::string_view base, std::string_view rel) {
  if (!rel.empty() && rel[0] == '/') return clean_path(rel);
  std::string b(base.empty() ? "/" : base);
  return clean_path(b + "/" + std::string(rel));
}

}  // namespace mkimage::builder
