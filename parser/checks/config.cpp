// Check configuration: BuildKit's linter.ParseLintOptions, the per-instruction
// `# check=` comments, and the collector the checks report to.
#include <algorithm>
#include <cctype>
#include <optional>

#include "parser/checks/linter.hpp"
#include "parser/text.hpp"

namespace mkimage::parser::checks {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// A parser directive, `name = value` (BuildKit's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`),
// matched by hand: compiling that std::regex cost ~0.1 ms in every build.
struct Directive {
  std::string name;
  std::string value;
};
std::optional<Directive> match_directive(const std::string& line) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  if (line.empty() || !alpha(line[0])) return std::nullopt;
  while (i < line.size() && (alpha(line[i]) || digit(line[i]))) ++i;
  Directive d;
  d.name = line.substr(0, i);
  while (i < line.size() && space(line[i])) ++i;
  if (i >= line.size() || line[i] != '=') return std::nullopt;
  std::string rest = line.substr(i + 1);
  if (rest.empty()) return std::nullopt;
  std::size_t b = 0, e = rest.size();
  while (b < e && space(rest[b])) ++b;
  while (e > b && space(rest[e - 1])) --e;
  // `.+?` takes at least one character: the last blank when there is nothing else.
  d.value = b < e ? rest.substr(b, e - b) : rest.substr(rest.size() - 1);
  // `.` matches no line terminator.
  if (d.value.find_first_of("\r\n") != std::string::npos) return std::nullopt;
  return d;
}

// Go strconv.ParseBool.
std::optional<bool> parse_go_bool(const std::string& v) {
  static const std::vector<std::string> yes = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::vector<std::string> no = {"0", "f", "F", "FALSE", "false", "False"};
  if (std::find(yes.begin(), yes.end(), v) != yes.end()) return true;
  if (std::find(no.begin(), no.end(), v) != no.end()) return false;
  return std::nullopt;
}

std::set<std::string> rule_list(const std::string& v) {
  std::set<std::string> out;
  std::size_t i = 0;
  while (true) {
    std::size_t j = v.find(',', i);
    out.insert(trim(v.substr(i, j == std::string::npos ? std::string::npos : j - i)));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace

util::Result<CheckConfig> parse_check_options(const std::string& text) {
  CheckConfig c;
  std::string s = trim(text);
  if (s.empty()) return c;
  // strings.SplitN(s, ";", 3)
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (parts.size() < 2) {
    std::size_t j = s.find(';', i);
    if (j == std::string::npos) break;
    parts.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  parts.push_back(s.substr(i));
  for (const auto& p : parts) {
    auto eq = p.find('=');
    if (eq == std::string::npos) return util::Error{"invalid check option " + go_quote(p)};
    std::string k = trim(p.substr(0, eq)), v = trim(p.substr(eq + 1));
    if (k == "skip") {
      if (v == "all") c.skip_all = true;
      else c.skip = rule_list(v);
    } else if (k == "experimental") {
      if (v == "all") c.experimental_all = true;
      else c.experimental = rule_list(v);
    } else if (k == "error") {
      auto b = parse_go_bool(v);
      if (!b) {
        return util::Error{"failed to parse check option " + go_quote(p) + ": strconv.ParseBool: parsing " +
                           go_quote(v) + ": invalid syntax"};
      }
      c.error = *b;
    } else {
      return util::Error{"invalid check option " + go_quote(k)};
    }
  }
  return c;
}

namespace detail {

void Linter::run(const CheckConfig& config, const std::string& rule_name, const SourceRange& range,
                 const std::string& detail) {
  const Rule& r = rule(rule_name);
  if (r.experimental) {
    if (!config.experimental_all && !config.experimental.count(r.name)) return;
  } else if (config.skip_all || config.skip.count(r.name)) {
    return;
  }
  m_fired.push_back(r.name);
  CheckWarning w;
  w.rule = r.name;
  w.description = r.description;
  w.url = r.url;
  w.detail = detail.empty() ? r.description : detail;
  w.line = range.start_line;
  w.end_line = std::max(range.start_line, range.end_line);
  m_warnings.push_back(std::move(w));
}

CheckConfig merge_comment_config(const CheckConfig& config, const std::vector<std::string>& comments) {
  for (const auto& comment : comments) {
    std::string line = comment;
    std::size_t b = 0;
    while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
    line = line.substr(b);
    auto m = match_directive(line);
    if (!m || ascii_lower(m->name) != "check") continue;
    std::string v = m->value;
    v = v.substr(0, v.find(' '));
    auto parsed = parse_check_options(v);
    if (!parsed.ok()) return config;
    CheckConfig out = config;
    out.skip_all |= parsed->skip_all;
    out.experimental_all |= parsed->experimental_all;
    out.skip.insert(parsed->skip.begin(), parsed->skip.end());
    out.experimental.insert(parsed->experimental.begin(), parsed->experimental.end());
    return out;
  }
  return config;
}

namespace {

bool is_comment_line(const std::string& line, std::string* text) {
  std::size_t b = 0;
  while (b < line.size() && (line[b] == ' ' || line[b] == '\t')) ++b;
  if (b >= line.size() || line[b] != '#') return false;
  if (text) *text = trim(line.substr(b + 1));
  return true;
}

// The parser directives at the top (BuildKit DirectiveParser): how many lines.
int directive_lines(const std::vector<std::string>& lines) {
  int n = 0;
  for (const auto& raw : lines) {
    if (raw.empty() || raw[0] != '#') break;
    std::string rest = raw.substr(1);
    std::size_t b = 0;
    while (b < rest.size() && std::isspace(static_cast<unsigned char>(rest[b]))) ++b;
    auto m = match_directive(rest.substr(b));
    if (!m) break;
    std::string k = ascii_lower(m->name);
    if (k != "syntax" && k != "escape" && k != "check") break;
    ++n;
  }
  return n;
}

}  // namespace

std::vector<std::vector<std::string>> instruction_comments(const Ast& ast) {
  std::vector<std::vector<std::string>> out;
  const auto& lines = ast.source_lines;
  int from = directive_lines(lines) + 1;  // first line after the previous instruction
  for (const auto& node : ast.instructions) {
    std::vector<std::string> comments;
    for (int l = from; l < node.range.start_line && l <= static_cast<int>(lines.size()); ++l) {
      std::string text;
      if (!is_comment_line(lines[l - 1], &text)) continue;
      if (text.empty()) comments.clear();
      else comments.push_back(text);
    }
    out.push_back(std::move(comments));
    from = std::max(node.range.end_line, node.range.start_line) + 1;
  }
  return out;
}

std::string written_keyword(const Node& node) {
  const std::string& o = node.original;
  std::size_t b = 0;
  while (b < o.size() && std::isspace(static_cast<unsigned char>(o[b]))) ++b;
  std::size_t e = b;
  while (e < o.size() && !std::isspace(static_cast<unsigned char>(o[e]))) ++e;
  return o.substr(b, e - b);
}

std::string suggest(const std::string& value, const std::vector<std::string>& options, bool case_sensitive) {
  auto fold = [&](const std::string& s) { return case_sensitive ? s : ascii_lower(s); };
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string v = fold(value), match;
  std::size_t best = 3;
  for (const auto& opt : options) {
    std::string o = fold(opt);
    if (o == v) return "";
    std::size_t d = distance(v, o);
    if (d < best) {
      best = d;
      if (case_sensitive) match = opt;
      else if (value == ascii_lower(value)) match = ascii_lower(o);
      else if (value == ascii_upper(value)) match = ascii_upper(o);
      else match = o;
    }
  }
  return match;
}

}  // namespace detail
}  // namespace mkimage::parser::checks
