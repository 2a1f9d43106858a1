// The Dockerfile syntax parser: text → Ast (parser/ast.hpp). Reproduces
// BuildKit's frontend/dockerfile/parser.Parse line loop: BOM, CRLF, parser
// directives, comments, line continuation (comment and blank lines inside it),
// heredoc bodies, the 65535-byte line limit, "file with no instructions".
// The per-line parse (flags, argument splitting) lives in line_parsers.cpp.
#include <set>

#include "parser/syntax_internal.hpp"
#include "parser/text.hpp"

namespace mkimage::parser {

namespace {

using syntax::trim_left_space;

constexpr std::size_t k_max_line = 65535;

// Go regexp `\s`: [\t\n\f\r ].
bool is_re_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// Matches `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (BuildKit reDirective).
bool match_directive(std::string_view line, std::string& key, std::string& value) {
  std::size_t i = 0;
  if (line.empty() || line[0] != '#') return false;
  ++i;
  while (i < line.size() && is_re_space(line[i])) ++i;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (i >= line.size() || !alpha(line[i])) return false;
  std::size_t kstart = i;
  while (i < line.size() && (alpha(line[i]) || digit(line[i]))) ++i;
  key = std::string(line.substr(kstart, i - kstart));
  while (i < line.size() && is_re_space(line[i])) ++i;
  if (i >= line.size() || line[i] != '=') return false;
  ++i;
  std::string_view rest = line.substr(i);
  if (rest.empty()) return false;
  std::size_t b = 0;
  while (b < rest.size() && is_re_space(rest[b])) ++b;
  std::size_t e = rest.size();
  while (e > b && is_re_space(rest[e - 1])) --e;
  if (b == e) {
    value = std::string(rest.substr(rest.size() - 1));  // `.+?` takes the last blank
  } else {
    value = std::string(rest.substr(b, e - b));
  }
  return true;
}

// BuildKit trimNewline: drops every trailing '\r' / '\n'.
std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool is_comment(std::string_view raw) {
  std::string_view s = trim_left_space(trim_newline(raw));
  return !s.empty() && s[0] == '#';
}

// BuildKit lineContinuationRegex: `([^E])E[ \t]*$|^E[ \t]*$` with E the escape
// character, replaced by `$1`. Returns true (and trims `line`) on a continuation.
bool trim_continuation(std::string& line, char escape) {
  std::size_t e = line.size();
  while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
  if (e == 0 || line[e - 1] != escape) return false;
  std::size_t esc = e - 1;
  if (esc > 0 && line[esc - 1] == escape) return false;
  line.erase(esc);
  return true;
}

// Physical lines, read one at a time as BuildKit's scanner does.
class LineReader {
public:
  explicit LineReader(std::string_view text) : m_text(text) {}

  // The next raw line (without "\n"); nullopt at the end or on a too-long line
  // (then too_long() is set).
  std::optional<std::string_view> next() {
    if (m_pos >= m_text.size() || m_too_long) return std::nullopt;
    std::size_t nl = m_text.find('\n', m_pos);
    std::size_t end = nl == std::string_view::npos ? m_text.size() : nl;
    if (end - m_pos > k_max_line) {
      m_too_long = true;
      return std::nullopt;
    }
    std::string_view line = m_text.substr(m_pos, end - m_pos);
    m_pos = nl == std::string_view::npos ? m_text.size() : nl + 1;
    ++m_number;
    if (m_number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    return line;
  }
  int number() const { return m_number; }  // 1-based number of the last line returned
  bool too_long() const { return m_too_long; }

private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  int m_number = 0;
  bool m_too_long = false;
};

std::vector<std::string> split_source_lines(std::string_view text) {
  std::vector<std::string> lines;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = trim_newline(text.substr(pos, end - pos));
    lines.emplace_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

class Parser {
public:
  Parser(std::string_view text, const std::string& file) : m_reader(text), m_file(file) {
    m_ast.source_lines = split_source_lines(text);
  }

  util::Result<Ast> run();

private:
  util::Error error_at(int line, int column, const std::string& message) const {
    Diagnostic d{m_file, line, column, message};
    if (line > 0 && static_cast<std::size_t>(line) <= m_ast.source_lines.size() &&
        m_ast.source_lines[line - 1].size() > 200) {
      auto lines = m_ast.source_lines;
      lines[line - 1] = lines[line - 1].substr(0, 200) + "...";
      return util::Error{format_diagnostic(d, lines)};
    }
    return util::Error{format_diagnostic(d, m_ast.source_lines)};
  }

  util::Error too_long_error() const {
    return error_at(m_reader.number() + 1, 1,
                    "dockerfile line greater than max allowed size of " + std::to_string(k_max_line));
  }

  // BuildKit possibleParserDirective on a processed line.
  util::Result<void> directive(std::string_view token, int line_no, bool& found);

  int end_col(int line) const {
    if (line <= 0 || static_cast<std::size_t>(line) > m_ast.source_lines.size()) return 1;
    auto n = static_cast<int>(m_ast.source_lines[line - 1].size());
    return n > 0 ? n : 1;
  }

  LineReader m_reader;
  std::string m_file;
  Ast m_ast;
  bool m_directives_done = false;
  std::set<std::string> m_seen;
};

util::Result<void> Parser::directive(std::string_view token, int line_no, bool& found) {
  found = false;
  if (m_directives_done) return {};
  std::string key, value;
  if (!match_directive(token, key, value)) {
    m_directives_done = true;
    return {};
  }
  key = ascii_lower(key);
  if (key != "syntax" && key != "escape" && key != "check") {
    m_directives_done = true;
    return {};
  }
  // Column of the '#' (directive lines may be indented).
  int col = 1;
  if (line_no >= 1 && static_cast<std::size_t>(line_no) <= m_ast.source_lines.size()) {
    auto hash = m_ast.source_lines[line_no - 1].find('#');
    if (hash != std::string::npos) col = static_cast<int>(hash) + 1;
  }
  if (!m_seen.insert(key).second) {
    return error_at(line_no, col, "only one " + key + " parser directive can be used");
  }
  if (key == "escape") {
    if (value != "`" && value != "\\") {
      return error_at(line_no, col,
                      "invalid escape token '" + value + "' does not match ` or \\");
    }
    m_ast.directives.escape = value[0];
  } else if (key == "syntax") {
    m_ast.directives.syntax = value;
  } else {
    m_ast.directives.check = value;
  }
  found = true;
  return {};
}

util::Result<Ast> Parser::run() {
  while (auto raw = m_reader.next()) {
    const int start_line = m_reader.number();
    std::string_view token = trim_left_space(trim_newline(*raw));
    bool found = false;
    MKIMAGE_TRY_VOID(directive(token, start_line, found));
    if (is_comment(token)) continue;
    const char escape = m_ast.directives.escape;
    std::string line(token);
    bool continued = trim_continuation(line, escape);
    if (!continued && line.empty()) continue;
    const int start_col =
        static_cast<int>(trim_newline(*raw).size() - token.size()) + 1;

    bool empty_continuation = false;
    while (continued) {
      auto next = m_reader.next();
      if (!next) break;
      std::string_view cont = trim_newline(*next);
      MKIMAGE_TRY_VOID(directive(cont, m_reader.number(), found));
      if (is_comment(*next)) continue;
      if (trim_left_space(cont).empty()) {
        empty_continuation = true;
        continue;
      }
      std::string piece(cont);
      continued = trim_continuation(piece, escape);
      line += piece;
    }
    if (m_reader.too_long()) return too_long_error();

    if (empty_continuation) {
      m_ast.warnings.push_back(Warning{m_reader.number(), "NoEmptyContinuation",
                                       "Empty continuation line"});
    }

    auto node = syntax::node_from_line(line, escape);
    if (!node.ok()) return error_at(start_line, start_col, node.error().message);

    if (syntax::can_contain_heredoc(*node)) {
      for (auto& doc : syntax::heredocs_from_line(line)) {
        bool terminated = false;
        while (auto body = m_reader.next()) {
          std::string_view text = trim_newline(*body);
          std::string_view candidate = text;
          if (doc.strip_tabs) {
            while (!candidate.empty() && candidate.front() == '\t') candidate.remove_prefix(1);
          }
          if (candidate == doc.name) {
            terminated = true;
            break;
          }
          doc.content.append(doc.strip_tabs ? candidate : text);
          doc.content += '\n';
        }
        if (m_reader.too_long()) return too_long_error();
        if (!terminated) return error_at(start_line, start_col, "unterminated heredoc");
        node->heredocs.push_back(std::move(doc));
      }
      if (node->onbuild) node->onbuild->heredocs = node->heredocs;
    }

    const int end_line = m_reader.number();
    node->range = SourceRange{start_line, start_col, end_line, end_col(end_line)};
    if (node->onbuild) node->onbuild->range = node->range;
    m_ast.instructions.push_back(std::move(*node));
  }
  if (m_reader.too_long()) return too_long_error();
  if (m_ast.instructions.empty()) return error_at(0, 0, "file with no instructions");
  return std::move(m_ast);
}

}  // namespace

util::Result<Ast> parse_dockerfile(std::string_view text, const std::string& file) {
  Parser parser(text, file);
  return parser.run();
}

}  // namespace mkimage::parser
