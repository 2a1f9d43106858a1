// A small regular-expression engine for the expressions moby/patternmatcher builds
// from `.dockerignore` patterns. patternmatcher hands its translation to Go's regexp
// (RE2 syntax, Perl flags), and `[...]`, `^` and `\x` from the pattern reach the regex
// unchanged, so we accept the RE2 subset those can produce and evaluate it the same
// way: literals, `.` (not newline), `[...]` classes (ranges, `^` negation, `\d \s \w`
// and their negations, `[:alpha:]`-style POSIX names, escapes), groups `( )`,
// alternation `|`, `*` `+` `?` (lazy forms accepted), `^` `$` `\A` `\z` (text
// anchors), `\b` `\B`, escapes (`\.`, `\n`, `\x41`, `\x{41}`, octal `\012`, `\Q…\E`).
// Unicode classes (`\p{…}`) and counted repetition are not supported (error).
// Input is matched as UTF-8 code points; an invalid byte reads as U+FFFD.
// Internal to parser/; used by parser/path_match.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::parser::detail {

class Regex {
public:
  // Errors: a message in the style of Go regexp/syntax, e.g. "missing closing ]".
  static util::Result<Regex> compile(std::string_view expr);

  // Go Regexp.MatchString: is there a match anywhere in `text`?
  bool search(std::string_view text) const;

  struct Range {
    int32_t lo, hi;
  };
  struct Inst {
    enum Op { match, chars, any_not_nl, split, jmp, begin_text, end_text, word_boundary,
              no_word_boundary } op;
    std::vector<Range> ranges;  // op == chars (already negated/normalised)
    int x = 0, y = 0;           // jump targets
  };

private:
  std::vector<Inst> m_prog;
  int m_start = 0;
  friend class RegexCompiler;
};

}  // namespace mkimage::parser::detail
