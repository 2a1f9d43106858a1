// .dockerignore reading and BuildKit's build-context walk; see parser/dockerignore.hpp.
#include "parser/dockerignore.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mkimage::parser {

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// strings.TrimSpace for the ASCII white space that can occur in an ignore file line;
// non-ASCII white space is trimmed again by PatternMatcher::create.
std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

// fsutil patternWithoutTrailingGlob.
std::string without_trailing_glob(const std::string& p) {
  std::string s = p;
  auto strip = [&](std::string_view suffix) {
    if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
      s.resize(s.size() - suffix.size());
    }
  };
  strip("/**");
  strip("/*");
  return s;
}

struct Frame {
  std::string path;  // relative path of the directory
  PatternMatchInfo info;
  bool reported = false;
};

class ContextWalker {
public:
  ContextWalker(const PatternMatcher& matcher, const ContextWalkFn& fn) : m_matcher(matcher), m_fn(fn) {
    // fsutil: excluded directories may be skipped outright only when every exception
    // is a plain path (no pattern characters once a trailing /** or /* is removed).
    for (const PathPattern& p : m_matcher.patterns()) {
      if (p.exclusion && without_trailing_glob(p.text).find_first_of("*[]?^\\") != std::string::npos) {
        m_only_prefix_exceptions = false;
      }
    }
  }

  util::Result<void> walk_dir(int dirfd, const std::string& rel_dir) {
    DIR* dir = fdopendir(dirfd);
    if (!dir) {
      int err = errno;
      close(dirfd);
      return util::sys_error("read directory", rel_dir.empty() ? "." : rel_dir, err);
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    int read_err = errno;
    std::sort(names.begin(), names.end());
    util::Result<void> result;
    if (read_err != 0) {
      result = util::sys_error("read directory", rel_dir.empty() ? "." : rel_dir, read_err);
    } else {
      for (const std::string& name : names) {
        result = visit(dirfd_of(dir), rel_dir.empty() ? name : rel_dir + "/" + name, name);
        if (!result.ok()) break;
      }
    }
    closedir(dir);
    return result;
  }

private:
  static int dirfd_of(DIR* d) { return ::dirfd(d); }

  util::Result<void> visit(int parent_fd, const std::string& rel, const std::string& name) {
    struct stat st {};
    if (fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return {};  // vanished during the walk
      return util::sys_error("lstat", rel);
    }
    // Leave the frames of directories that are not ancestors of `rel`.
    while (!m_stack.empty() && rel.compare(0, m_stack.back().path.size() + 1, m_stack.back().path + "/") != 0) {
      m_stack.pop_back();
    }
    bool is_dir = S_ISDIR(st.st_mode);
    PatternMatchInfo info;
    bool skip = false;
    if (!m_matcher.empty()) {
      static const PatternMatchInfo k_none;
      const PatternMatchInfo& parent = m_stack.empty() ? k_none : m_stack.back().info;
      bool excluded = m_matcher.matches_using_parent_results(rel, parent, &info);
      if (excluded) {
        if (is_dir && m_only_prefix_exceptions) {
          if (!m_matcher.has_exclusions()) return {};  // skip the whole directory
          std::string dir_slash = rel + "/";
          bool may_reinclude = false;
          for (const PathPattern& p : m_matcher.patterns()) {
            if (!p.exclusion) continue;
            std::string pat = without_trailing_glob(p.text) + "/";
            if (pat.compare(0, dir_slash.size(), dir_slash) == 0) {
              may_reinclude = true;
              break;
            }
          }
          if (!may_reinclude) return {};
        }
        skip = true;
      }
    }
    if (!skip) {
      for (Frame& f : m_stack) {
        if (f.reported) continue;
        struct stat pst {};
        if (fstatat(m_root_fd, f.path.c_str(), &pst, AT_SYMLINK_NOFOLLOW) != 0) {
          return util::sys_error("lstat", f.path);
        }
        f.reported = true;
        MKIMAGE_TRY_VOID(m_fn(f.path, pst));
      }
      MKIMAGE_TRY_VOID(m_fn(rel, st));
    }
    if (!is_dir) return {};
    m_stack.push_back(Frame{rel, std::move(info), !skip});
    int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) return {};
      if (skip && (err == EACCES || err == EPERM)) return {};  // fsutil ignores these
      return util::sys_error("open directory", rel, err);
    }
    return walk_dir(fd, rel);
  }

public:
  int m_root_fd = -1;

private:
  const PatternMatcher& m_matcher;
  const ContextWalkFn& m_fn;
  bool m_only_prefix_exceptions = true;
  std::vector<Frame> m_stack;
};

util::Result<std::optional<std::string>> read_if_exists(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO planted in the context must not wait for a writer.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return util::sys_error("open", path.string());
  }
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return util::sys_error("read", path.string(), EISDIR);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return util::Error{"read \"" + path.string() + "\": not a regular file"};
  }
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return util::sys_error("read", path.string(), err);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return std::optional<std::string>(std::move(data));
}

}  // namespace

std::vector<std::string> parse_dockerignore(std::string_view content) {
  std::vector<std::string> out;
  bool first = true;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    first = false;
    if (!line.empty() && line[0] == '#') continue;
    std::string_view pattern = trim(line);
    if (pattern.empty()) continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = trim(pattern.substr(1));
    std::string p(pattern);
    if (!p.empty()) {
      p = clean_path(p);
      if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
    }
    out.push_back(invert ? "!" + p : p);
  }
  return out;
}

util::Result<DockerignoreFile> load_dockerignore(const std::filesystem::path& context_dir,
                                                 const std::filesystem::path& dockerfile_path) {
  std::vector<std::filesystem::path> candidates;
  if (!dockerfile_path.empty() && dockerfile_path != "-" && dockerfile_path.has_filename()) {
    std::filesystem::path beside = dockerfile_path;
    beside += ".dockerignore";
    candidates.push_back(beside);
  }
  candidates.push_back(context_dir / ".dockerignore");
  for (const auto& path : candidates) {
    MKIMAGE_TRY(std::optional<std::string> content, read_if_exists(path));
    if (content) return DockerignoreFile{path, parse_dockerignore(*content)};
  }
  return DockerignoreFile{};
}

util::Result<void> walk_context(const std::filesystem::path& root, const PatternMatcher& matcher,
                                const ContextWalkFn& fn) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open build context", root.string());
  ContextWalker walker(matcher, fn);
  int root_fd = dup(fd);
  if (root_fd < 0) {
    close(fd);
    return util::sys_error("dup", root.string());
  }
  walker.m_root_fd = root_fd;
  auto r = walker.walk_dir(fd, "");
  close(root_fd);
  return r;
}

util::Result<void> walk_context(const std::filesystem::path& root,
                                const std::vector<std::string>& patterns, const ContextWalkFn& fn) {
  MKIMAGE_TRY(PatternMatcher matcher, PatternMatcher::create(patterns));
  return walk_context(root, matcher, fn);
}

}  // namespace mkimage::parser
