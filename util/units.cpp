#include "util/units.hpp"

#include <cctype>

namespace mkimage::util {

util::Result<std::int64_t> parse_size_bytes(const std::string& text) {
  // docker/go-units RAMInBytes: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$
  std::size_t i = 0;
  long double value = 0;
  bool digits = false;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    value = value * 10 + (text[i++] - '0');
    digits = true;
  }
  if (digits && i < text.size() && text[i] == '.') {
    ++i;
    long double scale = 0.1L;
    bool fd = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value += (text[i++] - '0') * scale;
      scale /= 10;
      fd = true;
    }
    if (!fd) digits = false;
  }
  if (!digits) return util::Error{"invalid size: '" + text + "'"};
  if (i < text.size() && text[i] == ' ') ++i;
  long double mult = 1;
  if (i < text.size()) {
    switch (std::tolower(static_cast<unsigned char>(text[i]))) {
      case 'k': mult = 1024.0L; ++i; break;
      case 'm': mult = 1024.0L * 1024; ++i; break;
      case 'g': mult = 1024.0L * 1024 * 1024; ++i; break;
      case 't': mult = 1024.0L * 1024 * 1024 * 1024; ++i; break;
      case 'p': mult = 1024.0L * 1024 * 1024 * 1024 * 1024; ++i; break;
      default: break;
    }
  }
  if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
  if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
  if (i != text.size()) return util::Error{"invalid size: '" + text + "'"};
  long double bytes = value * mult;
  if (bytes > 9.2e18L) return util::Error{"invalid size: '" + text + "'"};
  return static_cast<std::int64_t>(bytes);
}

util::Result<std::int64_t> parse_duration_seconds(const std::string& text) {
  auto bad = [&] { return util::Error{"time: invalid duration \"" + text + "\""}; };
  if (text == "0") return std::int64_t{0};
  if (text.empty() || text[0] == '-') return bad();
  std::size_t i = text[0] == '+' ? 1 : 0;
  if (i == text.size()) return bad();
  long double total = 0;
  while (i < text.size()) {
    long double value = 0;
    bool digits = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i++] - '0');
      digits = true;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        value += (text[i++] - '0') * scale;
        scale /= 10;
        digits = true;
      }
    }
    if (!digits) return bad();
    std::size_t u = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    std::string unit = text.substr(u, i - u);
    long double seconds;
    if (unit == "ns") seconds = 1e-9L;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") seconds = 1e-6L;
    else if (unit == "ms") seconds = 1e-3L;
    else if (unit == "s") seconds = 1;
    else if (unit == "m") seconds = 60;
    else if (unit == "h") seconds = 3600;
    else if (unit.empty()) return util::Error{"time: missing unit in duration \"" + text + "\""};
    else return util::Error{"time: unknown unit \"" + unit + "\" in duration \"" + text + "\""};
    total += value * seconds;
  }
  if (total > 9.2e18L) return bad();
  return static_cast<std::int64_t>(total);
}

}  // namespace mkimage::util
