// The build checks never fail on the conformance corpus: every Dockerfile of
// testdata/ that parses gets a report (warnings or none), never an exception.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "parser/ast.hpp"
#include "parser/checks/checks.hpp"

using namespace mkimage::parser;

TEST_CASE("the checks run over every Dockerfile of the test data") {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(MKIMAGE_TESTDATA_DIR)) {
    if (!e.is_regular_file() || e.path().filename().string().rfind("Dockerfile", 0) != 0) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto ast = parse_dockerfile(ss.str());
    if (!ast.ok()) continue;
    checks::CheckOptions o;
    o.all_stages = true;
    INFO(e.path().string());
    auto report = checks::run_checks(*ast, o);
    CHECK((report.ok() || report.error().message.find("check option") != std::string::npos));
    ++checked;
  }
  CHECK(checked > 100);
}
