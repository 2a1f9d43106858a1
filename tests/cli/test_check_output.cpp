// How build-check warnings print: buildx's summary after a build and its
// `--check` report (mkimage/check_output.hpp).
#include <doctest/doctest.h>

#include "mkimage/check_output.hpp"

using namespace mkimage;
using namespace mkimage::cli;

namespace {

CheckWarning from_as() {
  CheckWarning w;
  w.rule = "FromAsCasing";
  w.description = "The 'as' keyword should match the case of the 'from' keyword";
  w.url = "https://docs.docker.com/go/dockerfile/rule/from-as-casing/";
  w.detail = "'as' and 'FROM' keywords' casing do not match";
  w.line = w.end_line = 1;
  w.excerpt = "Dockerfile:1\n--------------------\n   1 | >>> FROM scratch as base\n   2 |     \n--------------------\n";
  return w;
}

}  // namespace

TEST_CASE("--check report: buildx's count line, then each warning with its URL, message and excerpt") {
  CHECK(format_check_report({}, false) == "Check complete, no warnings found.\n");
  CHECK(format_check_report({}, true).empty());
  CHECK(format_check_report({from_as()}, false) ==
        "Check complete, 1 warning has been found!\n"
        "\nWARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/\n"
        "'as' and 'FROM' keywords' casing do not match\n"
        "Dockerfile:1\n--------------------\n   1 | >>> FROM scratch as base\n   2 |     \n--------------------\n");
  auto two = format_check_report({from_as(), from_as()}, true);
  CHECK(two.rfind("Check complete, 2 warnings have been found!\n", 0) == 0);
  CHECK(two.back() == '\n');
}

TEST_CASE("after a build: buildx's warning summary, expanded") {
  CHECK(format_check_summary({}).empty());
  CHECK(check_short(from_as()) == "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)");
  CHECK(format_check_summary({from_as()}) ==
        "\n 1 warning found:\n"
        " - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)\n"
        "The 'as' keyword should match the case of the 'from' keyword\n"
        "More info: https://docs.docker.com/go/dockerfile/rule/from-as-casing/\n"
        "Dockerfile:1\n--------------------\n   1 | >>> FROM scratch as base\n   2 |     \n--------------------\n\n");
}
