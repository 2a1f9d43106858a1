// Path patterns for COPY/ADD: Go filepath.Match (source wildcards) and
// moby/patternmatcher (`--exclude`, `--parents` wildcards with `**`, .dockerignore).
#include <regex>

#include "builder/copy_internal.hpp"

namespace mkimage::builder {

namespace {

util::Error bad_pattern() { return util::Error{"syntax error in pattern"}; }

// Go's matchChunk/scanChunk are replaced by a direct backtracking matcher over
// bytes (names are compared byte-wise as Go does for ASCII; UTF-8 multi-byte
// characters match `?` as several bytes, which only matters for `?` on non-ASCII).
// Matches a character class at pattern[pi] ('[' already consumed); returns the
// index after ']' or npos on syntax error. `matched` tells whether `c` is in it.
std::size_t match_class(std::string_view p, std::size_t pi, char c, bool& matched) {
  bool negated = false;
  if (pi < p.size() && p[pi] == '^') {
    negated = true;
    ++pi;
  }
  bool in = false;
  int n = 0;
  while (true) {
    if (pi >= p.size()) return std::string_view::npos;
    if (p[pi] == ']' && n > 0) {
      ++pi;
      break;
    }
    char lo = p[pi];
    if (lo == '\\') {
      if (++pi >= p.size()) return std::string_view::npos;
      lo = p[pi];
    } else if (lo == '-' || lo == ']') {
      if (lo == ']' && n == 0) return std::string_view::npos;  // "[]" is a syntax error in Go
      if (lo == '-') return std::string_view::npos;
    }
    ++pi;
    char hi = lo;
    if (pi < p.size() && p[pi] == '-') {
      ++pi;
      if (pi >= p.size()) return std::string_view::npos;
      hi = p[pi];
      if (hi == '\\') {
        if (++pi >= p.size()) return std::string_view::npos;
        hi = p[pi];
      } else if (hi == ']') {
        return std::string_view::npos;
      }
      ++pi;
    }
    if (lo <= c && c <= hi) in = true;
    ++n;
  }
  matched = in != negated;
  return pi;
}

// Validates the rest of a pattern (Go reports syntax errors even after a mismatch).
bool valid_pattern(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      if (++i >= p.size()) return false;
    } else if (p[i] == '[') {
      bool m;
      auto next = match_class(p, i + 1, 'a', m);
      if (next == std::string_view::npos) return false;
      i = next - 1;
    }
  }
  return true;
}

bool match_here(std::string_view p, std::size_t pi, std::string_view s, std::size_t si, bool& err) {
  while (pi < p.size()) {
    char pc = p[pi];
    if (pc == '*') {
      while (pi < p.size() && p[pi] == '*') ++pi;
      if (pi == p.size()) return s.find('/', si) == std::string_view::npos;
      for (std::size_t k = si; k <= s.size(); ++k) {
        if (match_here(p, pi, s, k, err)) return true;
        if (err) return false;
        if (k < s.size() && s[k] == '/') break;
      }
      return false;
    }
    if (si >= s.size()) return false;
    if (pc == '?') {
      if (s[si] == '/') return false;
      ++pi;
      ++si;
      continue;
    }
    if (pc == '[') {
      bool m = false;
      auto next = match_class(p, pi + 1, s[si], m);
      if (next == std::string_view::npos) {
        err = true;
        return false;
      }
      if (!m || s[si] == '/') return false;
      pi = next;
      ++si;
      continue;
    }
    if (pc == '\\') {
      if (++pi >= p.size()) {
        err = true;
        return false;
      }
      pc = p[pi];
    }
    if (s[si] != pc) return false;
    ++pi;
    ++si;
  }
  return si == s.size();
}

}  // namespace

util::Result<bool> path_match(std::string_view pattern, std::string_view name) {
  if (!valid_pattern(pattern)) return bad_pattern();
  bool err = false;
  bool m = match_here(pattern, 0, name, 0, err);
  if (err) return bad_pattern();
  return m;
}

bool has_wildcards(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == '*' || s[i] == '?' || s[i] == '[') return true;
  }
  return false;
}

util::Result<Pattern> Pattern::compile(std::string_view pattern) {
  // patternmatcher's regexp translation.
  std::string re = "^";
  std::size_t i = 0;
  while (i < pattern.size()) {
    char ch = pattern[i++];
    if (ch == '*') {
      if (i < pattern.size() && pattern[i] == '*') {
        ++i;
        if (i < pattern.size() && pattern[i] == '/') ++i;
        if (i == pattern.size()) {
          re += ".*";
        } else {
          re += "(.*/)?";
        }
      } else {
        re += "[^/]*";
      }
    } else if (ch == '?') {
      re += "[^/]";
    } else if (std::string_view(".+()|{}$^").find(ch) != std::string_view::npos) {
      re += '\\';
      re += ch;
    } else if (ch == '\\') {
      if (i < pattern.size()) {
        char next = pattern[i++];
        if (std::isalnum(static_cast<unsigned char>(next))) {
          re += next;
        } else {
          re += '\\';
          re += next;
        }
      } else {
        re += "\\\\";
      }
    } else if (ch == '[') {
      // Copy the class; Go's "^" negation is regex's too.
      re += '[';
      if (i < pattern.size() && pattern[i] == '^') {
        re += '^';
        ++i;
      }
      bool closed = false;
      bool first = true;
      while (i < pattern.size()) {
        char c = pattern[i++];
        if (c == ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        if (c == '\\' && i < pattern.size()) {
          re += '\\';
          re += pattern[i++];
        } else if (c == '[' || c == '^') {
          re += '\\';
          re += c;
        } else {
          re += c;
        }
      }
      if (!closed) return bad_pattern();
      re += ']';
    } else {
      re += ch;
    }
  }
  re += '$';
  Pattern p;
  p.m_text = std::string(pattern);
  try {
    p.m_regex = std::make_shared<std::regex>(re, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error&) {
    return bad_pattern();
  }
  return p;
}

bool Pattern::matches(std::string_view path) const {
  const auto& re = *static_cast<const std::regex*>(m_regex.get());
  return std::regex_match(path.begin(), path.end(), re);
}

bool Pattern::matches_or_parent(std::string_view path) const {
  if (matches(path)) return true;
  std::size_t pos = 0;
  while ((pos = path.find('/', pos)) != std::string_view::npos) {
    if (matches(path.substr(0, pos))) return true;
    ++pos;
  }
  return false;
}

}  // namespace mkimage::builder
