// Lowercase hexadecimal text, as digests print it (OCI image-spec
// descriptor.md: the sha256 encoded portion is [a-f0-9]{64}).
#pragma once

#include <algorithm>
#include <string_view>

namespace mkimage::util {

// True when `s` is non-empty and every character is 0-9 or a-f.
inline bool is_lower_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace mkimage::util
