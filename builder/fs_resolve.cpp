#include "builder/fs_resolve.hpp"

#include "parser/path_match.hpp"

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

// Walks `path` inside `root`. `resolved` holds the symlink-free components so far.
util::Result<std::vector<std::string>> walk(const fs::path& root, std::string_view path, FollowFinal follow) {
  std::vector<std::string> resolved;
  // Work list of components still to process (front = next).
  std::vector<std::string> pending = split_components(path);
  std::reverse(pending.begin(), pending.end());
  int links = 0;
  bool missing = false;  // once a component is missing, the rest are kept as written
  while (!pending.empty()) {
    std::string comp = std::move(pending.back());
    pending.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!resolved.empty()) resolved.pop_back();
      missing = false;
      continue;
    }
    resolved.push_back(comp);
    if (missing) continue;
    bool last = pending.empty();
    std::string host = host_of(root, resolved);
    struct stat st;
    if (lstat(host.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        missing = true;
        continue;
      }
      return util::sys_error("lstat", rootfs_of(resolved));
    }
    if (S_ISLNK(st.st_mode)) {
      if (last && follow == FollowFinal::no) break;
      if (++links > 40) return util::sys_error("resolve", std::string(path), ELOOP);
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(host.c_str(), target.data(), target.size());
      if (n < 0) return util::sys_error("readlink", rootfs_of(resolved));
      if (static_cast<std::size_t>(n) >= target.size()) {
        // The link grew between lstat and readlink: read it again with a larger buffer.
        target.assign(4096, '\0');
        n = readlink(host.c_str(), target.data(), target.size());
        if (n < 0) return util::sys_error("readlink", rootfs_of(resolved));
      }
      target.resize(static_cast<std::size_t>(n));
      resolved.pop_back();
      if (!target.empty() && target[0] == '/') resolved.clear();
      auto tparts = split_components(target);
      for (auto it = tparts.rbegin(); it != tparts.rend(); ++it) pending.push_back(*it);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return util::sys_error("resolve", rootfs_of(resolved), ENOTDIR);
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
  // Resolve one component at a time so symlinks met on the way stay inside root,
  // and create what is missing.
  auto parts = split_components(clean_path(std::string("/") + std::string(path)));
  std::string done = "/";
  fs::path host = root;
  std::vector<fs::path> created;
  for (const auto& comp : parts) {
    std::string next = done == "/" ? "/" + comp : done + "/" + comp;
    MKIMAGE_TRY(fs::path h, resolve_in_root(root, next, FollowFinal::yes));
    struct stat st;
    if (lstat(h.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return util::sys_error("mkdir", next, ENOTDIR);
    } else if (errno == ENOENT) {
      if (mkdir(h.c_str(), 0700) != 0 && errno != EEXIST) return util::sys_error("mkdir", next);
      if (lchown(h.c_str(), attrs.uid, attrs.gid) != 0) return util::sys_error("chown", next);
      if (chmod(h.c_str(), attrs.mode & 07777) != 0) return util::sys_error("chmod", next);
      created.push_back(h);
    } else {
      return util::sys_error("lstat", next);
    }
    done = rootfs_path_of(root, h);
    host = h;
  }
  if (attrs.mtime_s) {
    // Deepest first is not needed: setting a directory's times does not touch its parent.
    for (const auto& h : created) {
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = static_cast<time_t>(*attrs.mtime_s);
      ts[0].tv_nsec = ts[1].tv_nsec = 0;
      if (utimensat(AT_FDCWD, h.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
        return util::sys_error("utimensat", rootfs_path_of(root, h));
      }
    }
  }
  return host;
}

std::string clean_path(std::string_view path) { return parser::clean_path(path); }

std::string join_path(std::string_view base, std::string_view rel) {
  if (!rel.empty() && rel[0] == '/') return clean_path(rel);
  std::string b(base.empty() ? "/" : base);
  return clean_path(b + "/" + std::string(rel));
}

}  // namespace mkimage::builder
