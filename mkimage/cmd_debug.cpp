// `mkimage debug ...`: developer views of the front end (AST dump, build plan).
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <cstdlib>
#include <memory>
#include <vector>

#include "graph/plan.hpp"
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

  struct PlanArgs {
    std::string file = "Dockerfile";
    std::string target;
    std::vector<std::string> build_args;
    std::string format = "text";
    std::string platform = "linux/amd64";
  };
  auto pa = std::make_shared<PlanArgs>();
  auto* plan = debug->add_subcommand("plan", "Print the build plan: stages, expanded steps and DAG edges");
  plan->add_option("-f,--file", pa->file, "Dockerfile path ('-' for stdin)");
  plan->add_option("--target", pa->target, "Target stage (default: the last stage)");
  plan->add_option("--build-arg", pa->build_args, "Build argument K=V (repeatable; K alone takes the environment value)")->allow_extra_args(false);
  plan->add_option("--platform", pa->platform, "Target platform os/arch[/variant]");
  plan->add_option("--format", pa->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  plan->callback([pa] {
    std::string text = read_dockerfile(pa->file);
    graph::PlanOptions opts;
    opts.file = pa->file == "-" ? "Dockerfile" : pa->file;
    opts.target = pa->target;
    opts.target_platform = pa->platform;
    for (const auto& kv : pa->build_args) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        // docker: `--build-arg K` takes K from the environment, skipped when unset.
        if (const char* v = std::getenv(kv.c_str())) opts.build_args[kv] = v;
        continue;
      }
      opts.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto result = graph::plan_dockerfile(text, opts);
    if (!result.ok()) throw CliExit{k_exit_failure, result.error().message};
    for (const auto& w : result->warnings) {
      std::cerr << "warning: " << (w.line > 0 ? opts.file + ":" + std::to_string(w.line) + ": " : "") << w.message
                << "\n";
    }
    std::cout << (pa->format == "json" ? graph::format_plan_json(*result) : graph::format_plan_text(*result));
  });
}

}  // namespace mkimage::cli
