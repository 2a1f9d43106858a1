// Shell-word expansion with BuildKit's semantics (frontend/dockerfile/shell):
// quote removal, `\` escapes, $V, ${V}, ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m},
// the pattern operators # ## % %% / //, and word splitting.
// Conformance: ../shared/conformance/shell-lexer/{envVarTest,wordsTest}.
#pragma once

#include <map>
#include <optional>
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
  bool skip_unset = false;  // BuildKit "skip unset": leave $UNSET as written
};

// Expands one word (ProcessWord). Errors: `${}`, bad substitution, unterminated
// `${` or quote, `${V:?msg}` on unset/empty (message "V: msg").
util::Result<std::string> expand_word(std::string_view word, const Environment& env,
                                      const ShellLexerOptions& opts = {});

// Expands and splits into words (ProcessWords): unquoted expansions split on
// whitespace, quoted ones stay one word.
util::Result<std::vector<std::string>> expand_words(std::string_view text, const Environment& env,
                                                    const ShellLexerOptions& opts = {});

// Heredoc-body expansion: variables only; quotes are kept and `\$` gives `$`
// (BuildKit's expansion of unquoted-delimiter COPY/ADD heredocs).
util::Result<std::string> expand_heredoc(std::string_view body, const Environment& env,
                                         const ShellLexerOptions& opts = {});

}  // namespace mkimage::parser
