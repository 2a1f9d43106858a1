// The Dockerfile syntax parser (parser/ast.hpp): directives, BOM/CRLF, escape
// character, continuations, comments, JSON form, flags, per-instruction
// splitting, ranges, errors, robustness, and testdata/handed/cases/01-continuation-comments.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "parser/ast.hpp"

namespace fs = std::filesystem;
using namespace mkimage;

namespace {

parser::Ast parse_ok(const std::string& text) {
  auto ast = parser::parse_dockerfile(text);
  REQUIRE_MESSAGE(ast.ok(), (ast.ok() ? "" : ast.error().message));
  return std::move(ast).value();
}

std::string dump(const std::string& text) { return parser::dump_ast(parse_ok(text)); }

std::string parse_error(const std::string& text) {
  auto ast = parser::parse_dockerfile(text);
  REQUIRE_FALSE(ast.ok());
  return ast.error().message;
}

std::string read_shared(const std::string& rel) {
  const char* env = std::getenv("MKIMAGE_HANDED_DIR");
  fs::path p = fs::path(env && *env ? env : MKIMAGE_HANDED_DIR) / rel;
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("directives: syntax, escape, check are read, case-insensitively, and not dumped") {
  auto ast = parse_ok("# SYNTAX = docker/dockerfile:1  \n#Escape=`\n# check=skip=all;error=true\nFROM a\n");
  CHECK(ast.directives.syntax == "docker/dockerfile:1");
  CHECK(ast.directives.escape == '`');
  CHECK(ast.directives.check == "skip=all;error=true");
  CHECK(parser::dump_ast(ast) == "(from \"a\")\n");
  CHECK(ast.instructions[0].range.start_line == 4);
}

TEST_CASE("directives: only at the top; a blank line, comment or unknown key ends them") {
  CHECK(parse_ok("\n# escape=`\nFROM a\n").directives.escape == '\\');
  CHECK(parse_ok("# hello\n# escape=`\nFROM a\n").directives.escape == '\\');
  CHECK(parse_ok("# foo=bar\n# escape=`\nFROM a\n").directives.escape == '\\');
  CHECK(parse_ok("FROM a\n# escape=`\n").directives.escape == '\\');
  // After the directive section a repeated directive is an ordinary comment.
  CHECK(parse_ok("# syntax=a\n\n# syntax=b\nFROM a\n").directives.syntax == "a");
}

TEST_CASE("directives: duplicates and bad escape values are errors with location") {
  CHECK(parse_error("# syntax=a\n# Syntax=b\nFROM a\n")
            .find("Dockerfile:2:1: only one syntax parser directive can be used\n") == 0);
  CHECK(parse_error("# escape=\\\n# escape=`\nFROM a\n").find("only one escape parser directive") !=
        std::string::npos);
  CHECK(parse_error("# check=a\n# check=b\nFROM a\n").find("only one check parser directive") !=
        std::string::npos);
  CHECK(parse_error("# escape=x\nFROM a\n")
            .find("Dockerfile:1:1: invalid escape token 'x' does not match ` or \\\n") == 0);
  CHECK(parse_error("# escape=\\\\\nFROM a\n").find("invalid escape token") != std::string::npos);
}

TEST_CASE("escape=backtick: continuation and escaping in words and flags") {
  auto ast = parse_ok("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo hi\nENV A=x`\"y\"z\n"
                      "COPY --chown=a` b src c:\\dst\\\n");
  CHECK(parser::dump_ast(ast) ==
        "(from \"a\")\n(run \"dir c:\\\\   && echo hi\")\n(env \"A\" \"x`\\\"y\\\"z\" \"=\")\n"
        "(copy [\"--chown=a b\"] \"src\" \"c:\\\\dst\\\\\")\n");
  CHECK(ast.instructions[1].range.start_line == 3);
  CHECK(ast.instructions[1].range.end_line == 4);
  // With backtick as escape, a trailing backslash does not continue the line.
  CHECK(ast.instructions.size() == 4);
}

TEST_CASE("BOM and CRLF") {
  auto ast = parse_ok("\xEF\xBB\xBF# escape=`\r\nFROM a\r\nRUN echo `\r\n  hi\r\nUSER x\r\n");
  CHECK(ast.directives.escape == '`');
  CHECK(parser::dump_ast(ast) == "(from \"a\")\n(run \"echo   hi\")\n(user \"x\")\n");
  CHECK(ast.source_lines.at(0) == "# escape=`");
  CHECK(ast.source_lines.at(2) == "RUN echo `");
  CHECK(ast.instructions[1].range.start_line == 3);
  CHECK(ast.instructions[1].range.end_line == 4);
  // A BOM only counts at the very start.
  CHECK(dump("FROM a\n\xEF\xBB\xBFRUN x\n") == "(from \"a\")\n(\xEF\xBB\xBFrun \"\")\n");
}

TEST_CASE("comments and continuation: comment lines skipped, blank lines warned once per instruction") {
  auto ast = parse_ok("FROM a\nRUN a \\\n# c1\n\n  # c2\n\n b\nRUN c \\\n\n d\n");
  CHECK(parser::dump_ast(ast) == "(from \"a\")\n(run \"a  b\")\n(run \"c  d\")\n");
  REQUIRE(ast.warnings.size() == 2);
  CHECK(ast.warnings[0].rule == "NoEmptyContinuation");
  CHECK(ast.warnings[0].line == 7);
  CHECK(ast.warnings[1].line == 10);
  CHECK(ast.instructions[1].range.end_line == 7);
}

TEST_CASE("continuation: escaped escape does not continue, escape at end of file is allowed") {
  CHECK(dump("FROM a\nRUN echo \\\\\nUSER b\n") == "(from \"a\")\n(run \"echo \\\\\\\\\")\n(user \"b\")\n");
  CHECK(dump("FROM a\nRUN something \\") == "(from \"a\")\n(run \"something\")\n");
  CHECK(dump("FROM a\nRUN a\\ \t\nb\n") == "(from \"a\")\n(run \"ab\")\n");
  CHECK(dump("FROM a\nRUN x \\\n\\\ny\n") == "(from \"a\")\n(run \"x y\")\n");
}

TEST_CASE("no instructions and long lines are errors") {
  CHECK(parse_error("").find("file with no instructions") != std::string::npos);
  CHECK(parse_error("# just a comment\n\n   \n").find("file with no instructions") != std::string::npos);
  CHECK(parse_error("\xEF\xBB\xBF").find("file with no instructions") != std::string::npos);

  std::string ok_line = "RUN " + std::string(65535 - 4, 'a');
  CHECK(parse_ok("FROM a\n" + ok_line + "\n").instructions.size() == 2);
  CHECK(parse_ok("FROM a\n" + ok_line).instructions.size() == 2);
  std::string long_line = ok_line + "b";
  std::string msg = parse_error("FROM a\n" + long_line + "\n");
  CHECK(msg.find("Dockerfile:2:1: dockerfile line greater than max allowed size of 65535") == 0);
  CHECK(msg.size() < 1000);
  CHECK(parse_error("FROM a\nRUN <<EOF\n" + long_line + "\nEOF\n").find("max allowed size of 65535") !=
        std::string::npos);
}

TEST_CASE("JSON form: decoded arrays, fallback to shell form, non-string arrays") {
  CHECK(dump("CMD [\"a\", \"b c\"]") == "(cmd \"a\" \"b c\")\n");
  CHECK(dump("CMD []") == "(cmd)\n");
  CHECK(dump("RUN [\"\\/bin\\u0001\", \"\\u00e9\\ud83d\\ude00\"]") == "(run \"/bin\\x01\" \"é😀\")\n");
  CHECK(dump("CMD ['a', 'b']") == "(cmd \"['a', 'b']\")\n");
  CHECK(dump("CMD [\"a\", \"b\"] extra") == "(cmd \"[\\\"a\\\", \\\"b\\\"] extra\")\n");
  CHECK(dump("CMD [\"unterminated]") == "(cmd \"[\\\"unterminated]\")\n");
  CHECK(dump("COPY [\"a\" \"b\"] /x") == "(copy \"[\\\"a\\\"\" \"\\\"b\\\"]\" \"/x\")\n");
  CHECK(dump("VOLUME [\"/a\", \"/b\"]") == "(volume \"/a\" \"/b\")\n");
  CHECK(dump("ENTRYPOINT [ \"x\" ]   ") == "(entrypoint \"x\")\n");
  auto ast = parse_ok("RUN [\"a\"]\nRUN a\n");
  CHECK(ast.instructions[0].json_form);
  CHECK_FALSE(ast.instructions[1].json_form);

  const char* not_strings = "when using JSON array syntax, arrays must be comprised of strings only";
  CHECK(parse_error("FROM a\nCMD [\"a\", 1]").find(std::string("Dockerfile:2:1: ") + not_strings) == 0);
  CHECK(parse_error("RUN [[\"a\"]]").find(not_strings) != std::string::npos);
  CHECK(parse_error("COPY [null, \"b\"]").find(not_strings) != std::string::npos);
  CHECK(parse_error("HEALTHCHECK CMD [true]").find(not_strings) != std::string::npos);
  CHECK(parse_error("SHELL [{}]").find(not_strings) != std::string::npos);
  CHECK(parse_error("CMD [1, 2.5e3, -0]").find(not_strings) != std::string::npos);
  CHECK(parse_error("CMD [{\"a\": [1, {}]}]").find(not_strings) != std::string::npos);
  CHECK(dump("CMD [\"a\",]") == "(cmd \"[\\\"a\\\",]\")\n");
  CHECK(dump("CMD [{\"a\" 1}]") == "(cmd \"[{\\\"a\\\" 1}]\")\n");
  CHECK(dump("CMD [\"a\" , \"b\"\r]") == "(cmd \"a\" \"b\")\n");
  CHECK(dump("CMD [\"\\x\"]") == "(cmd \"[\\\"\\\\x\\\"]\")\n");
  // Invalid JSON (bad number, control byte) falls back silently.
  CHECK(dump("CMD [01]") == "(cmd \"[01]\")\n");
  CHECK(dump("CMD [\"a\tb\"]") == "(cmd \"[\\\"a\\tb\\\"]\")\n");
  // JSON is only tried where BuildKit tries it.
  CHECK(dump("FROM [\"a\"]") == "(from \"[\\\"a\\\"]\")\n");
  CHECK(dump("USER [\"a\"]") == "(user \"[\\\"a\\\"]\")\n");
}

TEST_CASE("flags: collected for every instruction, quotes and escapes processed, -- ends them") {
  CHECK(dump("COPY --from=\"a b\" --chown='c d' --x=e\\ f src dst") ==
        "(copy [\"--from=a b\" \"--chown=c d\" \"--x=e f\"] \"src\" \"dst\")\n");
  CHECK(dump("RUN --mount=type=cache,target=/x -- --not-a-flag") ==
        "(run [\"--mount=type=cache,target=/x\"] \"--not-a-flag\")\n");
  CHECK(dump("USER --x") == "(user [\"--x\"])\n");
  CHECK(dump("FROM --platform=$P img AS b") == "(from [\"--platform=$P\"] \"img\" \"AS\" \"b\")\n");
  CHECK(dump("COPY -x a b") == "(copy \"-x\" \"a\" \"b\")\n");
  CHECK(dump("COPY --a=\"\" b c") == "(copy [\"--a=\"] \"b\" \"c\")\n");
}

TEST_CASE("argument splitting per instruction") {
  CHECK(dump("FROM a  AS\tb") == "(from \"a\" \"AS\" \"b\")\n");
  CHECK(dump("EXPOSE 80/tcp  443") == "(expose \"80/tcp\" \"443\")\n");
  CHECK(dump("USER me  you") == "(user \"me  you\")\n");
  CHECK(dump("WORKDIR /a b") == "(workdir \"/a b\")\n");
  CHECK(dump("STOPSIGNAL SIGKILL") == "(stopsignal \"SIGKILL\")\n");
  CHECK(dump("MAINTAINER a <b@c>") == "(maintainer \"a <b@c>\")\n");
  CHECK(dump("ARG abc=\"123 456\" def") == "(arg \"abc=\\\"123 456\\\"\" \"def\")\n");
  CHECK(dump("HEALTHCHECK --interval=5s CMD /check --quiet") ==
        "(healthcheck [\"--interval=5s\"] \"CMD\" \"/check --quiet\")\n");
  CHECK(dump("HEALTHCHECK NONE") == "(healthcheck \"NONE\")\n");
  CHECK(dump("HEALTHCHECK CMD [\"a\", \"b\"]") == "(healthcheck \"CMD\" \"a\" \"b\")\n");
  CHECK(dump("HEALTHCHECK") == "(healthcheck)\n");
  CHECK(dump("RUN") == "(run)\n");
  CHECK(dump("run echo Hi") == "(run \"echo Hi\")\n");
  CHECK(dump("   FROM a") == "(from \"a\")\n");
}

TEST_CASE("ENV and LABEL triples") {
  CHECK(dump("ENV name value more") == "(env \"name\" \"value more\" \"\")\n");
  CHECK(dump("ENV a=1 b=\"2 3\" c=4\\ 5") ==
        "(env \"a\" \"1\" \"=\" \"b\" \"\\\"2 3\\\"\" \"=\" \"c\" \"4\\\\ 5\" \"=\")\n");
  CHECK(dump("LABEL \"a b\"=c") == "(label \"\\\"a b\\\"\" \"c\" \"=\")\n");
  CHECK(dump("LABEL version 1.0") == "(label \"version\" \"1.0\" \"\")\n");
  CHECK(dump("ENV") == "(env)\n");
  CHECK(parse_error("FROM a\nENV PATH").find("Dockerfile:2:1: ENV must have two arguments") == 0);
  CHECK(parse_error("LABEL x").find("LABEL must have two arguments") != std::string::npos);
  CHECK(parse_error("ENV a=b c").find("Syntax error - can't find = in \"c\". Must be of the form: name=value") !=
        std::string::npos);
}

TEST_CASE("ONBUILD nesting and unknown instructions") {
  auto ast = parse_ok("ONBUILD RUN [\"echo\", \"x\"]\nONBUILD  COPY --from=b . /\nONBUILD\nFOO bar baz\n");
  CHECK(parser::dump_ast(ast) ==
        "(onbuild (run \"echo\" \"x\"))\n(onbuild (copy [\"--from=b\"] \".\" \"/\"))\n(onbuild)\n(foo \"\")\n");
  REQUIRE(ast.instructions[0].onbuild);
  CHECK(ast.instructions[0].onbuild->keyword == "run");
  CHECK(ast.instructions[0].onbuild->json_form);
  CHECK(ast.instructions[0].onbuild->original == "RUN [\"echo\", \"x\"]");
  CHECK(ast.instructions[1].onbuild->flags == std::vector<std::string>{"--from=b"});
  CHECK_FALSE(ast.instructions[2].onbuild);
  CHECK(ast.instructions[3].keyword == "foo");
  CHECK(ast.instructions[3].original == "FOO bar baz");
  CHECK(parse_error("ONBUILD CMD [1]").find("arrays must be comprised of strings only") != std::string::npos);
  CHECK(parse_error("ONBUILD ENV X").find("ENV must have two arguments") != std::string::npos);
}

TEST_CASE("ranges, columns and original text") {
  auto ast = parse_ok("FROM a\n\n   RUN echo a \\\n  b\n\tUSER x\n");
  REQUIRE(ast.instructions.size() == 3);
  const auto& run = ast.instructions[1];
  CHECK(run.range.start_line == 3);
  CHECK(run.range.start_col == 4);
  CHECK(run.range.end_line == 4);
  CHECK(run.range.end_col == 3);
  CHECK(run.original == "RUN echo a   b");
  CHECK(ast.instructions[2].range.start_col == 2);
  CHECK(ast.instructions[0].range.start_col == 1);
  CHECK(ast.source_lines.size() == 5);
  auto err = parse_error("FROM a\n  CMD [1]\n");
  CHECK(err == "Dockerfile:2:3: when using JSON array syntax, arrays must be comprised of strings only\n"
               " >>> 2 |   CMD [1]\n"
               "           ^\n");
  auto named = parser::parse_dockerfile("ENV X", "app/Dockerfile.dev");
  REQUIRE_FALSE(named.ok());
  CHECK(named.error().message.find("app/Dockerfile.dev:1:1: ENV must have two arguments") == 0);
}

TEST_CASE("Go string quoting in the dump") {
  CHECK(dump("RUN a\x01\x7f\xff é 한") == "(run \"a\\x01\\x7f\\xff é 한\")\n");
  CHECK(dump("RUN [\"\\u00a0\\u200b\\n\\t\\\\\"]") == "(run \"\\u00a0\\u200b\\n\\t\\\\\")\n");
  CHECK(dump("RUN [\"\\ud800x\"]") == "(run \"\xEF\xBF\xBDx\")\n");
}

TEST_CASE("cases/01-continuation-comments: 7 instructions, comment/blank lines dropped") {
  auto ast = parse_ok(read_shared("cases/01-continuation-comments/Dockerfile"));
  REQUIRE(ast.instructions.size() == 7);
  const char* keywords[] = {"from", "copy", "run", "run", "run", "run", "run"};
  for (int i = 0; i < 7; ++i) CHECK(ast.instructions[i].keyword == keywords[i]);
  CHECK(ast.instructions[3].args ==
        std::vector<std::string>{"echo one > /r1 &&     echo two >> /r1 &&     echo three >> /r1"});
  CHECK(ast.instructions[3].range.start_line == 4);
  CHECK(ast.instructions[3].range.end_line == 8);
  CHECK(ast.instructions[4].args == std::vector<std::string>{"echo alpha > /r2 &&     echo beta >> /r2"});
  const auto& r3 = ast.instructions[5];
  CHECK(r3.original.find("# trailing text that ends in a backslash RUN echo delta >> /r3") !=
        std::string::npos);
  CHECK(r3.original.find('\n') == std::string::npos);
  CHECK(r3.range.start_line == 12);
  CHECK(r3.range.end_line == 13);
  CHECK(ast.instructions[6].args == std::vector<std::string>{"echo eps > /r4 &&     echo zeta >> /r4"});
  REQUIRE(ast.warnings.size() == 1);
  CHECK(ast.warnings[0].rule == "NoEmptyContinuation");
}

TEST_CASE("robustness: random bytes and truncations never crash") {
  std::mt19937 rng(12345);
  const std::string alphabet = "RUN COPY FROM ENV ONBUILD <<EOF -\\`\"'[]{},:=#\n\r\t \x01\xff\xef\xbb\xbf" "0123";
  int parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    std::size_t len = rng() % 200;
    for (std::size_t i = 0; i < len; ++i) {
      if (rng() % 4 == 0) {
        text += static_cast<char>(rng() % 256);
      } else {
        text += alphabet[rng() % alphabet.size()];
      }
    }
    auto ast = parser::parse_dockerfile(text);
    if (ast.ok()) {
      ++parsed;
      (void)parser::dump_ast(*ast);
      for (const auto& n : ast->instructions) {
        CHECK(n.range.start_line >= 1);
        CHECK(n.range.end_line >= n.range.start_line);
      }
    } else {
      CHECK_FALSE(ast.error().message.empty());
    }
  }
  CHECK(parsed > 0);
  // Every prefix of a rich Dockerfile.
  std::string full = "\xEF\xBB\xBF# escape=`\r\nFROM a AS b\nRUN <<-EOF `\n  cat\n\tx\n\tEOF\n"
                     "ONBUILD COPY <<A /a\nA\nCMD [\"a\", [1]]\nENV a=\"b c\" d='e'\n";
  for (std::size_t n = 0; n <= full.size(); ++n) {
    auto ast = parser::parse_dockerfile(std::string_view(full).substr(0, n));
    if (ast.ok()) (void)parser::dump_ast(*ast);
  }
  // Deep JSON nesting is rejected without exhausting the stack.
  std::string deep = "CMD " + std::string(30000, '[') + std::string(30000, ']');
  auto deep_ast = parser::parse_dockerfile(deep);
  REQUIRE(deep_ast.ok());
  CHECK(deep_ast->instructions[0].args.size() == 1);  // too deep for Go's decoder: shell form
  std::string nested = "CMD " + std::string(5000, '[') + std::string(5000, ']');
  CHECK_FALSE(parser::parse_dockerfile(nested).ok());  // valid, but not strings
}
