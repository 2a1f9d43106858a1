// Placeholder: the syntax parser lands here (parse_dockerfile, dump_ast).
#include "parser/ast.hpp"

namespace mkimage::parser {

util::Result<Ast> parse_dockerfile(std::string_view, const std::string& file) {
  return util::Error{file + ": parser not implemented yet"};
}

std::string dump_ast(const Ast&) { return ""; }

}  // namespace mkimage::parser
