// One logical line → one Node: keyword, flags and BuildKit's per-instruction
// argument splitting (testdata/handed/conformance/README.md §1 "How each
// instruction's arguments are split").
#include <array>

#include "parser/syntax_internal.hpp"
#include "parser/text.hpp"

namespace mkimage::parser::syntax {

namespace {

const char* const k_not_string_array =
    "when using JSON array syntax, arrays must be comprised of strings only";

struct SplitLine {
  std::string keyword;
  std::vector<std::string> flags;
  std::string args;  // trimmed
};

// BuildKit extractBuilderFlags: `--name[=value]` words right after the keyword.
// Quotes are removed, the escape character escapes the next byte, a bare `--`
// ends the flags and is dropped. Returns the rest of the line.
std::string extract_flags(std::string_view line, char escape, std::vector<std::string>& words) {
  enum { in_spaces, in_word, in_quote } phase = in_spaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  const std::size_t n = line.size();
  for (std::size_t pos = 0; pos <= n; ++pos) {
    char ch = pos < n ? line[pos] : '\0';
    if (phase == in_spaces) {
      if (pos == n) break;
      if (is_ascii_space(ch)) continue;
      if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') return std::string(line.substr(pos));
      phase = in_word;
    }
    if (pos == n) {  // in_word or in_quote at the end of the line
      if (word != "--" && (blank_ok || !word.empty())) words.push_back(word);
      break;
    }
    if (phase == in_word) {
      if (is_ascii_space(ch)) {
        phase = in_spaces;
        if (word == "--") return std::string(line.substr(pos));
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = in_quote;
        continue;
      }
      if (ch == escape) {
        if (pos + 1 == n) continue;  // an escape at the end is dropped
        ++pos;
        ch = line[pos];
      }
      word += ch;
      continue;
    }
    // in_quote
    if (ch == quote) {
      phase = in_word;
      continue;
    }
    if (ch == escape) {
      if (pos + 1 == n) {
        phase = in_word;
        continue;
      }
      ++pos;
      ch = line[pos];
    }
    word += ch;
  }
  return "";
}

SplitLine split_command(std::string_view line, char escape) {
  SplitLine out;
  auto parts = split_token_space(trim_space(line), true);
  out.keyword = parts[0];
  if (parts.size() == 2) {
    std::string rest = extract_flags(parts[1], escape, out.flags);
    out.args = std::string(trim_space(rest));
  }
  return out;
}

// BuildKit parseWords: quote-aware words, quotes and escapes kept raw. Invalid
// UTF-8 bytes become U+FFFD as in Go's rune loop.
std::vector<std::string> parse_words(std::string_view rest, char escape) {
  enum { in_spaces, in_word, in_quote } phase = in_spaces;
  std::vector<std::string> words;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  char32_t ch = 0;
  std::size_t width = 0;
  auto put = [&](char32_t c) { utf8::append(word, static_cast<int32_t>(c)); };
  auto at = [&](std::size_t pos) {
    Rune r = decode_rune(rest, pos);
    ch = r.valid ? r.cp : 0xFFFD;
    width = r.width;
  };
  const char32_t esc = static_cast<unsigned char>(escape);
  for (std::size_t pos = 0; pos <= rest.size(); pos += width) {
    if (pos != rest.size()) {
      at(pos);
    } else {
      width = 1;
    }
    if (phase == in_spaces) {
      if (pos == rest.size()) break;
      if (utf8::is_space(static_cast<int32_t>(ch))) continue;
      phase = in_word;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == in_word) {
      if (utf8::is_space(static_cast<int32_t>(ch))) {
        phase = in_spaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = in_quote;
      }
      if (ch == esc) {
        if (pos + width == rest.size()) continue;  // escape at the end is dropped
        put(ch);
        pos += width;
        at(pos);
      }
      put(ch);
      continue;
    }
    // in_quote
    if (ch == quote) phase = in_word;
    if (ch == esc && quote != '\'') {
      if (pos + width == rest.size()) {
        phase = in_word;
        continue;
      }
      pos += width;
      put(ch);
      at(pos);
    }
    put(ch);
  }
  return words;
}

// ENV / LABEL (BuildKit parseNameVal): key, value, separator triples.
util::Result<std::vector<std::string>> parse_name_val(const std::string& rest, char escape,
                                                      const std::string& key) {
  std::vector<std::string> out;
  auto words = parse_words(rest, escape);
  if (words.empty()) return out;
  if (words[0].find('=') == std::string::npos) {
    auto parts = split_token_space(rest, true);
    if (parts.size() < 2) return util::Error{key + " must have two arguments"};
    out = {parts[0], parts[1], ""};
    return out;
  }
  for (const auto& word : words) {
    auto eq = word.find('=');
    if (eq == std::string::npos) {
      return util::Error{"Syntax error - can't find = in " + go_quote(word) +
                         ". Must be of the form: name=value"};
    }
    out.push_back(word.substr(0, eq));
    out.push_back(word.substr(eq + 1));
    out.push_back("=");
  }
  return out;
}

std::vector<std::string> whitespace_delimited(const std::string& rest) {
  if (rest.empty()) return {};
  return split_token_space(rest);
}

// RUN, CMD, ENTRYPOINT, SHELL (parseMaybeJSON). Returns false on a non-string array.
bool maybe_json(const std::string& rest, Node& node) {
  if (rest.empty()) return true;
  std::vector<std::string> elems;
  switch (parse_json_array(rest, elems)) {
    case JsonForm::strings:
      node.args.insert(node.args.end(), elems.begin(), elems.end());
      node.json_form = true;
      return true;
    case JsonForm::not_strings:
      return false;
    case JsonForm::not_json:
      node.args.push_back(rest);
      return true;
  }
  return true;
}

// ADD, COPY, VOLUME (parseMaybeJSONToList).
bool maybe_json_to_list(const std::string& rest, Node& node) {
  std::vector<std::string> elems;
  switch (parse_json_array(rest, elems)) {
    case JsonForm::strings:
      node.args = std::move(elems);
      node.json_form = true;
      return true;
    case JsonForm::not_strings:
      return false;
    case JsonForm::not_json:
      node.args = whitespace_delimited(rest);
      return true;
  }
  return true;
}

}  // namespace

util::Result<Node> node_from_line(std::string_view line, char escape) {
  SplitLine split = split_command(line, escape);
  Node node;
  node.keyword = ascii_lower(split.keyword);
  node.flags = std::move(split.flags);
  node.original = std::string(line);
  const std::string& rest = split.args;
  const std::string& kw = node.keyword;

  if (kw == "add" || kw == "copy" || kw == "volume") {
    if (!maybe_json_to_list(rest, node)) return util::Error{k_not_string_array};
  } else if (kw == "run" || kw == "cmd" || kw == "entrypoint" || kw == "shell") {
    if (!maybe_json(rest, node)) return util::Error{k_not_string_array};
  } else if (kw == "from" || kw == "expose") {
    node.args = whitespace_delimited(rest);
  } else if (kw == "env" || kw == "label") {
    MKIMAGE_TRY(node.args, parse_name_val(rest, escape, kw == "env" ? "ENV" : "LABEL"));
  } else if (kw == "arg") {
    node.args = parse_words(rest, escape);
  } else if (kw == "maintainer" || kw == "user" || kw == "workdir" || kw == "stopsignal") {
    if (!rest.empty()) node.args.push_back(rest);
  } else if (kw == "healthcheck") {
    std::size_t sep = 0;
    while (sep < rest.size() && !is_ascii_space(rest[sep])) ++sep;
    std::size_t next = sep;
    while (next < rest.size() && is_ascii_space(rest[next])) ++next;
    if (sep > 0) {
      node.args.push_back(rest.substr(0, sep));
      if (!maybe_json(rest.substr(next), node)) return util::Error{k_not_string_array};
    }
  } else if (kw == "onbuild") {
    if (!rest.empty()) {
      MKIMAGE_TRY(Node trigger, node_from_line(rest, escape));
      node.onbuild = std::make_shared<Node>(std::move(trigger));
    }
  } else {
    // Unknown instruction: kept, arguments dropped (BuildKit parseIgnore).
    node.args.push_back("");
  }
  return node;
}

bool can_contain_heredoc(const Node& node) {
  const Node* n = &node;
  if (n->keyword == "onbuild" && n->onbuild) n = n->onbuild.get();
  if (n->keyword != "run" && n->keyword != "copy" && n->keyword != "add") return false;
  return !n->json_form;
}

}  // namespace mkimage::parser::syntax
