// Fuzz target: `.dockerignore` patterns on untrusted text — parse_dockerignore
// (BOM, comments, `!` exceptions, path cleaning), PatternMatcher::create (the
// pattern compiler: exact/prefix/suffix/regexp kinds, bracket classes,
// escapes) and matching, both the plain and the walk (parent results) variants,
// against a fixed set of paths and against every line of the input itself used
// as a path; go_path_match on pairs of lines. Never a crash; an invalid pattern
// is an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parser/dockerignore.hpp"
#include "parser/path_match.hpp"

using namespace mkimage::parser;

namespace {

constexpr std::size_t k_max_lines = 16;  // pairs of lines: keep each run short

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty() && out.size() < k_max_lines) {
    auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// Matches `path` and each of its ancestors the way walk_context does, from the
// root down, so the parent results are those of a real walk.
void match_walk(const PatternMatcher& m, const std::string& path) {
  PatternMatchInfo parent;
  std::size_t from = 0;
  while (true) {
    auto slash = path.find('/', from);
    std::string prefix = path.substr(0, slash);
    PatternMatchInfo info;
    (void)m.matches_using_parent_results(prefix, parent, &info);
    parent = std::move(info);
    if (slash == std::string::npos) break;
    from = slash + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> patterns = parse_dockerignore(text);
  std::vector<std::string> lines = lines_of(text);
  auto matcher = PatternMatcher::create(patterns);
  if (matcher.ok()) {
    std::vector<std::string> paths = {"Dockerfile", ".dockerignore", "a", "a/b", "a/b/c.txt", "src/x.go",
                                      "docs/guide.md", "node_modules/p/index.js", ".git/HEAD", "a.b",
                                      "[x]", "\xc3\xa9t\xc3\xa9/\xff"};
    paths.insert(paths.end(), lines.begin(), lines.end());
    for (const auto& p : paths) {
      (void)matcher->matches_or_parent_matches(p);
      if (!p.empty() && p.find("//") == std::string::npos && p.front() != '/' && p.back() != '/')
        match_walk(*matcher, p);
    }
  }
  for (const auto& pattern : lines) {
    (void)contains_wildcards(pattern);
    (void)clean_path(pattern);
    for (const auto& name : lines) (void)go_path_match(pattern, name);
  }
  return 0;
}
