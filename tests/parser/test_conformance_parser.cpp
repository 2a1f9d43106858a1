// BuildKit's parser conformance data (testdata/handed/conformance/README.md §1–§3):
// AST dumps, negative cases and line spans.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "parser/ast.hpp"

namespace fs = std::filesystem;
using namespace mkimage;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// MKIMAGE_HANDED_DIR from the environment wins over the build-time default.
fs::path conformance_dir() {
  const char* env = std::getenv("MKIMAGE_HANDED_DIR");
  return fs::path(env && *env ? env : MKIMAGE_HANDED_DIR) / "conformance";
}

std::vector<fs::path> case_dirs(const fs::path& root) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace

TEST_CASE("buildkit-parser: every case dumps exactly its result") {
  auto dirs = case_dirs(conformance_dir() / "buildkit-parser");
  CHECK(dirs.size() >= 26);
  int passed = 0;
  for (const auto& dir : dirs) {
    CAPTURE(dir.filename().string());
    auto ast = parser::parse_dockerfile(read_file(dir / "Dockerfile"));
    REQUIRE_MESSAGE(ast.ok(), (ast.ok() ? "" : ast.error().message));
    std::string dump = parser::dump_ast(*ast);
    std::string expected = read_file(dir / "result");
    CHECK(dump == expected);
    if (dump == expected) ++passed;
  }
  CHECK(passed >= 26);
}

TEST_CASE("buildkit-negative: every Dockerfile fails to parse with a parser error") {
  auto dirs = case_dirs(conformance_dir() / "buildkit-negative");
  CHECK(dirs.size() >= 4);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"empty_dockerfile", "file with no instructions"},
      {"only_comments", "file with no instructions"},
      {"env_no_value", "ENV must have two arguments"},
      {"shykes-nested-json", "when using JSON array syntax, arrays must be comprised of strings only"},
  };
  for (const auto& dir : dirs) {
    CAPTURE(dir.filename().string());
    auto ast = parser::parse_dockerfile(read_file(dir / "Dockerfile"));
    REQUIRE_FALSE(ast.ok());
    const std::string& msg = ast.error().message;
    CHECK(msg.rfind("Dockerfile", 0) == 0);
    for (const auto& [name, text] : expected) {
      if (dir.filename() == name) CHECK_MESSAGE(msg.find(text) != std::string::npos, msg);
    }
  }
}

TEST_CASE("buildkit-negative: messages carry location and caret") {
  auto ast = parser::parse_dockerfile(
      read_file(conformance_dir() / "buildkit-negative" / "env_no_value" / "Dockerfile"));
  REQUIRE_FALSE(ast.ok());
  CHECK(ast.error().message.find("Dockerfile:3:1: ENV must have two arguments\n >>> 3 | ENV PATH\n") == 0);
}

TEST_CASE("buildkit-parser-lines: spans equal expected-lines.tsv, one empty-continuation warning") {
  fs::path dir = conformance_dir() / "buildkit-parser-lines";
  auto ast = parser::parse_dockerfile(read_file(dir / "Dockerfile"));
  REQUIRE(ast.ok());
  std::istringstream tsv(read_file(dir / "expected-lines.tsv"));
  std::string row;
  std::getline(tsv, row);  // header
  std::size_t i = 0;
  while (std::getline(tsv, row)) {
    if (row.empty()) continue;
    std::istringstream fields(row);
    int start = 0, end = 0;
    std::string keyword;
    fields >> start >> end >> keyword;
    REQUIRE(i < ast->instructions.size());
    const auto& node = ast->instructions[i];
    CAPTURE(row);
    CHECK(node.range.start_line == start);
    CHECK(node.range.end_line == end);
    std::string upper = node.keyword;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(upper == keyword);
    ++i;
  }
  CHECK(i == 3);
  CHECK(i == ast->instructions.size());
  CHECK(ast->instructions.front().range.start_line == 5);
  CHECK(ast->instructions.back().range.end_line == 31);
  REQUIRE(ast->warnings.size() == 1);
  CHECK(ast->warnings[0].rule == "NoEmptyContinuation");
}
