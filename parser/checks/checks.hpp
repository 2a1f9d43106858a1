// Build checks (`mkimage build --check`, warnings after a build): BuildKit's
// Dockerfile linter. The checks read the AST, the typed instructions and the
// values ARG/ENV give while a stage is walked the way the planner walks it; they
// never change the plan. Configuration, as BuildKit: the `# check=` directive or,
// replacing it, the build arg BUILDKIT_DOCKERFILE_CHECK, both
// `skip=<rules|all>;error=<bool>;experimental=<rules|all>`; a `# check=` comment
// right above an instruction adds to the configuration for that instruction.
// Rules and texts: parser/checks/rules.hpp, docs/checks.md.
//
// Example:
//   checks::CheckOptions o;
//   o.all_stages = true;                       // --check: every stage
//   auto report = checks::run_checks(ast, o);
//   for (const auto& w : report->warnings) std::cout << w.rule << ": " << w.detail << '\n';
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "parser/ast.hpp"
#include "util/result.hpp"

namespace mkimage::parser {
class PatternMatcher;
}

namespace mkimage::parser::checks {

// The parsed `skip=…;error=…;experimental=…` options (BuildKit linter.Config).
struct CheckConfig {
  bool skip_all = false;
  std::set<std::string> skip;
  bool experimental_all = false;
  std::set<std::string> experimental;
  bool error = false;  // a warning fails the build ("lint violation found for rules: …")
};

// Parses the options. Errors: "invalid check option \"x\"" (a part without `=` or an
// unknown key), "failed to parse check option \"error=x\": …" (not a Go boolean).
util::Result<CheckConfig> parse_check_options(const std::string& text);

// One warning. `line`..`end_line` is the Dockerfile range it points at (0 = none).
struct CheckWarning {
  std::string rule;
  std::string description;
  std::string url;
  std::string detail;   // the message, e.g. "'as' and 'FROM' keywords' casing do not match"
  int line = 0;
  int end_line = 0;
};

// What the stage walk needs from a base image.
struct BaseImage {
  std::vector<std::string> env;    // config Env "K=V"
  std::vector<std::string> shell;  // config Shell
  std::string platform;            // "os/arch[/variant]" of the image, "" = unknown
};
using BaseImageLookup = std::function<std::optional<BaseImage>(const std::string& ref)>;

struct CheckOptions {
  std::string file = "Dockerfile";                // name in diagnostics
  std::map<std::string, std::string> build_args;  // --build-arg (BUILDKIT_DOCKERFILE_CHECK included)
  std::string target;                             // --target ("" = the last stage)
  std::string target_platform = "linux/amd64";
  std::string build_platform = "linux/amd64";
  // Stages whose instructions are walked (their dispatch-time checks run):
  // every stage for --check, else the stages the build runs (Dockerfile indexes).
  bool all_stages = false;
  std::set<int> stages;
  // (An instruction that does not parse stops the checks there: those of the
  // instructions before it still report, as BuildKit's.)
  const PatternMatcher* dockerignore = nullptr;   // CopyIgnoredFile; nullptr = no .dockerignore
  BaseImageLookup base_image;                     // may be empty: images have an empty config
};

struct CheckReport {
  std::vector<CheckWarning> warnings;  // sorted by line, then detail
  CheckConfig config;                  // the file's configuration (directive or build arg)
  // `error=true` and warnings: "lint violation found for rules: A, B" (sorted), else "".
  std::string error;
};

// Runs every rule over the parsed Dockerfile. Errors: bad check options
// ("Dockerfile:1:1: failed to parse check options: …" for the directive, with its line,
// "failed to parse BUILDKIT_DOCKERFILE_CHECK: …" for the build arg).
util::Result<CheckReport> run_checks(const Ast& ast, const CheckOptions& opts);

// BuildKit's source excerpt for a warning (errdefs.Source.Print):
//   Dockerfile:2
//   --------------------
//      1 |     # check=…
//      2 | >>> FROM scratch as base
//      3 |     COPY . .
//   --------------------
// `lines` are the Dockerfile's lines (Ast::source_lines). "" when the range has no line.
std::string format_excerpt(const std::string& file, const std::vector<std::string>& lines, int line, int end_line);

}  // namespace mkimage::parser::checks
