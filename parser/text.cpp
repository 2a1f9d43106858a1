// Go's strconv.Quote (parser/text.hpp) and the syntax parser's whitespace
// helpers with Go's semantics (parser/syntax_internal.hpp).
#include "parser/text.hpp"

#include "parser/syntax_internal.hpp"
#include "parser/utf8.hpp"

namespace mkimage::parser {

namespace {

// Approximation of Go's unicode.IsPrint for non-ASCII code points: everything
// is printable except C1 controls, spaces other than U+0020, format characters,
// private use and non-characters.
bool is_print_non_ascii(int32_t cp) {
  if (cp >= 0x80 && cp <= 0x9F) return false;
  if (utf8::is_space(cp)) return false;
  switch (cp) {
    case 0xAD: case 0x61C: case 0x6DD: case 0x70F: case 0x8E2: case 0x180E:
    case 0xFEFF: case 0x110BD: case 0x110CD: case 0xE0001:
      return false;
    default:
      break;
  }
  if (cp >= 0x600 && cp <= 0x605) return false;
  if (cp >= 0x200B && cp <= 0x200F) return false;
  if (cp >= 0x202A && cp <= 0x202E) return false;
  if (cp >= 0x2060 && cp <= 0x206F) return false;
  if (cp >= 0xFFF9 && cp <= 0xFFFB) return false;
  if (cp >= 0x13430 && cp <= 0x1343F) return false;
  if (cp >= 0x1BCA0 && cp <= 0x1BCA3) return false;
  if (cp >= 0x1D173 && cp <= 0x1D17A) return false;
  if (cp >= 0xE0020 && cp <= 0xE007F) return false;
  if (cp >= 0xE000 && cp <= 0xF8FF) return false;   // private use
  if (cp >= 0xF0000) return false;                   // private use planes
  if ((cp & 0xFFFE) == 0xFFFE) return false;         // non-characters
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return false;
  return true;
}

const char k_hex[] = "0123456789abcdef";

}  // namespace

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t width = 1;
    int32_t cp = utf8::decode(s, i, &width);
    if (cp == utf8::k_rune_error && width == 1) {
      auto b = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xF];
      i += 1;
      continue;
    }
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp >= 0x80 && is_print_non_ascii(cp)) {
      out.append(s.substr(i, width));
    } else {
      switch (cp) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (cp < 0x20 || cp == 0x7F) {
            out += "\\x";
            out += k_hex[(cp >> 4) & 0xF];
            out += k_hex[cp & 0xF];
          } else if (cp < 0x10000) {
            out += "\\u";
            for (int shift = 12; shift >= 0; shift -= 4) out += k_hex[(cp >> shift) & 0xF];
          } else {
            out += "\\U";
            for (int shift = 28; shift >= 0; shift -= 4) out += k_hex[(cp >> shift) & 0xF];
          }
      }
    }
    i += width;
  }
  out += '"';
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

namespace syntax {

std::string_view trim_left_space(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    Rune r = decode_rune(s, i);
    if (!r.valid || !utf8::is_space(static_cast<int32_t>(r.cp))) break;
    i += r.width;
  }
  return s.substr(i);
}

std::string_view trim_space(std::string_view s) {
  s = trim_left_space(s);
  // Walk forward remembering the end of the last non-space rune.
  std::size_t end = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    Rune r = decode_rune(s, i);
    i += r.width;
    if (!r.valid || !utf8::is_space(static_cast<int32_t>(r.cp))) end = i;
  }
  return s.substr(0, end);
}

std::vector<std::string> split_token_space(std::string_view s, bool max_two) {
  std::vector<std::string> out;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!is_token_space(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && is_token_space(s[j])) ++j;
    out.emplace_back(s.substr(start, i - start));
    start = j;
    i = j;
    if (max_two) break;
  }
  out.emplace_back(s.substr(start));
  return out;
}

}  // namespace syntax

}  // namespace mkimage::parser
