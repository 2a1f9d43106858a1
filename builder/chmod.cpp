#include "builder/chmod.hpp"

namespace mkimage::builder {

namespace {

util::Error bad(std::string_view text, std::string_view why) {
  return util::Error{"invalid chmod value " + std::string(text) + ": " + std::string(why)};
}

// rwx bits (0..7) of class `cls` (0 = u, 1 = g, 2 = o) in `mode`.
unsigned class_bits(mode_t mode, int cls) { return (mode >> (6 - 3 * cls)) & 7; }

}  // namespace

util::Result<ChmodSpec> ChmodSpec::parse(std::string_view text) {
  ChmodSpec spec;
  spec.m_text = std::string(text);
  if (text.empty()) return bad(text, "empty");
  bool all_octal = true;
  for (char c : text) {
    if (c < '0' || c > '7') all_octal = false;
  }
  if (all_octal) {
    unsigned long v = 0;
    for (char c : text) {
      v = v * 8 + static_cast<unsigned>(c - '0');
      if (v > 07777) return bad(text, "mode out of range (maximum 07777)");
    }
    spec.m_octal = true;
    spec.m_mode = static_cast<mode_t>(v);
    return spec;
  }
  bool all_digits = true;
  for (char c : text) {
    if (c < '0' || c > '9') all_digits = false;
  }
  if (all_digits) return bad(text, "not an octal number");

  std::size_t i = 0;
  while (true) {
    // who
    unsigned who = 0;
    while (i < text.size() && (text[i] == 'u' || text[i] == 'g' || text[i] == 'o' || text[i] == 'a')) {
      who |= text[i] == 'u' ? 1u : text[i] == 'g' ? 2u : text[i] == 'o' ? 4u : 7u;
      ++i;
    }
    if (i >= text.size() || (text[i] != '+' && text[i] != '-' && text[i] != '=')) {
      return bad(text, "expected an operator (+, - or =)");
    }
    while (i < text.size() && (text[i] == '+' || text[i] == '-' || text[i] == '=')) {
      Clause c;
      c.who = who;
      c.op = text[i++];
      if (i < text.size() && (text[i] == 'u' || text[i] == 'g' || text[i] == 'o')) {
        c.copy_from = text[i] == 'u' ? 0 : text[i] == 'g' ? 1 : 2;
        ++i;
      } else {
        while (i < text.size() && std::string_view("rwxXst").find(text[i]) != std::string_view::npos) {
          switch (text[i]) {
            case 'r': c.perm |= 4; break;
            case 'w': c.perm |= 2; break;
            case 'x': c.perm |= 1; break;
            case 'X': c.cap_x = true; break;
            case 's': c.setid = true; break;
            case 't': c.sticky = true; break;
          }
          ++i;
        }
      }
      spec.m_clauses.push_back(c);
    }
    if (i == text.size()) break;
    if (text[i] != ',') return bad(text, "unexpected character '" + std::string(1, text[i]) + "'");
    ++i;
    if (i == text.size()) return bad(text, "trailing comma");
  }
  return spec;
}

mode_t ChmodSpec::apply(mode_t mode, bool is_dir) const {
  if (m_octal) return m_mode;
  mode_t m = mode & 07777;
  for (const auto& c : m_clauses) {
    unsigned who = c.who == 0 ? 7u : c.who;
    unsigned perm = c.perm;
    if (c.copy_from >= 0) perm = class_bits(m, c.copy_from);
    if (c.cap_x && (is_dir || (m & 0111) != 0)) perm |= 1;
    mode_t bits = 0;
    mode_t clear = 0;
    for (int cls = 0; cls < 3; ++cls) {
      if (!(who & (1u << cls))) continue;
      int shift = 6 - 3 * cls;
      bits |= static_cast<mode_t>(perm) << shift;
      clear |= static_cast<mode_t>(7) << shift;
    }
    if (c.setid) {
      if (who & 1u) bits |= 04000;
      if (who & 2u) bits |= 02000;
    }
    if (who & 1u) clear |= 04000;
    if (who & 2u) clear |= 02000;
    if (c.sticky) bits |= 01000;
    if (who == 7u) clear |= 01000;
    switch (c.op) {
      case '+': m |= bits; break;
      case '-': m &= ~bits; break;
      case '=': m = (m & ~clear) | bits; break;
    }
  }
  return m;
}

}  // namespace mkimage::builder
