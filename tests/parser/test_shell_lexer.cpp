// Shell-word expansion: BuildKit's conformance data (envVarTest, wordsTest), the
// pattern operators, heredoc bodies, variable references, and case 06's expectations.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "parser/shell_lexer.hpp"

using namespace mkimage::parser;
using Vars = std::map<std::string, std::string>;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::string expand(const std::string& word, const MapEnvironment& env, ShellLexerOptions opts = {}) {
  auto r = expand_word(word, env, opts);
  REQUIRE_MESSAGE(r.ok(), word << ": " << r.error().message);
  return *r;
}

bool fails(const std::string& word, const MapEnvironment& env, ShellLexerOptions opts = {}) {
  return !expand_word(word, env, opts).ok();
}

}  // namespace

TEST_CASE("shell lexer: envVarTest (A and U lines)") {
  MapEnvironment env(Vars{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}});
  std::string data = read_file(std::string(MKIMAGE_HANDED_DIR) + "/conformance/shell-lexer/envVarTest");
  int checked = 0;
  for (const std::string& raw : split(data, '\n')) {
    if (!raw.empty() && raw[0] == '#') continue;
    if (trim(raw).empty()) continue;
    auto fields = split(raw, '|');
    REQUIRE_MESSAGE(fields.size() == 3, raw);
    std::string platform = trim(fields[0]), input = trim(fields[1]), expected = trim(fields[2]);
    if (platform == "W") continue;
    REQUIRE((platform == "A" || platform == "U"));
    auto r = expand_word(input, env);
    if (expected == "error") {
      CHECK_MESSAGE(!r.ok(), "expected an error for " << input << ", got " << (r.ok() ? *r : ""));
    } else {
      REQUIRE_MESSAGE(r.ok(), input << ": " << r.error().message);
      CHECK_MESSAGE(*r == expected, input);
    }
    ++checked;
  }
  CHECK(checked == 228);
}

TEST_CASE("shell lexer: wordsTest") {
  std::string data = read_file(std::string(MKIMAGE_HANDED_DIR) + "/conformance/shell-lexer/wordsTest");
  MapEnvironment env;
  int checked = 0;
  for (const std::string& line : split(data, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("ENV ", 0) == 0) {
      std::string kv = line.substr(4);
      size_t eq = kv.find('=');
      REQUIRE(eq != std::string::npos);
      env.set(kv.substr(0, eq), kv.substr(eq + 1));
      continue;
    }
    auto parts = split(line, '|');
    REQUIRE_MESSAGE(parts.size() == 2, line);
    std::string input = trim(parts[0]);
    std::string expected = parts[1].substr(std::min(parts[1].find_first_not_of(' '), parts[1].size()));
    auto r = expand_words(input, env);
    if (expected == "error") {
      CHECK_MESSAGE(!r.ok(), input);
    } else {
      REQUIRE_MESSAGE(r.ok(), input << ": " << r.error().message);
      CHECK_MESSAGE(*r == split(expected, ','), input);
    }
    ++checked;
  }
  CHECK(checked == 24);
  CHECK(env.vars().at("trailing") == "ab c   ");
}

TEST_CASE("shell lexer: prefix removal # and ##") {
  MapEnvironment env(Vars{{"v", "file.tar.gz"}, {"p", "/usr/local/bin"}, {"s", "a*b?c"}, {"nl", "ab\ncd"}});
  CHECK(expand("${v#*.}", env) == "tar.gz");     // bash: tar.gz
  CHECK(expand("${v##*.}", env) == "gz");        // bash: gz
  CHECK(expand("${v#file.}", env) == "tar.gz");
  CHECK(expand("${v#nomatch}", env) == "file.tar.gz");
  CHECK(expand("${v#}", env) == "file.tar.gz");
  CHECK(expand("${v##}", env) == "file.tar.gz");
  CHECK(expand("${v#f?le}", env) == ".tar.gz");
  CHECK(expand("${v#*}", env) == "file.tar.gz");  // shortest match of * is empty
  CHECK(expand("${v##*}", env) == "");
  CHECK(expand("${p#/*/}", env) == "local/bin");
  CHECK(expand("${p##/*/}", env) == "bin");
  CHECK(expand("${s#a\\*}", env) == "b?c");       // \* is a literal star
  CHECK(expand("${s#a\\*b\\?}", env) == "c");
  CHECK(expand("${s#a?b}", env) == "?c");
  CHECK(expand("${UNSET#x}", env) == "");
  CHECK(expand("${nl##*}", env) == "\ncd");       // * does not cross a newline
  CHECK(expand("${v#$UNSET}", env) == "file.tar.gz");
  CHECK(expand("${v#${PFX:-file}}", env) == ".tar.gz");  // nested word in the pattern
  CHECK(expand("${v:#file}", env) == ".tar.gz");  // BuildKit accepts and ignores the colon
  CHECK(fails("${v#a\\b}", env));                 // only \* \? \\ are valid escapes
  CHECK(fails("${v#file", env));
}

TEST_CASE("shell lexer: suffix removal % and %%") {
  MapEnvironment env(Vars{{"v", "file.tar.gz"}, {"p", "/usr/local/bin"}, {"k", "한국어.txt"}});
  CHECK(expand("${v%.*}", env) == "file.tar");    // bash: file.tar
  CHECK(expand("${v%%.*}", env) == "file");       // bash: file
  CHECK(expand("${v%.gz}", env) == "file.tar");
  CHECK(expand("${v%nomatch}", env) == "file.tar.gz");
  CHECK(expand("${v%*}", env) == "file.tar.gz");
  CHECK(expand("${v%%*}", env) == "");
  CHECK(expand("${v%?}", env) == "file.tar.g");
  CHECK(expand("${v%%?}", env) == "file.tar.g");
  CHECK(expand("${p%/*}", env) == "/usr/local");
  CHECK(expand("${p%%/*}", env) == "");
  CHECK(expand("${k%.txt}", env) == "한국어");
  CHECK(expand("${k%?.txt}", env) == "한국");      // ? is one character, not one byte
  CHECK(expand("${v%\\*}", env) == "file.tar.gz");
  MapEnvironment star(Vars{{"x", "a*b*"}});
  CHECK(expand("${x%\\*}", star) == "a*b");
  CHECK(expand("${x%%b\\*}", star) == "a*");
  CHECK(expand("${x%%\\**}", star) == "a");       // longest suffix starting with a star
}

TEST_CASE("shell lexer: replacement / and //") {
  MapEnvironment env(Vars{{"v", "a-b-c"}, {"e", ""}, {"path", "/a/b"}});
  CHECK(expand("${v/-/_}", env) == "a_b-c");      // bash: a_b-c
  CHECK(expand("${v//-/_}", env) == "a_b_c");     // bash: a_b_c
  CHECK(expand("${v//-/}", env) == "abc");
  CHECK(fails("${v/-}", env));                  // BuildKit needs the second /
  CHECK(expand("${v/x/y}", env) == "a-b-c");
  CHECK(expand("${v/?/X}", env) == "X-b-c");
  CHECK(expand("${v//?/X}", env) == "XXXXX");
  CHECK(expand("${v/*/X}", env) == "X");          // greedy
  CHECK(expand("${v/b*/X}", env) == "a-X");
  CHECK(expand("${v//[a]/X}", env) == "a-b-c");   // [ ] are literal here, not classes
  CHECK(expand("${path//\\//:}", env) == ":a:b"); // \/ is an escaped slash in the pattern
  CHECK(expand("${v//-/$v}", env) == "aa-b-cba-b-cc");
  CHECK(expand("${UNSET/x/y}", env) == "");
  CHECK(expand("${e/*/z}", env) == "z");          // * matches the empty value
  CHECK(expand("${v//b/'$0'}", env) == "a-b-c");  // Go ReplaceAll: $0 is the match
  CHECK(expand("${v/b/'$0'}", env) == "a-$0-c");  // single replace inserts literally
  CHECK(fails("${v/a", env));
  CHECK(fails("${v/a/b", env));
  CHECK(expand("${v///x}", env) == "xax-xbx-xcx");  // empty pattern: Go ReplaceAll inserts everywhere
}

TEST_CASE("shell lexer: modifiers") {
  MapEnvironment env(Vars{{"SET", "value"}, {"EMPTY", ""}});
  CHECK(expand("${SET:-d}", env) == "value");
  CHECK(expand("${EMPTY:-d}", env) == "d");
  CHECK(expand("${UNSET:-d}", env) == "d");
  CHECK(expand("${EMPTY-d}", env) == "");
  CHECK(expand("${UNSET-d}", env) == "d");
  CHECK(expand("${SET:+a}", env) == "a");
  CHECK(expand("${EMPTY:+a}", env) == "");
  CHECK(expand("${EMPTY+a}", env) == "a");
  CHECK(expand("${UNSET+a}", env) == "");
  CHECK(expand("${UNSET:-'a b'}", env) == "a b");
  CHECK(expand("${UNSET:-\"$SET x\"}", env) == "value x");
  CHECK(expand("${UNSET:-a\\}b}", env) == "a}b");
  CHECK(expand("${SET?}", env) == "value");
  CHECK(expand("${EMPTY?}", env) == "");
  auto r = expand_word("${UNSET:?must be set}", env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("UNSET: must be set") != std::string::npos);
  r = expand_word("${EMPTY:?}", env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("EMPTY: is not allowed to be empty") != std::string::npos);
  r = expand_word("${UNSET?}", env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("UNSET: is not allowed to be unset") != std::string::npos);
  CHECK(fails("${SET:=x}", env));
  CHECK(fails("${SET=x}", env));
  CHECK(fails("${SET:x}", env));
  CHECK(fails("${SET^^}", env));
}

TEST_CASE("shell lexer: backtick escape") {
  MapEnvironment env(Vars{{"A", "x"}});
  ShellLexerOptions opts;
  opts.escape = '`';
  CHECK(expand("a`$A", env, opts) == "a$A");
  CHECK(expand("C:\\dir\\$A", env, opts) == "C:\\dir\\x");
  CHECK(expand("\"a`\"b\"", env, opts) == "a\"b");
  CHECK(expand("a``b", env, opts) == "a`b");
}

TEST_CASE("shell lexer: keep_quotes and skip_unset") {
  MapEnvironment env(Vars{{"A", "x"}});
  ShellLexerOptions opts;
  opts.keep_quotes = true;
  CHECK(expand("\"$A\" '$A'", env, opts) == "\"x\" '$A'");
  ShellLexerOptions skip;
  skip.skip_unset = true;
  CHECK(expand("$A $B ${B} ${B:-d}", env, skip) == "x $B ${B} ${B:-d}");
}

TEST_CASE("shell lexer: variable references") {
  MapEnvironment env(Vars{{"A", "x"}, {"E", ""}});
  VariableRefs refs;
  auto r = expand_word("$A ${E} ${U1:-$U2} ${A:+$U3} $1", env, {}, &refs);
  REQUIRE(r.ok());
  CHECK(refs.matched == std::set<std::string>{"A", "E"});
  CHECK(refs.unmatched == std::set<std::string>{"U1", "U2", "U3", "1"});
  VariableRefs none;
  REQUIRE(expand_word("'$A' \\$A", env, {}, &none).ok());
  CHECK(none.matched.empty());
  CHECK(none.unmatched.empty());
}

TEST_CASE("shell lexer: heredoc bodies (case 03)") {
  MapEnvironment env(Vars{{"NAME", "world"}});
  auto r = expand_heredoc("say \"hi\" to '${NAME}' but keep \\$NAME\n", env);
  REQUIRE(r.ok());
  CHECK(*r == "say \"hi\" to 'world' but keep $NAME\n");
  env.set("NAME", "moon");
  CHECK(*expand_heredoc("say \"hi\" to '${NAME}' but keep \\$NAME\n", env) ==
        "say \"hi\" to 'moon' but keep $NAME\n");
  // BuildKit's raw lexer: `\` escapes any character; unbalanced quotes are fine.
  CHECK(*expand_heredoc("it's \"$NAME\\n\\\\\n", env) == "it's \"moonn\\\n");
  CHECK(*expand_heredoc("${UNSET:-a b}\n", env) == "a b\n");
  CHECK_FALSE(expand_heredoc("${NAME\n", env).ok());
}

TEST_CASE("shell lexer: case 06 expansions") {
  // ARG SET=value, ARG EMPTY=, ARG UNSET (no value: unset).
  MapEnvironment env(Vars{{"SET", "value"}, {"EMPTY", ""}});
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"${SET:-dflt}", "value"}, {"${EMPTY:-dflt}", "dflt"}, {"${UNSET:-dflt}", "dflt"},
      {"${EMPTY-dflt}", ""},     {"${UNSET-dflt}", "dflt"},  {"${SET:+alt}", "alt"},
      {"${EMPTY:+alt}", ""},     {"${UNSET:+alt}", ""},      {"${EMPTY+alt}", "alt"},
      {"${UNSET+alt}", ""},      {"${UNSET:-${SET}-nested}", "value-nested"},
      {"\\${SET}", "${SET}"},    {"/w-${UNSET:-none}", "/w-none"}};
  for (auto& [in, out] : rows) CHECK_MESSAGE(expand(in, env) == out, in);

  env.set("UNSET", "given");
  const std::vector<std::pair<std::string, std::string>> given = {
      {"${UNSET:-dflt}", "given"}, {"${UNSET-dflt}", "given"}, {"${UNSET:+alt}", "alt"},
      {"${UNSET+alt}", "alt"},     {"${UNSET:-${SET}-nested}", "given"},
      {"/w-${UNSET:-none}", "/w-given"}};
  for (auto& [in, out] : given) CHECK_MESSAGE(expand(in, env) == out, in);

  MapEnvironment req;
  auto r = expand_word("${REQUIRED:?required-arg-missing}", req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("REQUIRED: required-arg-missing") != std::string::npos);
  req.set("REQUIRED", "");
  r = expand_word("${REQUIRED:?required-arg-missing}", req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("REQUIRED: required-arg-missing") != std::string::npos);
  req.set("REQUIRED", "ok");
  CHECK(expand("${REQUIRED:?required-arg-missing}", req) == "ok");
}

TEST_CASE("shell lexer: pattern operators agree with bash on * ? and literals") {
  // BuildKit follows bash for globs made of `*`, `?` and literal characters (it differs
  // on `[...]`, which it treats literally, and on `$0` in `//` replacements).
  const std::vector<std::string> values = {"file.tar.gz", "/usr/local/bin", "aaa", "abcabc",
                                           "", "a.b.c.", "x--y--z", "한국어.txt"};
  const std::vector<std::string> patterns = {"*", "?", "a", "*.", ".*", "a*", "*a", "*b*",
                                             "?b", "b?", "*c", "a*c", "--", "-*-", "*/",
                                             "/*", "??", "*.*", "x", "한*", "*어.?xt"};
  const std::vector<std::string> ops = {"#", "##", "%", "%%", "/", "//"};
  std::string script;
  std::vector<std::string> words;
  MapEnvironment env;
  for (size_t vi = 0; vi < values.size(); ++vi) {
    env.set("v" + std::to_string(vi), values[vi]);
    script += "v" + std::to_string(vi) + "='" + values[vi] + "'\n";
  }
  for (size_t vi = 0; vi < values.size(); ++vi) {
    for (const auto& op : ops) {
      for (const auto& pat : patterns) {
        // `${v///x/R}`: BuildKit ends the pattern at the first `/` (an empty pattern),
        // bash does not; not a case where BuildKit follows bash.
        if (op[0] == '/' && pat[0] == '/') continue;
        std::string word = "${v" + std::to_string(vi) + op + pat + (op[0] == '/' ? "/R}" : "}");
        words.push_back(word);
        script += "printf '%s\\n' \"" + word + "\"\n";
      }
    }
  }
  std::string path = "/tmp/mkimage-lexer-bash-" + std::to_string(getpid()) + ".sh";
  {
    std::ofstream out(path);
    out << script;
  }
  FILE* p = popen(("LC_ALL=C.UTF-8 /bin/bash " + path).c_str(), "r");
  REQUIRE(p != nullptr);
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  REQUIRE(pclose(p) == 0);
  std::remove(path.c_str());
  auto lines = split(output, '\n');
  REQUIRE(lines.size() == words.size() + 1);
  for (size_t i = 0; i < words.size(); ++i) {
    CHECK_MESSAGE(expand(words[i], env) == lines[i], words[i]);
  }
}
