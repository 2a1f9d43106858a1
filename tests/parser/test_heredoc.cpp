// Heredocs (README §1 "Heredocs"): every form, bodies, line spans, errors, and
// the parse-level expectations of testdata/handed/cases/03-heredoc-copy.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

TEST_CASE("heredoc: RUN <<EOF keeps the word in args, body in heredocs, span covers the body") {
  auto ast = parse_ok("FROM a\nRUN <<EOF\necho hi\necho there\nEOF\nUSER me\n");
  REQUIRE(ast.instructions.size() == 3);
  const auto& run = ast.instructions[1];
  CHECK(parser::dump_ast(ast) == "(from \"a\")\n(run \"<<EOF\")\n(user \"me\")\n");
  REQUIRE(run.heredocs.size() == 1);
  CHECK(run.heredocs[0].name == "EOF");
  CHECK(run.heredocs[0].content == "echo hi\necho there\n");
  CHECK(run.heredocs[0].expand);
  CHECK_FALSE(run.heredocs[0].strip_tabs);
  CHECK(run.heredocs[0].file_descriptor == 0);
  CHECK(run.range.start_line == 2);
  CHECK(run.range.end_line == 5);
  CHECK(run.original == "RUN <<EOF");
  CHECK(ast.instructions[2].range.start_line == 6);
}

TEST_CASE("heredoc: quoted delimiters turn expansion off") {
  auto ast = parse_ok("FROM a\nRUN <<'EOF'\n$X\nEOF\nRUN <<\"EOF\"\n$X\nEOF\nRUN <<E\"O\"F\n$X\nEOF\n");
  REQUIRE(ast.instructions.size() == 4);
  for (int i = 1; i <= 3; ++i) {
    CAPTURE(i);
    REQUIRE(ast.instructions[i].heredocs.size() == 1);
    CHECK(ast.instructions[i].heredocs[0].name == "EOF");
    CHECK_FALSE(ast.instructions[i].heredocs[0].expand);
    CHECK(ast.instructions[i].heredocs[0].content == "$X\n");
  }
  CHECK(parser::dump_ast(ast) ==
        "(from \"a\")\n(run \"<<'EOF'\")\n(run \"<<\\\"EOF\\\"\")\n(run \"<<E\\\"O\\\"F\")\n");
}

TEST_CASE("heredoc: <<- strips leading tabs from body lines and terminator, keeps spaces") {
  auto ast = parse_ok("FROM a\nRUN <<-EOT\n\tone\n\t\ttwo\n    four\n\t\tEOT\nUSER x\n");
  REQUIRE(ast.instructions.size() == 3);
  const auto& doc = ast.instructions[1].heredocs.at(0);
  CHECK(doc.strip_tabs);
  CHECK(doc.name == "EOT");
  CHECK(doc.content == "one\ntwo\n    four\n");
  CHECK(ast.instructions[1].range.end_line == 6);
}

TEST_CASE("heredoc: without <<- a tab-indented terminator is body text") {
  auto ast = parse_ok("FROM a\nRUN <<EOT\n\tx\n\tEOT\nEOT\n");
  const auto& doc = ast.instructions[1].heredocs.at(0);
  CHECK(doc.content == "\tx\n\tEOT\n");
}

TEST_CASE("heredoc: N<<EOF file descriptor and several heredocs read in order") {
  auto ast = parse_ok("FROM a\nRUN 3<<A cat /dev/fd/3 <<-B\nfirst\nA\n\tsecond\n\tB\nUSER u\n");
  REQUIRE(ast.instructions.size() == 3);
  const auto& run = ast.instructions[1];
  REQUIRE(run.heredocs.size() == 2);
  CHECK(run.heredocs[0].name == "A");
  CHECK(run.heredocs[0].file_descriptor == 3);
  CHECK(run.heredocs[0].content == "first\n");
  CHECK(run.heredocs[1].name == "B");
  CHECK(run.heredocs[1].strip_tabs);
  CHECK(run.heredocs[1].content == "second\n");
  CHECK(run.range.end_line == 6);
  CHECK(run.args == std::vector<std::string>{"3<<A cat /dev/fd/3 <<-B"});
}

TEST_CASE("heredoc: COPY and ADD sources, with flags") {
  auto ast = parse_ok("FROM a\nCOPY --chmod=755 <<EOF /x\nbody\nEOF\nADD <<A <<B /dir/\na\nA\nb\nB\n");
  REQUIRE(ast.instructions.size() == 3);
  CHECK(ast.instructions[1].flags == std::vector<std::string>{"--chmod=755"});
  CHECK(ast.instructions[1].args == std::vector<std::string>{"<<EOF", "/x"});
  CHECK(ast.instructions[1].heredocs.at(0).content == "body\n");
  REQUIRE(ast.instructions[2].heredocs.size() == 2);
  CHECK(ast.instructions[2].heredocs[1].content == "b\n");
  CHECK(ast.instructions[2].range.start_line == 5);
  CHECK(ast.instructions[2].range.end_line == 9);
}

TEST_CASE("heredoc: ONBUILD RUN/COPY/ADD read bodies too") {
  auto ast = parse_ok("FROM a\nONBUILD RUN <<EOF\necho x\nEOF\nONBUILD COPY <<F /f\ny\nF\n");
  REQUIRE(ast.instructions.size() == 3);
  CHECK(parser::dump_ast(ast) ==
        "(from \"a\")\n(onbuild (run \"<<EOF\"))\n(onbuild (copy \"<<F\" \"/f\"))\n");
  const auto& ob = ast.instructions[1];
  REQUIRE(ob.onbuild);
  REQUIRE(ob.heredocs.size() == 1);
  CHECK(ob.heredocs[0].content == "echo x\n");
  REQUIRE(ob.onbuild->heredocs.size() == 1);
  CHECK(ob.onbuild->heredocs[0].content == "echo x\n");
  CHECK(ob.range.end_line == 4);
}

TEST_CASE("heredoc: not recognised in JSON form, in other instructions, or inside quotes") {
  auto ast = parse_ok(
      "FROM a\nRUN [\"cat\", \"<<EOF\"]\nCMD cat <<EOF\nENV A=<<EOF\nRUN echo \"<<EOF\"\n"
      "RUN echo '<<EOF'\nRUN cat<<EOF\nEOF\n");
  REQUIRE(ast.instructions.size() == 8);
  for (const auto& n : ast.instructions) CHECK(n.heredocs.empty());
  // `cat<<EOF` is not a heredoc word (BuildKit needs `<<` at the start of the word),
  // so the last line is an (unknown) instruction of its own.
  CHECK(ast.instructions[7].keyword == "eof");
}

TEST_CASE("heredoc: empty body, body at end of file, CRLF body") {
  auto ast = parse_ok("FROM a\nRUN <<EOF\nEOF");
  CHECK(ast.instructions[1].heredocs.at(0).content == "");
  auto crlf = parse_ok("FROM a\r\nRUN <<EOF\r\nline\r\nEOF\r\n");
  CHECK(crlf.instructions[1].heredocs.at(0).content == "line\n");
  CHECK(crlf.instructions[1].range.end_line == 4);
}

TEST_CASE("heredoc: body lines are not comments, continuations or directives") {
  auto ast = parse_ok("FROM a\nRUN <<EOF\n# not a comment\nexit \\\n\nEOF\n");
  REQUIRE(ast.instructions.size() == 2);
  CHECK(ast.instructions[1].heredocs.at(0).content == "# not a comment\nexit \\\n\n");
  CHECK(ast.warnings.empty());
}

TEST_CASE("heredoc: continuation before the heredoc word") {
  auto ast = parse_ok("FROM a\nRUN --network=none \\\n  <<EOF cat\nhello\nEOF\n");
  REQUIRE(ast.instructions.size() == 2);
  const auto& run = ast.instructions[1];
  CHECK(run.flags == std::vector<std::string>{"--network=none"});
  CHECK(run.heredocs.at(0).content == "hello\n");
  CHECK(run.range.start_line == 2);
  CHECK(run.range.end_line == 5);
}

TEST_CASE("heredoc: unterminated heredoc is an error at the instruction") {
  auto ast = parser::parse_dockerfile("FROM a\nRUN <<EOF\necho hi\n");
  REQUIRE_FALSE(ast.ok());
  CHECK(ast.error().message.find("Dockerfile:2:1: unterminated heredoc\n >>> 2 | RUN <<EOF\n") == 0);
  auto second = parser::parse_dockerfile("FROM a\nRUN <<A <<B\nx\nA\ny\n");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message.find("unterminated heredoc") != std::string::npos);
  auto chomp = parser::parse_dockerfile("FROM a\nRUN <<EOF\n\tEOF\n");
  REQUIRE_FALSE(chomp.ok());
}

TEST_CASE("heredoc: cases/03-heredoc-copy parses to five COPY heredocs") {
  auto ast = parse_ok(read_shared("cases/03-heredoc-copy/Dockerfile"));
  REQUIRE(ast.instructions.size() == 7);
  CHECK(ast.instructions[0].keyword == "from");
  CHECK(ast.instructions[1].keyword == "arg");

  const auto& expanded = ast.instructions[2];
  CHECK(expanded.keyword == "copy");
  REQUIRE(expanded.heredocs.size() == 1);
  CHECK(expanded.heredocs[0].name == "EOF");
  CHECK(expanded.heredocs[0].expand);
  CHECK(expanded.heredocs[0].content == "say \"hi\" to '${NAME}' but keep \\$NAME\n");
  CHECK(expanded.args == std::vector<std::string>{"<<EOF", "/expanded.txt"});
  CHECK(expanded.range.start_line == 3);
  CHECK(expanded.range.end_line == 5);

  const auto& literal = ast.instructions[3];
  REQUIRE(literal.heredocs.size() == 1);
  CHECK(literal.heredocs[0].name == "EOF");
  CHECK_FALSE(literal.heredocs[0].expand);
  CHECK(literal.heredocs[0].content == "keep \"${NAME}\" and \\$NAME as written\n");

  const auto& tabs = ast.instructions[4];
  REQUIRE(tabs.heredocs.size() == 1);
  CHECK(tabs.heredocs[0].name == "EOT");
  CHECK(tabs.heredocs[0].strip_tabs);
  CHECK(tabs.heredocs[0].expand);
  CHECK(tabs.heredocs[0].content == "one leading tab\ntwo leading tabs\n    four leading spaces\n");
  CHECK(tabs.range.start_line == 9);
  CHECK(tabs.range.end_line == 13);

  const auto& script = ast.instructions[5];
  CHECK(script.flags == std::vector<std::string>{"--chmod=755"});
  REQUIRE(script.heredocs.size() == 1);
  CHECK(script.heredocs[0].name == "EOF");
  CHECK_FALSE(script.heredocs[0].expand);
  CHECK(script.heredocs[0].content == "#!/bin/sh\necho \"${NAME}\"\n");

  const auto& multi = ast.instructions[6];
  REQUIRE(multi.heredocs.size() == 2);
  CHECK(multi.heredocs[0].name == "A");
  CHECK(multi.heredocs[0].content == "first body\n");
  CHECK(multi.heredocs[1].name == "B");
  CHECK(multi.heredocs[1].content == "second body\n");
  CHECK(multi.args == std::vector<std::string>{"<<A", "<<B", "/multi/"});
  CHECK(multi.range.end_line == 22);
}
