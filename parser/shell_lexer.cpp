// Shell-word expansion, following BuildKit's frontend/dockerfile/shell/lex.go
// behaviour (not its code). Notes on the behaviour we reproduce on purpose:
//  - Text is read as UTF-8 code points; an invalid byte reads as U+FFFD (Go's
//    text/scanner), and a BOM at the very start is skipped.
//  - Inside `${V<op>word}` the word is itself lexed up to the matching `}` (quotes,
//    escapes and nested `$` work there). For `#`/`%` and both parts of `/`, escape
//    characters are kept in the word so the glob compiler sees `\*`; in the pattern
//    `\}` and `\/` lose the backslash, `\*` `\?` `\\` are literal, any other `\x` is an
//    error. `*` and `?` never match a newline (they become `.*`/`.` in BuildKit's regex).
//  - `${V%p}` is matched by reversing value and pattern and trimming a prefix, which
//    makes `%` the shortest and `%%` the longest suffix.
//  - `${V//p/r}` uses Go's ReplaceAllString, so `$0`/`${0}` in r is the matched text,
//    `$$` is `$` and other `$name` references are empty; `${V/p/r}` inserts r literally.
//  - `${V:=w}`, `${V=w}` and any other operator are errors; `${V:#p}` and `${V:%p}`
//    behave like `#`/`%` (the colon is accepted and ignored).
#include "parser/shell_lexer.hpp"

#include <cstdint>

#include "parser/text.hpp"
#include "parser/utf8.hpp"

namespace mkimage::parser {

std::optional<std::string> MapEnvironment::get(std::string_view name) const {
  auto it = m_vars.find(std::string(name));
  if (it == m_vars.end()) return std::nullopt;
  return it->second;
}

namespace {

constexpr int32_t k_eof = -1;
constexpr int32_t k_rune_error = utf8::k_rune_error;

int32_t decode_rune(std::string_view s, size_t i, size_t* width) { return utf8::decode(s, i, width); }
void append_rune(std::string& out, int32_t cp) { utf8::append(out, cp); }
bool is_space(int32_t c) { return utf8::is_space(c); }

std::string rune_str(int32_t cp) {
  std::string s;
  append_rune(s, cp);
  return s;
}

// Go unicode.IsDigit (Nd): ASCII plus the common non-ASCII decimal digit blocks.
bool is_digit(int32_t c) {
  if (c >= '0' && c <= '9') return true;
  if (c < 0x80) return false;
  static constexpr int32_t k_zeros[] = {0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6,
                                        0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xE50, 0xED0,
                                        0xF20, 0x1040, 0x17E0, 0x1810, 0xFF10};
  for (int32_t z : k_zeros) {
    if (c >= z && c <= z + 9) return true;
  }
  return false;
}

// Go unicode.IsLetter, approximated outside ASCII: non-ASCII code points count as
// letters except the Latin-1 symbols, combining marks, general punctuation and symbol
// blocks, CJK punctuation, fullwidth punctuation, private use and emoji.
bool is_letter(int32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c == k_rune_error) return false;
  if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;
  if (c == 0xD7 || c == 0xF7) return false;
  if (c >= 0x300 && c <= 0x36F) return false;
  if (c >= 0x2000 && c <= 0x2BFF) return false;
  if (c >= 0x3000 && c <= 0x3004) return false;
  if (c >= 0x3008 && c <= 0x3020) return false;
  if (c >= 0xE000 && c <= 0xF8FF) return false;
  if (c >= 0xFE30 && c <= 0xFE6F) return false;
  if (c >= 0xFF00 && c <= 0xFF20) return false;
  if (c >= 0xFF3B && c <= 0xFF40) return false;
  if (c >= 0xFF5B && c <= 0xFF65) return false;
  if (c >= 0xFFF0 && c <= 0xFFFF) return false;
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;
  return !is_space(c) && !is_digit(c);
}

bool is_special_param(int32_t c) {
  switch (c) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

// Reads code points like Go's text/scanner (Peek/Next; EOF = -1).
class RuneScanner {
public:
  explicit RuneScanner(std::string_view s) : m_s(s) {
    size_t w = 0;
    if (!m_s.empty() && decode_rune(m_s, 0, &w) == 0xFEFF) m_pos = w;
  }
  int32_t peek() const {
    if (m_pos >= m_s.size()) return k_eof;
    size_t w = 0;
    return decode_rune(m_s, m_pos, &w);
  }
  int32_t next() {
    if (m_pos >= m_s.size()) return k_eof;
    size_t w = 0;
    int32_t c = decode_rune(m_s, m_pos, &w);
    m_pos += w;
    return c;
  }

private:
  std::string_view m_s;
  size_t m_pos = 0;
};

// Word accumulation for ProcessWords.
struct Words {
  std::string word;
  std::vector<std::string> words;
  bool in_word = false;

  void add_char(int32_t c) {
    if (is_space(c) && in_word) {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else if (!is_space(c)) {
      add_raw_char(c);
    }
  }
  void add_raw_char(int32_t c) {
    append_rune(word, c);
    in_word = true;
  }
  void add_string(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      size_t w = 1;
      add_char(decode_rune(s, i, &w));
      i += w;
    }
  }
  void add_raw_string(std::string_view s) {
    word += s;
    in_word = true;
  }
  std::vector<std::string> finish() {
    if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
      in_word = false;
    }
    return std::move(words);
  }
};

struct Processed {
  std::string result;
  std::vector<std::string> words;
};

// Glob for the pattern operators: `*` any run (no newline), `?` one code point (no
// newline), anything else literal.
struct GlobToken {
  enum Kind { literal, any, star } kind;
  int32_t rune = 0;
};

// One decoded code point of a value with its byte span.
struct Unit {
  int32_t rune;
  size_t offset;
  size_t width;
};

std::vector<Unit> decode_units(std::string_view s) {
  std::vector<Unit> units;
  for (size_t i = 0; i < s.size();) {
    size_t w = 1;
    int32_t c = decode_rune(s, i, &w);
    units.push_back({c, i, w});
    i += w;
  }
  return units;
}

util::Result<std::vector<GlobToken>> compile_glob(std::string_view pattern) {
  std::vector<GlobToken> out;
  RuneScanner sc(pattern);
  for (int32_t tok = sc.next(); tok != k_eof; tok = sc.next()) {
    if (tok == '*') {
      out.push_back({GlobToken::star});
    } else if (tok == '?') {
      out.push_back({GlobToken::any});
    } else if (tok == '\\') {
      // `}` and `/` are escaped for the ${} syntax only.
      if (sc.peek() == '}' || sc.peek() == '/') continue;
      tok = sc.next();
      if (tok != '*' && tok != '?' && tok != '\\') {
        std::string shown = tok == k_eof ? "%!c(int32=-1)" : rune_str(tok);
        return util::Error{"invalid escape '\\" + shown + "'"};
      }
      out.push_back({GlobToken::literal, tok});
    } else {
      out.push_back({GlobToken::literal, tok});
    }
  }
  return out;
}

// Backtracking matcher with regexp priority semantics (leftmost-first): the first
// successful path in priority order decides the end. Memoized per (token, position).
class GlobMatcher {
public:
  GlobMatcher(const std::vector<GlobToken>& toks, const std::vector<Unit>& units, bool greedy)
      : m_toks(toks), m_units(units), m_greedy(greedy),
        m_memo((toks.size() + 1) * (units.size() + 1), -2) {}

  // End unit index of the match starting at `start`, or -1.
  long match_at(size_t start) { return match(0, start); }

private:
  long match(size_t ti, size_t pos) {
    if (ti == m_toks.size()) return static_cast<long>(pos);
    long& memo = m_memo[ti * (m_units.size() + 1) + pos];
    if (memo != -2) return memo;
    long result = -1;
    const GlobToken& t = m_toks[ti];
    if (t.kind == GlobToken::star) {
      size_t max = pos;
      while (max < m_units.size() && m_units[max].rune != '\n') ++max;
      if (m_greedy) {
        for (size_t k = max + 1; k-- > pos;) {
          if ((result = match(ti + 1, k)) >= 0) break;
        }
      } else {
        for (size_t k = pos; k <= max; ++k) {
          if ((result = match(ti + 1, k)) >= 0) break;
        }
      }
    } else if (pos < m_units.size()) {
      int32_t c = m_units[pos].rune;
      bool ok = t.kind == GlobToken::any ? c != '\n' : c == t.rune;
      if (ok) result = match(ti + 1, pos + 1);
    }
    memo = result;
    return result;
  }

  const std::vector<GlobToken>& m_toks;
  const std::vector<Unit>& m_units;
  bool m_greedy;
  std::vector<long> m_memo;
};

std::string invalid_pattern(std::string_view pattern, const util::Error& e) {
  return "invalid pattern (" + std::string(pattern) + ") in substitution: " + e.message;
}

// ${V#p} / ${V##p}: remove the shortest/longest matching prefix.
util::Result<std::string> trim_prefix(std::string_view pattern, const std::string& value,
                                      bool greedy) {
  auto toks = compile_glob(pattern);
  if (!toks.ok()) return util::Error{invalid_pattern(pattern, toks.error())};
  auto units = decode_units(value);
  GlobMatcher m(*toks, units, greedy);
  long end = m.match_at(0);
  if (end < 0) return value;
  size_t byte = static_cast<size_t>(end) < units.size() ? units[end].offset : value.size();
  return value.substr(byte);
}

// Reverses a pattern keeping `\x` pairs in order (BuildKit reversePattern).
std::string reverse_pattern(std::string_view pattern) {
  std::vector<int32_t> runes;
  for (const Unit& u : decode_units(pattern)) runes.push_back(u.rune);
  std::vector<int32_t> out(runes.size());
  size_t last = runes.empty() ? 0 : runes.size() - 1;
  for (size_t i = 0; i < runes.size();) {
    size_t out_idx = last - i;
    if (runes[i] == '\\' && i != last) {
      out[out_idx - 1] = runes[i];
      out[out_idx] = runes[i + 1];
      i += 2;
    } else {
      out[out_idx] = runes[i];
      ++i;
    }
  }
  std::string s;
  for (int32_t c : out) append_rune(s, c);
  return s;
}

// ${V%p} / ${V%%p}: remove the shortest/longest matching suffix.
util::Result<std::string> trim_suffix(std::string_view pattern, const std::string& value,
                                      bool greedy) {
  std::string rpattern = reverse_pattern(pattern);
  auto toks = compile_glob(rpattern);
  if (!toks.ok()) return util::Error{invalid_pattern(rpattern, toks.error())};
  auto units = decode_units(value);
  std::vector<Unit> reversed(units.rbegin(), units.rend());
  GlobMatcher m(*toks, reversed, greedy);
  long end = m.match_at(0);
  size_t keep = units.size() - (end < 0 ? 0 : static_cast<size_t>(end));
  std::string out;  // Go rebuilds the string from runes: invalid bytes become U+FFFD
  for (size_t i = 0; i < keep; ++i) append_rune(out, units[i].rune);
  return out;
}

// Go regexp.Expand of `tmpl` with only group 0 (the whole match).
std::string expand_template(std::string_view tmpl, std::string_view match) {
  std::string out;
  while (!tmpl.empty()) {
    size_t d = tmpl.find('$');
    if (d == std::string_view::npos) break;
    out.append(tmpl.substr(0, d));
    tmpl.remove_prefix(d + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view s = tmpl;
    bool brace = !s.empty() && s[0] == '{';
    if (brace) s.remove_prefix(1);
    size_t i = 0;
    while (i < s.size()) {
      size_t w = 1;
      int32_t c = decode_rune(s, i, &w);
      if (!is_letter(c) && !is_digit(c) && c != '_') break;
      i += w;
    }
    bool ok = i > 0;
    std::string_view name = s.substr(0, i);
    if (ok && brace) {
      if (i >= s.size() || s[i] != '}') ok = false;
      else ++i;
    }
    if (!ok) {
      out += '$';
      continue;
    }
    if (name == "0") out.append(match);  // other groups and names do not exist
    tmpl = s.substr(i);
  }
  out.append(tmpl);
  return out;
}

// ${V/p/r} and ${V//p/r}.
util::Error expansion_too_large() {
  return util::Error{"the expanded text is larger than " + std::to_string(k_max_expansion_bytes >> 20) +
                     " MiB (the limit on one expansion)"};
}

util::Result<std::string> replace_pattern(std::string_view pattern, std::string_view repl,
                                          const std::string& value, bool all) {
  auto toks = compile_glob(pattern);
  if (!toks.ok()) return util::Error{invalid_pattern(pattern, toks.error())};
  auto units = decode_units(value);
  GlobMatcher m(*toks, units, true);
  auto byte_at = [&](size_t u) { return u < units.size() ? units[u].offset : value.size(); };
  auto find_from = [&](size_t from, size_t* start, size_t* end) {
    for (size_t s = from; s <= units.size(); ++s) {
      long e = m.match_at(s);
      if (e >= 0) {
        *start = s;
        *end = static_cast<size_t>(e);
        return true;
      }
    }
    return false;
  };
  size_t start = 0, end = 0;
  if (!all) {
    if (!find_from(0, &start, &end)) return value;
    return value.substr(0, byte_at(start)) + std::string(repl) + value.substr(byte_at(end));
  }
  std::string out;
  size_t last_end = 0;  // unit index
  size_t search = 0;
  while (search <= units.size()) {
    if (!find_from(search, &start, &end)) break;
    out += value.substr(byte_at(last_end), byte_at(start) - byte_at(last_end));
    if (out.size() > k_max_expansion_bytes) return expansion_too_large();
    if (end > last_end || start == 0) {
      out += expand_template(repl, std::string_view(value).substr(
                                       byte_at(start), byte_at(end) - byte_at(start)));
    }
    last_end = end;
    if (search + 1 > end) search += 1;
    else search = end;
  }
  out += value.substr(byte_at(last_end));
  if (out.size() > k_max_expansion_bytes) return expansion_too_large();
  return out;
}

class Lexer {
public:
  Lexer(std::string_view text, const Environment& env, const ShellLexerOptions& opts,
        int32_t escape, VariableRefs* refs)
      : m_sc(text), m_env(env), m_opts(opts), m_escape(escape), m_refs(refs) {}

  util::Result<Processed> process_stop_on(int32_t stop, bool raw_escapes);

private:
  util::Result<std::string> process_single_quote();
  util::Result<std::string> process_double_quote();
  util::Result<std::string> process_dollar();
  util::Result<std::string> process_modifier(const std::string& name, int32_t op,
                                             const std::string& ops, bool null_is_unset);
  util::Result<std::string> process_replace(const std::string& name);
  std::string process_name();
  std::optional<std::string> get_env(const std::string& name);

  RuneScanner m_sc;
  const Environment& m_env;
  const ShellLexerOptions& m_opts;
  int32_t m_escape;
  VariableRefs* m_refs;
  bool m_raw_escapes = false;
};

util::Result<Processed> Lexer::process_stop_on(int32_t stop, bool raw_escapes) {
  std::string result;
  Words words;
  bool saved = m_raw_escapes;
  m_raw_escapes = raw_escapes;
  struct Restore {
    bool& flag;
    bool value;
    ~Restore() { flag = value; }
  } restore{m_raw_escapes, saved};

  while (m_sc.peek() != k_eof) {
    int32_t ch = m_sc.peek();
    if (stop != k_eof && ch == stop) {
      m_sc.next();
      return Processed{std::move(result), words.finish()};
    }
    bool quote = !m_opts.skip_quotes && (ch == '\'' || ch == '"');
    if (ch == '$' || quote) {
      util::Result<std::string> tmp = ch == '$'    ? process_dollar()
                                      : ch == '\'' ? process_single_quote()
                                                   : process_double_quote();
      if (!tmp.ok()) return tmp.error();
      if (result.size() + tmp->size() > k_max_expansion_bytes) return expansion_too_large();
      result += *tmp;
      if (ch == '$') words.add_string(*tmp);
      else words.add_raw_string(*tmp);
      continue;
    }
    ch = m_sc.next();
    if (ch == m_escape) {
      if (m_raw_escapes) {
        words.add_raw_char(ch);
        append_rune(result, ch);
      }
      ch = m_sc.next();
      if (ch == k_eof) break;  // an escape at the very end is dropped
      words.add_raw_char(ch);
    } else {
      words.add_char(ch);
    }
    append_rune(result, ch);
  }
  if (stop != k_eof) {
    return util::Error{"unexpected end of statement while looking for matching " +
                       rune_str(stop)};
  }
  return Processed{std::move(result), words.finish()};
}

util::Result<std::string> Lexer::process_single_quote() {
  std::string result;
  int32_t ch = m_sc.next();
  if (m_opts.keep_quotes) append_rune(result, ch);
  for (;;) {
    ch = m_sc.next();
    if (ch == k_eof) {
      return util::Error{"unexpected end of statement while looking for matching single-quote"};
    }
    if (ch == '\'') {
      if (m_opts.keep_quotes) append_rune(result, ch);
      return result;
    }
    append_rune(result, ch);
  }
}

util::Result<std::string> Lexer::process_double_quote() {
  std::string result;
  int32_t ch = m_sc.next();
  if (m_opts.keep_quotes) append_rune(result, ch);
  for (;;) {
    int32_t p = m_sc.peek();
    if (p == k_eof) {
      return util::Error{"unexpected end of statement while looking for matching double-quote"};
    }
    if (p == '"') {
      ch = m_sc.next();
      if (m_opts.keep_quotes) append_rune(result, ch);
      return result;
    }
    if (p == '$') {
      auto value = process_dollar();
      if (!value.ok()) return value.error();
      result += *value;
      continue;
    }
    ch = m_sc.next();
    if (ch == m_escape) {
      if (m_raw_escapes) append_rune(result, ch);
      int32_t n = m_sc.peek();
      if (n == k_eof) continue;  // the loop then reports the missing quote
      if (n == '"' || n == '$' || n == m_escape) ch = m_sc.next();
    }
    append_rune(result, ch);
  }
}

std::string Lexer::process_name() {
  std::string name;
  while (m_sc.peek() != k_eof) {
    int32_t ch = m_sc.peek();
    if (name.empty() && is_digit(ch)) {
      while (m_sc.peek() != k_eof && is_digit(m_sc.peek())) append_rune(name, m_sc.next());
      return name;
    }
    if (name.empty() && is_special_param(ch)) return rune_str(m_sc.next());
    if (!is_letter(ch) && !is_digit(ch) && ch != '_') break;
    append_rune(name, m_sc.next());
  }
  return name;
}

std::optional<std::string> Lexer::get_env(const std::string& name) {
  auto value = m_env.get(name);
  if (m_refs) (value ? m_refs->matched : m_refs->unmatched).insert(name);
  return value;
}

util::Result<std::string> Lexer::process_dollar() {
  m_sc.next();  // '$'
  if (m_sc.peek() != '{') {
    std::string name = process_name();
    if (name.empty()) return std::string("$");
    auto value = get_env(name);
    if (!value && m_opts.skip_unset) return "$" + name;
    return value.value_or("");
  }
  m_sc.next();  // '{'
  int32_t p = m_sc.peek();
  if (p == k_eof) return util::Error{"syntax error: missing '}'"};
  if (p == '{' || p == '}' || p == ':') return util::Error{"syntax error: bad substitution"};
  std::string name = process_name();
  int32_t ch = m_sc.next();
  std::string chs = rune_str(ch);  // EOF shows as U+FFFD, as Go's string(rune(-1))
  switch (ch) {
    case '}': {
      auto value = get_env(name);
      if (!value && m_opts.skip_unset) return "${" + name + "}";
      return value.value_or("");
    }
    case ':':
      ch = m_sc.next();
      chs += rune_str(ch);
      return process_modifier(name, ch, chs, true);
    case '+': case '-': case '?': case '#': case '%':
      return process_modifier(name, ch, chs, false);
    case '/':
      return process_replace(name);
    default:
      return util::Error{"unsupported modifier (" + chs + ") in substitution"};
  }
}

util::Result<std::string> Lexer::process_modifier(const std::string& name, int32_t op,
                                                  const std::string& ops, bool null_is_unset) {
  bool raw = op == '#' || op == '%';
  auto processed = process_stop_on('}', raw);
  if (!processed.ok()) {
    if (m_sc.peek() == k_eof) return util::Error{"syntax error: missing '}'"};
    return processed.error();
  }
  std::string word = std::move(processed->result);
  auto value = get_env(name);
  if (!value && m_opts.skip_unset) return "${" + name + ops + word + "}";
  bool set = value.has_value();
  std::string v = value.value_or("");
  switch (op) {
    case '-':
      if (!set || (null_is_unset && v.empty())) return word;
      return v;
    case '+':
      if (!set || (null_is_unset && v.empty())) return std::string();
      return word;
    case '?':
      if (!set) {
        return util::Error{name + ": " + (word.empty() ? "is not allowed to be unset" : word)};
      }
      if (null_is_unset && v.empty()) {
        return util::Error{name + ": " + (word.empty() ? "is not allowed to be empty" : word)};
      }
      return v;
    case '%':
    case '#': {
      bool greedy = !word.empty() && static_cast<unsigned char>(word[0]) == op;
      if (greedy) word.erase(0, 1);
      return op == '%' ? trim_suffix(word, v, greedy) : trim_prefix(word, v, greedy);
    }
    default:
      return util::Error{"unsupported modifier (" + ops + ") in substitution"};
  }
}

util::Result<std::string> Lexer::process_replace(const std::string& name) {
  bool all = m_sc.peek() == '/';
  if (all) m_sc.next();
  auto pattern = process_stop_on('/', true);
  if (!pattern.ok()) {
    if (m_sc.peek() == k_eof) return util::Error{"syntax error: missing '/' in ${}"};
    return pattern.error();
  }
  auto repl = process_stop_on('}', true);
  if (!repl.ok()) {
    if (m_sc.peek() == k_eof) return util::Error{"syntax error: missing '}'"};
    return repl.error();
  }
  auto value = get_env(name);
  if (!value && m_opts.skip_unset) {
    return "${" + name + "/" + pattern->result + "/" + repl->result + "}";
  }
  return replace_pattern(pattern->result, repl->result, value.value_or(""), all);
}

util::Result<Processed> run(std::string_view text, const Environment& env,
                            const ShellLexerOptions& opts, int32_t escape, VariableRefs* refs) {
  Lexer lexer(text, env, opts, escape, refs);
  auto processed = lexer.process_stop_on(k_eof, false);
  if (!processed.ok()) {
    return util::Error{"failed to process " + go_quote(text) + ": " + processed.error().message};
  }
  return processed;
}

int32_t escape_rune(char c) { return static_cast<unsigned char>(c); }

}  // namespace

util::Result<std::string> expand_word(std::string_view word, const Environment& env,
                                      const ShellLexerOptions& opts, VariableRefs* refs) {
  MKIMAGE_TRY(Processed p, run(word, env, opts, escape_rune(opts.escape), refs));
  return std::move(p.result);
}

util::Result<std::vector<std::string>> expand_words(std::string_view text, const Environment& env,
                                                    const ShellLexerOptions& opts,
                                                    VariableRefs* refs) {
  MKIMAGE_TRY(Processed p, run(text, env, opts, escape_rune(opts.escape), refs));
  return std::move(p.words);
}

util::Result<std::string> expand_heredoc(std::string_view body, const Environment& env,
                                         const ShellLexerOptions& opts, VariableRefs* refs) {
  ShellLexerOptions heredoc = opts;
  heredoc.escape = '\\';
  heredoc.skip_quotes = true;
  heredoc.keep_quotes = false;
  MKIMAGE_TRY(Processed p, run(body, env, heredoc, '\\', refs));
  return std::move(p.result);
}

}  // namespace mkimage::parser
