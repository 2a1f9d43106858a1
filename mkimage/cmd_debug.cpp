// `mkimage debug ...`: developer views of the front end (AST dump, build plan).
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "mkimage/cli.hpp"
#include "parser/ast.hpp"

namespace mkimage::cli {

namespace {

// Reads the Dockerfile named by -f ("-" = stdin). Errors end the command with status 1.
std::string read_dockerfile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliExit{k_exit_failure, "mkimage: cannot read Dockerfile \"" + path + "\""};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void register_debug_commands(CLI::App& app, GlobalOptions& global) {
  (void)global;
  auto* debug = app.add_subcommand("debug", "Developer views of the Dockerfile front end");
  debug->require_subcommand(1);

  auto* dump = debug->add_subcommand("dump-ast", "Print the Dockerfile AST in BuildKit's dump format");
  auto file = std::make_shared<std::string>("Dockerfile");
  dump->add_option("-f,--file", *file, "Dockerfile path ('-' for stdin)");
  dump->callback([file] {
    std::string text = read_dockerfile(*file);
    auto ast = parser::parse_dockerfile(text, *file == "-" ? "Dockerfile" : *file);
    if (!ast.ok()) throw CliExit{k_exit_failure, ast.error().message};
    std::cout << parser::dump_ast(*ast);
  });
}

}  // namespace mkimage::cli
