// Internal helpers of the Dockerfile syntax parser (parser.cpp, line_parsers.cpp,
// json_args.cpp, heredoc.cpp, dump.cpp). Not a public API: other modules use
// parser/ast.hpp. The helpers reproduce BuildKit's frontend/dockerfile/parser
// behaviour, including Go's Unicode whitespace and UTF-8 rules where they matter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parser/ast.hpp"
#include "parser/utf8.hpp"
#include "util/result.hpp"

namespace mkimage::parser::syntax {

// One UTF-8 code point at `s[i]`, decoded the way Go's utf8.DecodeRune does
// (parser/utf8.hpp): invalid or truncated sequences (overlong, surrogates,
// > U+10FFFF) and `i` past the end give `valid = false` and width 1.
struct Rune {
  char32_t cp = 0;
  std::size_t width = 1;
  bool valid = false;
};
inline Rune decode_rune(std::string_view s, std::size_t i) {
  if (i >= s.size()) return Rune{};
  std::size_t width = 1;
  int32_t cp = utf8::decode(s, i, &width);
  // U+FFFD itself is valid (3 bytes); the error value comes with width 1.
  if (cp == utf8::k_rune_error && width == 1) return Rune{};
  return Rune{static_cast<char32_t>(cp), width, true};
}

// unicode.IsSpace applied to a single byte converted to a rune (Go's rune(b)),
// restricted to ASCII: tab, LF, VT, FF, CR, space.
inline bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
// BuildKit's reWhitespace `[\t\v\f\r ]`.
inline bool is_token_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

// Go's strings.TrimLeftFunc(s, unicode.IsSpace) / strings.TrimSpace.
std::string_view trim_left_space(std::string_view s);
std::string_view trim_space(std::string_view s);

// Splits on runs of `[\t\v\f\r ]` (Go regexp Split with n = -1, or n = 2 when `max_two`).
std::vector<std::string> split_token_space(std::string_view s, bool max_two = false);

// Result of trying the JSON (exec) form on an instruction's arguments.
enum class JsonForm { not_json, not_strings, strings };
// Decodes `text` as a JSON array of strings with Go encoding/json semantics
// (`\/`, `\uXXXX`, surrogate pairs, invalid UTF-8 → U+FFFD). `not_json` when
// `text` does not start with `[` or is not valid JSON; `not_strings` when it is
// a valid array holding anything but strings.
JsonForm parse_json_array(std::string_view text, std::vector<std::string>& out);

// The instruction-level parse of one logical line (BuildKit newNodeFromLine):
// keyword, flags, per-instruction argument split, ONBUILD nesting. Errors carry
// the bare message (no location).
util::Result<Node> node_from_line(std::string_view line, char escape);

// Heredoc words found in a logical line (BuildKit heredocsFromLine): every
// shell word of the form `[n]<<[-]NAME`. Bodies are not filled in.
std::vector<Heredoc> heredocs_from_line(std::string_view line);

// One word `[n]<<[-]NAME` (BuildKit ParseHeredoc: `^(\d*)<<(-?)([^<]*)$`, the rest
// a single shell word whose quotes are removed; quoting turns off expansion), or
// nullopt. Bodies are not filled in.
std::optional<Heredoc> parse_heredoc_word(std::string_view word);

// Whether heredocs are read after this node: RUN/COPY/ADD in non-JSON form,
// directly or as the trigger of ONBUILD.
bool can_contain_heredoc(const Node& node);

}  // namespace mkimage::parser::syntax
