// BuildKit's AST dump (testdata/handed/conformance/README.md §1).
#include "parser/syntax_internal.hpp"
#include "parser/text.hpp"

namespace mkimage::parser {

namespace {

// One node without the surrounding parentheses (Go's Node.Dump, then TrimSpace).
std::string dump_node(const Node& node) {
  std::string str = ascii_lower(node.keyword);
  if (!node.flags.empty()) {
    str += " [";
    for (std::size_t i = 0; i < node.flags.size(); ++i) {
      if (i > 0) str += ' ';
      str += go_quote(node.flags[i]);
    }
    str += "]";
  }
  if (node.onbuild) {
    str += " (" + dump_node(*node.onbuild) + ")";
  } else {
    for (const auto& arg : node.args) str += " " + go_quote(arg);
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
