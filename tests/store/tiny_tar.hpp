// Builds a small, valid ustar archive in memory (regular files and
// directories only) so store tests can make real layers without the layer codec.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace mkimage::test {

struct TarEntry {
  std::string path;     // relative, e.g. "etc/hello"; a trailing "/" makes a directory
  std::string content;  // file bytes
  unsigned mode = 0644;
};

inline std::string tiny_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    bool dir = !e.path.empty() && e.path.back() == '/';
    char h[512];
    std::memset(h, 0, sizeof h);
    std::snprintf(h, 100, "%s", e.path.c_str());
    std::snprintf(h + 100, 8, "%07o", dir ? 0755u : e.mode);
    std::snprintf(h + 108, 8, "%07o", 0u);
    std::snprintf(h + 116, 8, "%07o", 0u);
    std::snprintf(h + 124, 12, "%011lo", static_cast<unsigned long>(dir ? 0 : e.content.size()));
    std::snprintf(h + 136, 12, "%011lo", 1700000000ul);
    h[156] = dir ? '5' : '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    out.append(h, sizeof h);
    if (!dir) {
      out += e.content;
      out.append((512 - e.content.size() % 512) % 512, '\0');
    }
  }
  out.append(1024, '\0');
  return out;
}

}  // namespace mkimage::test
