// UTF-8 helpers shared by the shell lexer and the path matchers (internal to parser/).
// They follow Go's unicode/utf8 rules, because BuildKit reads text as Go runes: an
// invalid or truncated sequence, an overlong form or a surrogate decodes as U+FFFD
// with width 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mkimage::parser::utf8 {

constexpr int32_t k_rune_error = 0xFFFD;
constexpr int32_t k_max_rune = 0x10FFFF;

// Decodes the code point starting at `s[i]` (i < s.size()); sets `*width` in bytes.
inline int32_t decode(std::string_view s, std::size_t i, std::size_t* width) {
  auto b0 = static_cast<unsigned char>(s[i]);
  *width = 1;
  if (b0 < 0x80) return b0;
  int n = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return k_rune_error;
  int32_t cp = n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k < n; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return k_rune_error;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr int32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < k_min[n] || cp > k_max_rune || (cp >= 0xD800 && cp <= 0xDFFF)) return k_rune_error;
  *width = static_cast<std::size_t>(n);
  return cp;
}

// All code points of `s`.
inline std::vector<int32_t> decode_all(std::string_view s) {
  std::vector<int32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t w = 1;
    out.push_back(decode(s, i, &w));
    i += w;
  }
  return out;
}

// Appends `cp` encoded as UTF-8 (invalid code points as U+FFFD, like Go).
inline void append(std::string& out, int32_t cp) {
  if (cp < 0 || cp > k_max_rune || (cp >= 0xD800 && cp <= 0xDFFF)) cp = k_rune_error;
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

// Go unicode.IsSpace.
inline bool is_space(int32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

}  // namespace mkimage::parser::utf8
