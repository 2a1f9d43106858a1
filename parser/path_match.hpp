// Path patterns as the Dockerfile tool chain matches them.
//
// 1. go_path_match: Go's `path/filepath.Match` on Linux (used by BuildKit for COPY/ADD
//    source wildcards, one path component at a time, fsutil copy.ResolveWildcards).
// 2. PatternMatcher: moby/patternmatcher (the `.dockerignore` language and COPY/ADD
//    `--exclude`): patterns anchored at the root, `*` and `?` stop at `/`, `**` spans
//    directories, `[...]` classes, `\` escapes, `!` exceptions, the last matching
//    pattern decides.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::parser {

// Go filepath.Match(pattern, name) on Linux: the whole `name` must match.
//   `*`        any run of non-`/` bytes          `?`  one non-`/` character (UTF-8)
//   `[abc]` `[a-z]` `[^a-z]` character class (`^` negates; `!` is an ordinary member)
//   `\c`       the literal c (also inside classes)
// Returns true/false, or an Error "syntax error in pattern" when the pattern is
// malformed (unterminated `[`, empty class `[]`, `[a-]`, trailing `\`). As in Go the
// whole pattern is checked for errors even when the match already failed, except after
// a trailing `*` has matched.
util::Result<bool> go_path_match(std::string_view pattern, std::string_view name);

// True when `path` contains an unescaped `*`, `?` or `[` (fsutil containsWildcards;
// `\` escapes the next byte).
bool contains_wildcards(std::string_view path);

// Go filepath.Clean on a `/`-separated path: removes `.` elements, empty elements and
// a trailing `/`, resolves `..` lexically (leading `..` kept in a relative path,
// dropped after the root). "" gives ".".
std::string clean_path(std::string_view path);

// One compiled pattern of a PatternMatcher.
struct PathPattern {
  std::string text;        // cleaned pattern, without the leading `!`
  bool exclusion = false;  // written with a leading `!` (an exception: re-includes)
  std::vector<std::string> dirs;  // text split on `/`
  // Matching strategy chosen by the compiler, as patternmatcher does:
  enum class Kind { exact, prefix, suffix, regexp } kind = Kind::exact;
  std::shared_ptr<const void> program;  // compiled form for Kind::regexp (internal)

  // Does this pattern alone match `path` (`/`-separated, relative, cleaned)?
  // No parent-directory logic here.
  bool matches(std::string_view path) const;
};

// Per-directory memo used while walking a tree (patternmatcher.MatchInfo): for each
// pattern, whether it matched the directory or one of its ancestors. Empty = unknown.
struct PatternMatchInfo {
  std::vector<bool> parent_matched;
};

// moby/patternmatcher.PatternMatcher. Each input pattern is trimmed, path-cleaned
// (clean_path), and a leading `!` makes it an exception. Errors (from create):
// a lone `!` ("illegal exclusion pattern: \"!\""), a pattern Go filepath.Match rejects
// ("syntax error in pattern"), or one whose translation to a regular expression is
// invalid (e.g. `\q`, `[z-a]`): BuildKit reports those at match time, we report them
// up front. Empty patterns are skipped.
class PatternMatcher {
public:
  static util::Result<PatternMatcher> create(const std::vector<std::string>& patterns);

  // MatchesOrParentMatches: true when the last pattern that matches `path` or one
  // of its ancestor directories is not an exception. `path` is `/`-separated and
  // relative to the root ("a/b.txt"); it is cleaned first; "." never matches.
  bool matches_or_parent_matches(std::string_view path) const;

  // MatchesUsingParentResults: the walk variant. `parent` is the info returned for
  // the parent directory (empty for entries at the root: the parents are then checked
  // as in matches_or_parent_matches). Returns whether `path` is matched (excluded) and
  // fills `out` (for use by its children when `path` is a directory).
  // Note the quirk this reproduces: once a pattern matched an entry directly, an
  // exception that only matches an ancestor does not rescue it (`**/*.tmp` then
  // `!keep` still excludes keep/a.tmp).
  bool matches_using_parent_results(std::string_view path, const PatternMatchInfo& parent,
                                    PatternMatchInfo* out) const;

  bool has_exclusions() const { return m_exclusions; }  // any `!` pattern
  const std::vector<PathPattern>& patterns() const { return m_patterns; }
  bool empty() const { return m_patterns.empty(); }

private:
  std::vector<PathPattern> m_patterns;
  bool m_exclusions = false;
};

}  // namespace mkimage::parser
