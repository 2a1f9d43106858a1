// Fuzz target: the Dockerfile front end on untrusted text — parse_dockerfile
// (line splitting, continuations, heredocs, JSON forms, directives), the typed
// instruction of every node (flags, --mount, durations), the planner (ARG/ENV
// scoping, word expansion, stages, ONBUILD triggers, --target) and both plan
// printers; then the shell lexer alone on the whole input as one word and as
// a heredoc body. Any input must give a value or an error, never a crash.
// Built as a libFuzzer binary (MKIMAGE_FUZZ=ON) and as a replay test (tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "graph/plan.hpp"
#include "parser/ast.hpp"
#include "parser/instructions.hpp"
#include "parser/shell_lexer.hpp"

using namespace mkimage::graph;
using namespace mkimage::parser;

namespace {

// A base image "with-onbuild" has triggers and a config the planner inherits;
// every other name is unknown (an empty config), as for a fresh store.
std::optional<BaseImageInfo> resolve(const std::string& ref) {
  if (ref.rfind("with-onbuild", 0) != 0) return std::nullopt;
  BaseImageInfo info;
  info.env = {"PATH=/usr/bin:/bin", "BASE=from-base"};
  info.onbuild = {"ARG TRIGGER=t", "ENV FROM_TRIGGER=$TRIGGER", "COPY . /app"};
  info.working_dir = "/base";
  info.user = "1000:1000";
  return info;
}

void expand_alone(std::string_view text) {
  MapEnvironment env({{"A", "a"}, {"EMPTY", ""}, {"SPACED", "  x  y "}, {"PATH", "/usr/bin:/bin"}});
  ShellLexerOptions opts;
  (void)expand_word(text, env, opts);
  (void)expand_words(text, env, opts);
  opts.escape = '`';
  opts.skip_unset = true;
  opts.keep_quotes = true;
  (void)expand_word(text, env, opts);
  opts.skip_quotes = true;
  (void)expand_heredoc(text, env, opts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ast = parse_dockerfile(text);
  if (ast.ok()) {
    (void)dump_ast(*ast);
    for (const Node& node : ast->instructions) {
      InstructionError detail;
      (void)parse_instruction(node, &detail);
    }
    PlanOptions opts;
    opts.build_args = {{"A", "arg a"}, {"VERSION", "1.2"}, {"EMPTY", ""}};
    opts.resolve_base_image = resolve;
    auto plan = make_plan(*ast, opts);
    if (plan.ok()) {
      (void)format_plan_text(*plan);
      (void)format_plan_json(*plan);
    }
  }
  expand_alone(text);
  return 0;
}
