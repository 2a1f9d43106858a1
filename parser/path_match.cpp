// Go filepath.Match (Linux) and moby/patternmatcher, reimplemented from their
// documented behaviour; see parser/path_match.hpp.
//
// patternmatcher translates each cleaned pattern into one of four match kinds:
//   exact   no wildcard, class or escape: string equality ("foo/bar")
//   prefix  only a trailing `**` ("docs**", "docs/**"): raw string prefix of the path
//   suffix  a leading `**` and no other wildcard ("**foo", "**/node_modules"): raw
//           string suffix, or equality with the part after "**/"
//   regexp  everything else: `^` + translation + `$` where `*` is `[^/]*`, `?` is
//           `[^/]`, `**/` and a middle `**` are `(.*/)?`, a final `**` is `.*`,
//           `. + ( ) | { } $` are escaped, `\x` is kept as `\x`, and `[ ] ^` and every
//           other character pass through unchanged (so `[!a]` is a class holding `!`
//           and `a`, and `[^a]` is a negated class).
#include "parser/path_match.hpp"

#include "parser/pattern_regex.hpp"

namespace mkimage::parser {

namespace {

const char* const k_bad_pattern = "syntax error in pattern";

// One UTF-8 code point (Go utf8.DecodeRuneInString): invalid gives U+FFFD width 1.
int32_t decode_rune(std::string_view s, size_t* width) {
  auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    *width = 1;
    return b0;
  }
  int n = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
  int32_t cp = n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  bool ok = n > 0 && static_cast<size_t>(n) <= s.size();
  for (int k = 1; ok && k < n; ++k) {
    auto b = static_cast<unsigned char>(s[k]);
    if ((b & 0xC0) != 0x80) ok = false;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr int32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (!ok || cp < k_min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *width = 1;
    return 0xFFFD;
  }
  *width = static_cast<size_t>(n);
  return cp;
}

// Go filepath.scanChunk: leading stars, then the chunk up to the next unbracketed `*`.
void scan_chunk(std::string_view pattern, bool* star, std::string_view* chunk,
                std::string_view* rest) {
  *star = false;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    *star = true;
  }
  bool in_range = false;
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      in_range = true;
    } else if (c == ']') {
      in_range = false;
    } else if (c == '*' && !in_range) {
      break;
    }
  }
  *chunk = pattern.substr(0, i);
  *rest = pattern.substr(i);
}

// Go filepath.getEsc: one (possibly escaped) class member.
bool get_esc(std::string_view chunk, int32_t* r, std::string_view* next) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return false;
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return false;
  }
  size_t w = 1;
  *r = decode_rune(chunk, &w);
  bool ok = !(*r == 0xFFFD && w == 1);
  *next = chunk.substr(w);
  if (next->empty()) ok = false;
  return ok;
}

// Go filepath.matchChunk. Returns -1 on a bad pattern, 0 no match, 1 match (`rest`).
int match_chunk(std::string_view chunk, std::string_view s, std::string_view* rest) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    char c = chunk[0];
    if (c == '[') {
      int32_t r = 0;
      if (!failed) {
        size_t n = 1;
        r = decode_rune(s, &n);
        s.remove_prefix(n);
      }
      chunk.remove_prefix(1);
      bool negated = false;
      if (!chunk.empty() && chunk[0] == '^') {
        negated = true;
        chunk.remove_prefix(1);
      }
      bool match = false;
      int nrange = 0;
      for (;;) {
        if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
          chunk.remove_prefix(1);
          break;
        }
        int32_t lo = 0, hi = 0;
        if (!get_esc(chunk, &lo, &chunk)) return -1;
        hi = lo;
        if (chunk[0] == '-') {
          if (!get_esc(chunk.substr(1), &hi, &chunk)) return -1;
        }
        if (lo <= r && r <= hi) match = true;
        ++nrange;
      }
      if (match == negated) failed = true;
    } else if (c == '?') {
      if (!failed) {
        if (s[0] == '/') failed = true;
        size_t n = 1;
        decode_rune(s, &n);
        s.remove_prefix(n);
      }
      chunk.remove_prefix(1);
    } else {
      if (c == '\\') {
        chunk.remove_prefix(1);
        if (chunk.empty()) return -1;
      }
      if (!failed) {
        if (chunk[0] != s[0]) failed = true;
        s.remove_prefix(1);
      }
      chunk.remove_prefix(1);
    }
  }
  if (failed) return 0;
  *rest = s;
  return 1;
}

bool is_space(int32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Go strings.TrimSpace (Unicode white space).
std::string_view trim_space(std::string_view s) {
  size_t begin = 0, end = 0;
  bool seen = false;
  for (size_t i = 0; i < s.size();) {
    size_t w = 1;
    bool space = is_space(decode_rune(s.substr(i), &w));
    if (!space) {
      if (!seen) begin = i;
      seen = true;
      end = i + w;
    }
    i += w;
  }
  return seen ? s.substr(begin, end - begin) : std::string_view();
}

struct Compiled {
  detail::Regex regex;
};

bool should_escape(int32_t c) {
  switch (c) {
    case '.': case '+': case '(': case ')': case '|': case '{': case '}': case '$':
      return true;
    default:
      return false;
  }
}

void append_rune(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// patternmatcher Pattern.compile: picks the kind and builds the regex source.
util::Result<void> compile_pattern(PathPattern& p) {
  std::vector<int32_t> runes;
  std::string_view s = p.text;
  for (size_t i = 0; i < s.size();) {
    size_t w = 1;
    runes.push_back(decode_rune(s.substr(i), &w));
    i += w;
  }
  if (!runes.empty() && runes[0] == 0xFEFF) runes.erase(runes.begin());  // text/scanner skips a BOM

  using Kind = PathPattern::Kind;
  std::string re = "^";
  Kind kind = Kind::exact;
  size_t pos = 0;
  auto peek = [&]() -> int32_t { return pos < runes.size() ? runes[pos] : -1; };
  for (size_t i = 0; pos < runes.size(); ++i) {
    int32_t ch = runes[pos++];
    if (ch == '*') {
      if (peek() == '*') {
        ++pos;
        if (peek() == '/') ++pos;  // treat "**/" as "**"
        if (peek() == -1) {
          if (kind == Kind::exact) {
            kind = Kind::prefix;
          } else {
            re += ".*";
            kind = Kind::regexp;
          }
        } else {
          re += "(.*/)?";
          kind = Kind::regexp;
        }
        if (i == 0) kind = Kind::suffix;
      } else {
        re += "[^/]*";
        kind = Kind::regexp;
      }
    } else if (ch == '?') {
      re += "[^/]";
      kind = Kind::regexp;
    } else if (should_escape(ch)) {
      re += '\\';
      append_rune(re, ch);
    } else if (ch == '\\') {
      if (peek() != -1) {
        re += '\\';
        append_rune(re, runes[pos++]);
        kind = Kind::regexp;
      } else {
        re += '\\';  // as patternmatcher (unreachable: filepath.Match rejects it first)
      }
    } else if (ch == '[' || ch == ']') {
      append_rune(re, ch);
      kind = Kind::regexp;
    } else {
      append_rune(re, ch);
    }
  }
  p.kind = kind;
  if (kind == Kind::regexp) {
    re += "$";
    auto compiled = detail::Regex::compile(re);
    if (!compiled.ok()) return util::Error{k_bad_pattern};
    p.program = std::make_shared<Compiled>(Compiled{std::move(*compiled)});
  }
  return {};
}

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}
bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Go filepath.Dir for a cleaned relative path: "a/b/c" -> "a/b", "a" -> ".".
std::string_view dir_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Does `pattern` match `path` or one of its ancestor directories?
bool matches_self_or_parent(const PathPattern& pattern, std::string_view path) {
  if (pattern.matches(path)) return true;
  std::string_view parent = dir_of(path);
  if (parent == ".") return false;
  // Prefixes "a", "a/b", ... of the parent path (strings.Split + Join).
  for (size_t i = 0; i <= parent.size(); ++i) {
    if (i == parent.size() || parent[i] == '/') {
      if (pattern.matches(parent.substr(0, i))) return true;
    }
  }
  return false;
}

}  // namespace

util::Result<bool> go_path_match(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    bool star = false;
    std::string_view chunk, rest;
    scan_chunk(pattern, &star, &chunk, &rest);
    pattern = rest;
    if (star && chunk.empty()) {
      // A trailing * matches the rest of the name unless it has a /.
      return name.find('/') == std::string_view::npos;
    }
    std::string_view t;
    int r = match_chunk(chunk, name, &t);
    if (r == 1 && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    if (r < 0) return util::Error{k_bad_pattern};
    bool matched_later = false;
    if (star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        int r2 = match_chunk(chunk, name.substr(i + 1), &t);
        if (r2 == 1) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          matched_later = true;
          break;
        }
        if (r2 < 0) return util::Error{k_bad_pattern};
      }
    }
    if (matched_later) continue;
    // No match: still check that the rest of the pattern is well-formed.
    while (!pattern.empty()) {
      scan_chunk(pattern, &star, &chunk, &rest);
      pattern = rest;
      std::string_view ignored;
      if (match_chunk(chunk, "", &ignored) < 0) return util::Error{k_bad_pattern};
    }
    return false;
  }
  return name.empty();
}

bool contains_wildcards(std::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '\\') {
      ++i;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view elem = path.substr(i, j - i);
    i = j + 1;
    if (elem.empty() || elem == ".") continue;
    if (elem == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(elem);
      }
      continue;
    }
    parts.push_back(elem);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

bool PathPattern::matches(std::string_view path) const {
  switch (kind) {
    case Kind::exact:
      return path == text;
    case Kind::prefix:
      return has_prefix(path, std::string_view(text).substr(0, text.size() - 2));
    case Kind::suffix: {
      std::string_view suffix = std::string_view(text).substr(2);
      if (has_suffix(path, suffix)) return true;
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case Kind::regexp:
      return program && static_cast<const Compiled*>(program.get())->regex.search(path);
  }
  return false;
}

util::Result<PatternMatcher> PatternMatcher::create(const std::vector<std::string>& patterns) {
  PatternMatcher pm;
  for (const std::string& raw : patterns) {
    std::string_view trimmed = trim_space(raw);
    if (trimmed.empty()) continue;
    std::string p = clean_path(trimmed);
    PathPattern pat;
    if (p[0] == '!') {
      if (p.size() == 1) return util::Error{"illegal exclusion pattern: \"!\""};
      pat.exclusion = true;
      p.erase(0, 1);
      pm.m_exclusions = true;
    }
    auto valid = go_path_match(p, ".");
    if (!valid.ok()) return valid.error();
    pat.text = p;
    size_t start = 0;
    for (;;) {
      size_t slash = p.find('/', start);
      pat.dirs.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    MKIMAGE_TRY_VOID(compile_pattern(pat));
    pm.m_patterns.push_back(std::move(pat));
  }
  return pm;
}

bool PatternMatcher::matches_or_parent_matches(std::string_view path_in) const {
  std::string path = clean_path(path_in);
  if (path == ".") return false;
  bool matched = false;
  for (const PathPattern& pattern : m_patterns) {
    // An exclusion is only worth checking once something matched, and an
    // inclusion only while nothing has.
    if (pattern.exclusion != matched) continue;
    if (matches_self_or_parent(pattern, path)) matched = !pattern.exclusion;
  }
  return matched;
}

bool PatternMatcher::matches_using_parent_results(std::string_view path,
                                                  const PatternMatchInfo& parent,
                                                  PatternMatchInfo* out) const {
  const std::vector<bool>& parent_matched = parent.parent_matched;
  bool have_parent = !parent_matched.empty() && parent_matched.size() == m_patterns.size();
  bool matched = false;
  std::vector<bool> info(m_patterns.size(), false);
  for (size_t i = 0; i < m_patterns.size(); ++i) {
    const PathPattern& pattern = m_patterns[i];
    bool match = have_parent && parent_matched[i];
    if (!match) {
      if (pattern.exclusion != matched) continue;
      match = have_parent ? pattern.matches(path) : matches_self_or_parent(pattern, path);
    }
    info[i] = match;
    if (match) matched = !pattern.exclusion;
  }
  if (out) out->parent_matched = std::move(info);
  return matched;
}

}  // namespace mkimage::parser
