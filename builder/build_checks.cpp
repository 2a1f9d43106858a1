// The build checks of a build (docs/checks.md): parser/checks over the
// Dockerfile with what only the builder knows: the .dockerignore patterns and
// the base images' config (Env, Shell, platform) through the build's resolver.
#include "builder/build_internal.hpp"
#include "parser/checks/checks.hpp"
#include "parser/path_match.hpp"

namespace mkimage::builder {

namespace {

// The Dockerfile's lines as BuildKit's excerpt counts them (split on "\n": a
// final newline gives a last empty line).
std::vector<std::string> excerpt_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t i = 0;
  while (true) {
    std::size_t j = text.find('\n', i);
    std::string line = text.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return lines;
}

}  // namespace

util::Result<void> run_build_checks(BuildSession& s, const parser::Ast& ast, const std::string& text,
                                    const util::Result<graph::Plan>& plan, std::vector<CheckWarning>& checks) {
  parser::checks::CheckOptions opts;
  opts.file = s.dockerfile_name;
  opts.build_args = s.request.build_args;
  opts.target = s.request.target;
  opts.all_stages = s.request.check && s.request.target.empty();  // as BuildKit's lint: no target = every stage
  if (plan.ok()) {
    for (const auto& st : plan->stages) opts.stages.insert(st.index);
  }
  std::optional<parser::PatternMatcher> ignore;
  if (s.context && !s.context->ignore_lines().empty()) {
    auto m = parser::PatternMatcher::create(s.context->ignore_lines());
    if (m.ok()) ignore = std::move(*m);
  }
  opts.dockerignore = ignore ? &*ignore : nullptr;
  opts.base_image = [&s](const std::string& ref) -> std::optional<parser::checks::BaseImage> {
    auto img = resolve_image(s, ref);
    if (!img.ok()) return std::nullopt;
    parser::checks::BaseImage b;
    b.env = img->config.config.env;
    b.shell = img->config.config.shell;
    const auto& c = img->config;
    if (!c.os.empty() && !c.architecture.empty()) {
      b.platform = c.os + "/" + c.architecture + (c.variant.empty() ? "" : "/" + c.variant);
    }
    return b;
  };
  MKIMAGE_TRY(auto report, parser::checks::run_checks(ast, opts));
  std::vector<std::string> lines = excerpt_lines(text);
  for (const auto& w : report.warnings) {
    CheckWarning out;
    out.rule = w.rule;
    out.description = w.description;
    out.url = w.url;
    out.detail = w.detail;
    out.line = w.line;
    out.end_line = w.end_line;
    out.excerpt = parser::checks::format_excerpt(s.dockerfile_name, lines, w.line, w.end_line);
    s.sink.call([&](EventSink& k) { k.check_warning(out); });
    checks.push_back(std::move(out));
  }
  if (!report.error.empty()) return util::Error{report.error};
  return {};
}

}  // namespace mkimage::builder
