// UTF-8 and whitespace helpers with Go's semantics (see syntax_internal.hpp).
#include "parser/syntax_internal.hpp"

namespace mkimage::parser::syntax {

Rune decode_rune(std::string_view s, std::size_t i) {
  Rune r;
  if (i >= s.size()) return r;
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return Rune{b0, 1, true};
  auto cont = [&](std::size_t k) -> int {
    if (i + k >= s.size()) return -1;
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    return b & 0x3F;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    int c1 = cont(1);
    if (c1 < 0) return r;
    return Rune{static_cast<char32_t>(((b0 & 0x1F) << 6) | c1), 2, true};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    int c1 = cont(1);
    if (c1 < 0) return r;
    if (b0 == 0xE0 && c1 < 0x20) return r;  // overlong
    if (b0 == 0xED && c1 >= 0x20) return r;  // surrogate
    int c2 = cont(2);
    if (c2 < 0) return r;
    return Rune{static_cast<char32_t>(((b0 & 0x0F) << 12) | (c1 << 6) | c2), 3, true};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    int c1 = cont(1);
    if (c1 < 0) return r;
    if (b0 == 0xF0 && c1 < 0x10) return r;  // overlong
    if (b0 == 0xF4 && c1 >= 0x10) return r;  // > U+10FFFF
    int c2 = cont(2);
    if (c2 < 0) return r;
    int c3 = cont(3);
    if (c3 < 0) return r;
    return Rune{static_cast<char32_t>(((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3), 4, true};
  }
  return r;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
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

bool is_space_rune(char32_t cp) {
  switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string_view trim_left_space(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    Rune r = decode_rune(s, i);
    if (!r.valid || !is_space_rune(r.cp)) break;
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
    if (!r.valid || !is_space_rune(r.cp)) end = i;
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

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace mkimage::parser::syntax
