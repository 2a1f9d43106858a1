// Heredoc words of an instruction line (BuildKit heredocsFromLine/ParseHeredoc):
// the line is split into shell words (quotes and `\` escapes kept, variables left
// as written), and each word of the form `[n]<<[-]NAME` starts a heredoc. The
// escape character of this lexer is always `\`, whatever `# escape=` says.
#include "parser/syntax_internal.hpp"

namespace mkimage::parser::syntax {

namespace {

// Raw shell words; nullopt when the line does not lex (unterminated quote).
std::optional<std::vector<std::string>> raw_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  std::size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (is_ascii_space(c)) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
      ++i;
      continue;
    }
    if (c == '\\') {
      word += c;
      if (i + 1 < line.size()) word += line[i + 1];
      i += 2;
      continue;
    }
    if (c == '\'' || c == '"') {
      std::size_t j = i + 1;
      while (j < line.size() && line[j] != c) {
        if (c == '"' && line[j] == '\\' && j + 1 < line.size()) ++j;
        ++j;
      }
      if (j >= line.size()) return std::nullopt;
      word.append(line.substr(i, j - i + 1));
      i = j + 1;
      continue;
    }
    word += c;
    ++i;
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Quote removal of a heredoc name; `quoted` tells whether any quote was removed.
std::string unquote_name(std::string_view s, bool& quoted) {
  std::string out;
  quoted = false;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\'') {
      quoted = true;
      std::size_t j = s.find('\'', i + 1);
      if (j == std::string_view::npos) j = s.size();
      out.append(s.substr(i + 1, j - i - 1));
      i = j + 1;
      continue;
    }
    if (c == '"') {
      quoted = true;
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < s.size() &&
            (s[j + 1] == '"' || s[j + 1] == '$' || s[j + 1] == '\\')) {
          ++j;
        }
        out += s[j];
        ++j;
      }
      i = j + 1;
      continue;
    }
    if (c == '\\') {
      if (i + 1 < s.size()) out += s[i + 1];
      i += 2;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace

// `^(\d*)<<(-?)([^<]*)$`, the rest one shell word
std::optional<Heredoc> parse_heredoc_word(std::string_view word) {
  std::size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  bool chomp = false;
  if (i < word.size() && word[i] == '-') {
    chomp = true;
    ++i;
  }
  std::string_view rest = word.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::nullopt;
  // ParseHeredoc lexes the rest: an unterminated quote or a space makes it no heredoc.
  auto words = raw_words(rest);
  if (!words || words->size() != 1) return std::nullopt;
  bool quoted = false;
  std::string name = unquote_name(rest, quoted);
  if (name.empty()) return std::nullopt;
  Heredoc doc;
  doc.name = std::move(name);
  doc.expand = !quoted;
  doc.strip_tabs = chomp;
  int fd = 0;
  for (char d : digits) {
    fd = fd * 10 + (d - '0');
    if (fd > 1000000) {  // Go's ParseUint fails on overflow and yields 0
      fd = 0;
      break;
    }
  }
  doc.file_descriptor = fd;
  return doc;
}

std::vector<Heredoc> heredocs_from_line(std::string_view line) {
  std::vector<Heredoc> docs;
  if (line.find("<<") == std::string_view::npos) return docs;
  auto words = raw_words(line);
  if (!words) return docs;
  for (const auto& word : *words) {
    if (auto doc = parse_heredoc_word(word)) docs.push_back(std::move(*doc));
  }
  return docs;
}

}  // namespace mkimage::parser::syntax
