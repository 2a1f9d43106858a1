#include "builder/context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "builder/copy_internal.hpp"
#include "builder/fs_resolve.hpp"
#include "parser/dockerignore.hpp"
#include "store/blob_store.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

// .dockerignore patterns through parser/path_match (moby/patternmatcher). The walk
// rule for excluded directories is fsutil's (parser/dockerignore.cpp walk_context):
// descend unless every exception is a plain path (after dropping a trailing "/**" or
// "/*") and none lies under the directory. Exclusion is decided per path with
// MatchesOrParentMatches (the walk's parent-results memo is not kept here).
class DockerignoreFilter : public PathFilter {
public:
  explicit DockerignoreFilter(parser::PatternMatcher matcher) : m_matcher(std::move(matcher)) {
    for (const auto& p : m_matcher.patterns()) {
      if (p.exclusion && without_trailing_glob(p.text).find_first_of("*[]?^\\") != std::string::npos) {
        m_only_prefix_exceptions = false;
      }
    }
  }

  bool excluded(std::string_view rel) const override {
    return !m_matcher.empty() && m_matcher.matches_or_parent_matches(rel);
  }

  bool may_reinclude_below(std::string_view rel) const override {
    if (!m_matcher.has_exclusions()) return false;
    if (!m_only_prefix_exceptions) return true;
    std::string dir_slash = std::string(rel) + "/";
    for (const auto& p : m_matcher.patterns()) {
      if (!p.exclusion) continue;
      std::string pat = without_trailing_glob(p.text) + "/";
      if (pat.compare(0, dir_slash.size(), dir_slash) == 0) return true;
    }
    return false;
  }

private:
  static std::string without_trailing_glob(const std::string& p) {
    std::string s = p;
    for (std::string_view suffix : {std::string_view("/**"), std::string_view("/*")}) {
      if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
        s.resize(s.size() - suffix.size());
      }
    }
    return s;
  }

  parser::PatternMatcher m_matcher;
  bool m_only_prefix_exceptions = true;
};

}  // namespace

util::Result<std::unique_ptr<PathFilter>> make_filter(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return std::unique_ptr<PathFilter>(std::make_unique<NoFilter>());
  auto matcher = parser::PatternMatcher::create(patterns);
  if (!matcher.ok()) return util::Error{".dockerignore: " + matcher.error().message};
  return std::unique_ptr<PathFilter>(std::make_unique<DockerignoreFilter>(std::move(*matcher)));
}

util::Result<std::unique_ptr<PathFilter>> make_dockerignore_filter(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return make_filter(parser::parse_dockerignore(text));
}

BuildContext::BuildContext(BuildContext&&) noexcept = default;
BuildContext& BuildContext::operator=(BuildContext&&) noexcept = default;

BuildContext::~BuildContext() {
  if (m_temp_dir) {
    std::error_code ec;
    fs::remove_all(*m_temp_dir, ec);
  }
}

util::Result<BuildContext> BuildContext::open_directory(const fs::path& dir, const std::optional<fs::path>& dockerfile) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return util::Error{"build context \"" + dir.string() + "\": not a directory"};
  BuildContext c;
  c.m_root = fs::absolute(dir, ec);
  if (ec) c.m_root = dir;
  auto loaded = parser::load_dockerignore(c.m_root, dockerfile.value_or(fs::path()));
  if (!loaded.ok()) return util::Error{"failed to read .dockerignore: " + loaded.error().message};
  auto ignore = std::move(*loaded);
  c.m_ignore_lines = ignore.patterns;
  MKIMAGE_TRY(c.m_filter, make_filter(ignore.patterns));
  return c;
}

util::Result<BuildContext> BuildContext::open_stream(int fd, const fs::path& temp_parent) {
  std::string bytes;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("read", "stdin");
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  std::error_code ec;
  fs::create_directories(temp_parent, ec);
  std::string tmpl = store::temp_template(temp_parent, "context");
  if (!mkdtemp(tmpl.data())) return util::sys_error("mkdtemp", tmpl);
  // mkdtemp makes 0700; a context root reads as an ordinary 0755 directory
  // (it becomes the mode of `COPY . /new-dir`).
  ::chmod(tmpl.c_str(), 0755);
  BuildContext c;
  c.m_root = tmpl;
  c.m_temp_dir = c.m_root;
  if (is_tar_memory(bytes)) {
    ExtractOptions eo;
    eo.set_owner = geteuid() == 0;
    MKIMAGE_TRY_VOID(extract_tar_memory(bytes, c.m_root, eo));
    MKIMAGE_TRY(auto ignore, parser::load_dockerignore(c.m_root, fs::path()));
    c.m_ignore_lines = ignore.patterns;
    MKIMAGE_TRY(c.m_filter, make_filter(ignore.patterns));
  } else {
    c.m_stdin_dockerfile = std::move(bytes);
    c.m_filter = std::make_unique<NoFilter>();
  }
  return c;
}

}  // namespace mkimage::builder
