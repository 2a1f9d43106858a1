// BuildKit's AST dump (../shared/conformance/README.md §1) and Go's strconv.Quote.
#include "parser/syntax_internal.hpp"

namespace mkimage::parser {

namespace syntax {

namespace {

// Approximation of Go's unicode.IsPrint for non-ASCII code points: everything
// is printable except C1 controls, spaces other than U+0020, format characters,
// private use and non-characters.
bool is_print_non_ascii(char32_t cp) {
  if (cp >= 0x80 && cp <= 0x9F) return false;
  if (is_space_rune(cp)) return false;
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
    Rune r = decode_rune(s, i);
    if (!r.valid) {
      auto b = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xF];
      i += 1;
      continue;
    }
    char32_t cp = r.cp;
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp >= 0x80 && is_print_non_ascii(cp)) {
      out.append(s.substr(i, r.width));
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
    i += r.width;
  }
  out += '"';
  return out;
}

}  // namespace syntax

namespace {

// One node without the surrounding parentheses (Go's Node.Dump, then TrimSpace).
std::string dump_node(const Node& node) {
  std::string str = syntax::lower(node.keyword);
  if (!node.flags.empty()) {
    str += " [";
    for (std::size_t i = 0; i < node.flags.size(); ++i) {
      if (i > 0) str += ' ';
      str += syntax::go_quote(node.flags[i]);
    }
    str += "]";
  }
  if (node.onbuild) {
    str += " (" + dump_node(*node.onbuild) + ")";
  } else {
    for (const auto& arg : node.args) str += " " + syntax::go_quote(arg);
  }
  return std::string(syntax::trim_space(str));
}

}  // namespace

std::string dump_ast(const Ast& ast) {
  std::string out;
  for (const auto& node : ast.instructions) out += "(" + dump_node(node) + ")\n";
  return out;
}

}  // namespace mkimage::parser
