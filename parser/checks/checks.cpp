// run_checks(): the configuration, then each family of checks (linter.hpp), then
// the warnings in line order; and BuildKit's source excerpt.
#include "parser/checks/checks.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "parser/checks/linter.hpp"
#include "parser/source.hpp"

namespace mkimage::parser::checks {

namespace {

// The line of the `# check=` directive among the directives at the top (0 = none).
int directive_line(const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty() || l[0] != '#') break;
    std::size_t b = 1;
    while (b < l.size() && (l[b] == ' ' || l[b] == '\t')) ++b;
    std::string key;
    while (b < l.size() && std::isalnum(static_cast<unsigned char>(l[b]))) key += static_cast<char>(std::tolower(l[b++]));
    if (key == "check") return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace

util::Result<CheckReport> run_checks(const Ast& ast, const CheckOptions& opts) {
  CheckReport report;
  auto arg = opts.build_args.find("BUILDKIT_DOCKERFILE_CHECK");
  if (arg != opts.build_args.end()) {
    auto c = parse_check_options(arg->second);
    if (!c.ok()) return util::Error{"failed to parse BUILDKIT_DOCKERFILE_CHECK: " + c.error().message};
    report.config = *c;
  } else {
    auto c = parse_check_options(ast.directives.check);
    if (!c.ok()) {
      Diagnostic d;
      d.file = opts.file;
      d.line = directive_line(ast.source_lines);
      d.column = 1;
      d.message = "failed to parse check options: " + c.error().message;
      return util::Error{format_diagnostic(d, ast.source_lines)};
    }
    report.config = *c;
  }
  detail::Linter lint(report.config);
  auto comments = detail::instruction_comments(ast);
  if (detail::check_syntax(ast, comments, lint)) {
    detail::check_from(ast, comments, opts, lint);
    detail::check_stages(ast, comments, opts, lint);
  }
  report.warnings = std::move(lint.warnings());
  std::stable_sort(report.warnings.begin(), report.warnings.end(), [](const CheckWarning& a, const CheckWarning& b) {
    if (a.line != b.line) return a.line < b.line;
    return a.detail < b.detail;
  });
  if (report.config.error && !lint.fired().empty()) {
    std::vector<std::string> rules = lint.fired();
    std::sort(rules.begin(), rules.end());
    rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
    std::string list;
    for (const auto& r : rules) list += (list.empty() ? "" : ", ") + r;
    report.error = "lint violation found for rules: " + list;
  }
  return report;
}

std::string format_excerpt(const std::string& file, const std::vector<std::string>& lines, int line, int end_line) {
  int n = static_cast<int>(lines.size());
  int start = line, end = std::max(line, end_line);
  if (start < 1 || start > n) return "";
  end = std::min(end, n);
  int pad = end == start ? 4 : 2;
  int first = start;
  for (int p = 0; p < pad;) {
    if (start > 1) {
      --start;
      ++p;
    }
    if (end != n) {
      ++end;
      ++p;
    }
    ++p;
  }
  std::string out = file + ":" + std::to_string(first) + "\n--------------------\n";
  for (int i = start; i <= end; ++i) {
    bool in = i >= line && i <= std::max(line, end_line);
    char num[16];
    std::snprintf(num, sizeof num, " %3d | ", i);
    out += std::string(num) + (in ? ">>>" : "   ") + " " + lines[i - 1] + "\n";
  }
  out += "--------------------\n";
  return out;
}

}  // namespace mkimage::parser::checks
