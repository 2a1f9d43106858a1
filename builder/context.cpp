#include "builder/context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "builder/copy_internal.hpp"
#include "builder/fs_resolve.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

// moby/patternmatcher semantics over docker/cli's .dockerignore reading.
class DockerignoreFilter : public PathFilter {
public:
  struct Rule {
    Pattern pattern;
    bool exclusion = false;  // "!" line: re-includes
    std::string text;        // cleaned pattern without "!"
  };

  explicit DockerignoreFilter(std::vector<Rule> rules) : m_rules(std::move(rules)) {
    for (const auto& r : m_rules) {
      if (r.exclusion) m_has_exclusions = true;
    }
  }

  bool excluded(std::string_view rel) const override {
    bool matched = false;
    for (const auto& r : m_rules) {
      // An inclusion cannot change an unmatched path; an exclusion cannot change a matched one.
      if (r.exclusion != matched) continue;
      if (r.pattern.matches_or_parent(rel)) matched = !r.exclusion;
    }
    return matched;
  }

  bool may_reinclude_below(std::string_view rel) const override {
    if (!m_has_exclusions) return false;
    std::string dir_slash = std::string(rel) + "/";
    for (const auto& r : m_rules) {
      if (!r.exclusion) continue;
      // fsutil: a wildcard exception may match anything; a literal one only below its prefix.
      if (has_wildcards(r.text)) return true;
      std::string p = r.text + "/";
      if (p.rfind(dir_slash, 0) == 0) return true;
    }
    return false;
  }

private:
  std::vector<Rule> m_rules;
  bool m_has_exclusions = false;
};

util::Result<std::optional<std::vector<std::string>>> read_lines(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::optional<std::vector<std::string>>{};
    return util::sys_error("open", p.string());
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return std::optional<std::vector<std::string>>{std::move(lines)};
}

}  // namespace

std::unique_ptr<PathFilter> make_dockerignore_filter(const std::vector<std::string>& lines) {
  std::vector<DockerignoreFilter::Rule> rules;
  bool first = true;
  for (std::string line : lines) {
    if (first && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);
    first = false;
    std::string pattern = trim(line);
    if (pattern.empty() || pattern[0] == '#') continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = trim(pattern.substr(1));
    if (!pattern.empty()) {
      pattern = clean_path(pattern);
      if (pattern.size() > 1 && pattern[0] == '/') pattern = pattern.substr(1);
    }
    auto compiled = Pattern::compile(pattern);
    if (!compiled.ok()) continue;  // patternmatcher reports bad patterns lazily; ignore them here
    rules.push_back(DockerignoreFilter::Rule{std::move(*compiled), invert, pattern});
  }
  return std::make_unique<DockerignoreFilter>(std::move(rules));
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
  std::optional<std::vector<std::string>> lines;
  if (dockerfile) {
    MKIMAGE_TRY(lines, read_lines(fs::path(dockerfile->string() + ".dockerignore")));
  }
  if (!lines) {
    MKIMAGE_TRY(lines, read_lines(c.m_root / ".dockerignore"));
  }
  if (lines) c.m_ignore_lines = *lines;
  c.m_filter = lines ? make_dockerignore_filter(*lines) : std::make_unique<NoFilter>();
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
  std::string tmpl = (temp_parent / "context-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return util::sys_error("mkdtemp", tmpl);
  BuildContext c;
  c.m_root = tmpl;
  c.m_temp_dir = c.m_root;
  if (is_tar_memory(bytes)) {
    ExtractOptions eo;
    eo.set_owner = geteuid() == 0;
    MKIMAGE_TRY_VOID(extract_tar_memory(bytes, c.m_root, eo));
    MKIMAGE_TRY(auto lines, read_lines(c.m_root / ".dockerignore"));
    if (lines) c.m_ignore_lines = *lines;
    c.m_filter = lines ? make_dockerignore_filter(*lines) : std::make_unique<NoFilter>();
  } else {
    c.m_stdin_dockerfile = std::move(bytes);
    c.m_filter = std::make_unique<NoFilter>();
  }
  return c;
}

}  // namespace mkimage::builder
