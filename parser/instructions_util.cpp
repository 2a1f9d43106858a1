// Value syntaxes used by typed instructions: Go durations, byte sizes,
// symbolic chmod modes.
#include <cctype>
#include <cstdint>
#include <limits>

#include "parser/instructions.hpp"
#include "parser/text.hpp"
#include "util/units.hpp"

namespace mkimage::parser {

util::Result<std::int64_t> parse_go_duration(const std::string& text) {
  auto invalid = [&] { return util::Error{"time: invalid duration " + go_quote(text)}; };
  std::string s = text;
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    ++i;
  }
  if (s.substr(i) == "0") return std::int64_t{0};
  if (i >= s.size()) return invalid();
  long double total = 0;
  while (i < s.size()) {
    std::size_t start = i;
    long double value = 0;
    bool digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      value = value * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        value += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits || start == i) return invalid();
    std::size_t ustart = i;
    while (i < s.size() && s[i] != '.' && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(ustart, i - ustart);
    if (unit.empty()) return util::Error{"time: missing unit in duration " + go_quote(text)};
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") mult = 1e3L;
    else if (unit == "ms") mult = 1e6L;
    else if (unit == "s") mult = 1e9L;
    else if (unit == "m") mult = 60e9L;
    else if (unit == "h") mult = 3600e9L;
    else return util::Error{"time: unknown unit " + go_quote(unit) + " in duration " + go_quote(text)};
    total += value * mult;
    if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return invalid();
  }
  auto ns = static_cast<std::int64_t>(total + 0.5L);
  return neg ? -ns : ns;
}

std::string format_go_duration(std::int64_t ns) {
  if (ns == 0) return "0s";
  bool neg = ns < 0;
  std::uint64_t u = neg ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  auto frac = [](std::uint64_t v, int prec) {
    // v has `prec` fractional digits; print "int[.frac]" trimming zeros.
    std::uint64_t p = 1;
    for (int k = 0; k < prec; ++k) p *= 10;
    std::string out = std::to_string(v / p);
    std::uint64_t f = v % p;
    if (f != 0) {
      std::string fs = std::to_string(f);
      fs = std::string(prec - fs.size(), '0') + fs;
      while (!fs.empty() && fs.back() == '0') fs.pop_back();
      out += "." + fs;
    }
    return out;
  };
  std::string out;
  if (u < 1000000000ULL) {
    if (u < 1000) out = std::to_string(u) + "ns";
    else if (u < 1000000) out = frac(u, 3) + "\xC2\xB5s";
    else out = frac(u, 6) + "ms";
  } else {
    std::uint64_t secs_ns = u % 60000000000ULL;
    std::uint64_t mins = u / 60000000000ULL;
    std::uint64_t hours = mins / 60;
    mins %= 60;
    if (hours > 0) out += std::to_string(hours) + "h";
    if (hours > 0 || mins > 0) out += std::to_string(mins) + "m";
    out += frac(secs_ns, 9) + "s";
  }
  return neg ? "-" + out : out;
}

util::Result<std::int64_t> parse_size_bytes(const std::string& text) { return util::parse_size_bytes(text); }

bool is_symbolic_mode(const std::string& text) {
  // chmod(1): clause[,clause...]; clause = [ugoa]* (op [rwxXst]* | op [ugo])+
  if (text.empty()) return false;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && std::string_view("ugoa").find(text[i]) != std::string_view::npos) ++i;
    bool ops = false;
    while (i < text.size() && (text[i] == '+' || text[i] == '-' || text[i] == '=')) {
      ops = true;
      ++i;
      if (i < text.size() && std::string_view("ugo").find(text[i]) != std::string_view::npos) {
        ++i;
        continue;
      }
      while (i < text.size() && std::string_view("rwxXst").find(text[i]) != std::string_view::npos) ++i;
    }
    if (!ops) return false;
    if (i == text.size()) return true;
    if (text[i] != ',') return false;
    ++i;
    if (i == text.size()) return false;
  }
}

}  // namespace mkimage::parser
