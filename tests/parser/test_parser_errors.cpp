// Golden error tests: every testdata/parser-errors/<name>/ holds a malformed
// Dockerfile and `expected`, the exact stderr of `mkimage debug plan -f
// Dockerfile [args...]` run in that directory (message, line, column, source
// line, caret). An optional `args` file lists extra arguments, one per line.
// The real binary (MKIMAGE_BINARY) must print exactly that and exit 1.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct Run {
  int status = -1;
  std::string err;
};

Run run_plan(const fs::path& dir, const std::vector<std::string>& args) {
  fs::path err_file = fs::temp_directory_path() / ("mkimage-parser-error-" + dir.filename().string() + ".txt");
  std::string cmd = "cd " + shell_quote(dir.string()) + " && " + shell_quote(MKIMAGE_BINARY) + " debug plan -f Dockerfile";
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >/dev/null 2>" + shell_quote(err_file.string());
  int rc = std::system(cmd.c_str());
  Run r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.err = slurp(err_file);
  fs::remove(err_file);
  return r;
}

}  // namespace

TEST_CASE("parser-errors: mkimage debug plan prints the exact diagnostic and exits 1") {
  fs::path root = fs::path(MKIMAGE_TESTDATA_DIR) / "parser-errors";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  CHECK(dirs.size() >= 20);
  for (const auto& dir : dirs) {
    CAPTURE(dir.filename().string());
    REQUIRE(fs::exists(dir / "Dockerfile"));
    REQUIRE(fs::exists(dir / "expected"));
    std::vector<std::string> args;
    if (fs::exists(dir / "args")) {
      std::istringstream in(slurp(dir / "args"));
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) args.push_back(line);
      }
    }
    Run r = run_plan(dir, args);
    CHECK(r.status == 1);
    CHECK(r.err == slurp(dir / "expected"));
  }
}
