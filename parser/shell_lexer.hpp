// Shell-word expansion with BuildKit's semantics (frontend/dockerfile/shell/lex.go):
// quote removal, escapes (the Dockerfile escape character, `\` or `` ` ``), $V, ${V},
// ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m} (w and m are words with nested
// expansions), the pattern operators ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}
// (p is a glob: `?` one character, `*` any run, `\*` `\?` `\\` literal), positional
// ($1, ${10}) and special parameters ($@ $* $# $? $- $$ $! $0), which are never set,
// and word splitting (expand_words).
// Conformance: testdata/handed/conformance/shell-lexer/{envVarTest,wordsTest}; design notes
// and the exact quirks we copy from BuildKit are at the top of shell_lexer.cpp.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::parser {

// Variable lookup: returns nullopt for an unset name, "" for set-but-empty.
class Environment {
public:
  virtual ~Environment() = default;
  virtual std::optional<std::string> get(std::string_view name) const = 0;
};

// An Environment over a map.
class MapEnvironment : public Environment {
public:
  MapEnvironment() = default;
  explicit MapEnvironment(std::map<std::string, std::string> vars) : m_vars(std::move(vars)) {}
  std::optional<std::string> get(std::string_view name) const override;
  void set(const std::string& name, const std::string& value) { m_vars[name] = value; }
  const std::map<std::string, std::string>& vars() const { return m_vars; }

private:
  std::map<std::string, std::string> m_vars;
};

struct ShellLexerOptions {
  char escape = '\\';       // the Dockerfile escape character ('\\' or '`')
  bool keep_quotes = false; // BuildKit "raw quotes" mode: quotes stay in the output
  bool skip_unset = false;  // BuildKit "skip unset": leave $UNSET / ${UNSET...} as written
                            // (reconstructed as `$NAME`, `${NAME}`, `${NAME<op><word>}`)
  bool skip_quotes = false; // BuildKit "SkipProcessQuotes": `'` and `"` are plain
                            // characters (used for heredoc bodies)
};

// The variable names an expansion looked up (BuildKit's ProcessWordWithMatches).
// Every lookup is recorded, including positional/special names ("1", "@") and names
// inside default words that ended up unused (`${A:-$B}` records A and B).
struct VariableRefs {
  std::set<std::string> matched;    // looked up and set (possibly to "")
  std::set<std::string> unmatched;  // looked up and unset (UndefinedVar lint candidates)
};

// The most bytes one expansion may produce (a word, a list of words, a heredoc
// body, a ${V//p/r} result). Beyond it expansion fails with "the expanded text is
// larger than 1 MiB": `ARG A=$A$A` repeated doubles the value each line and would
// otherwise exhaust memory. A single argument to a process is limited to 128 KiB by
// Linux anyway (MAX_ARG_STRLEN).
inline constexpr std::size_t k_max_expansion_bytes = std::size_t{1} << 20;

// Expands one word (ProcessWord): quotes removed, escapes applied, variables
// substituted; whitespace is kept. Errors (message text as BuildKit's, prefixed with
// `failed to process "<word>": `): unterminated quote ("unexpected end of statement
// while looking for matching double-quote"), `${}` / `${:…}` / `${{` ("syntax error:
// bad substitution"), unterminated `${` ("syntax error: missing '}'"), unknown
// modifier such as `:=` or `${.}` ("unsupported modifier (:=) in substitution"),
// `${V:?msg}` on unset/empty ("V: msg"; default messages "is not allowed to be
// unset" / "is not allowed to be empty"), bad glob escape in a pattern operator.
// `refs`, when given, receives the names looked up (added to, not cleared).
util::Result<std::string> expand_word(std::string_view word, const Environment& env,
                                      const ShellLexerOptions& opts = {},
                                      VariableRefs* refs = nullptr);

// Expands and splits into words (ProcessWords): text outside quotes (literal or the
// result of an unquoted expansion) splits on Unicode whitespace; quoted text and
// escaped characters never split. Empty words are dropped (`""` alone gives no word).
// Errors as expand_word.
util::Result<std::vector<std::string>> expand_words(std::string_view text, const Environment& env,
                                                    const ShellLexerOptions& opts = {},
                                                    VariableRefs* refs = nullptr);

// Heredoc-body expansion for COPY/ADD heredocs with an unquoted delimiter, as BuildKit
// does it (ExpandRaw: a lexer with escape `\` and SkipProcessQuotes): variables are
// expanded, quotes are kept as plain text, and `\` escapes the next character (so
// `\$` gives `$`, `\\` gives `\`, `\x` gives `x`; a final lone `\` is dropped).
// `opts.escape` and `opts.skip_quotes` are ignored (BuildKit always uses `\` here);
// `opts.skip_unset` is honoured. Errors as expand_word.
util::Result<std::string> expand_heredoc(std::string_view body, const Environment& env,
                                         const ShellLexerOptions& opts = {},
                                         VariableRefs* refs = nullptr);

}  // namespace mkimage::parser
