// The main of every test_<module> executable: doctest's own run, then exit 77
// (ctest's SKIP_RETURN_CODE) when a case was skipped and none failed; see skip.hpp.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "skip.hpp"

namespace {

// Tells skip.hpp which case runs.
struct CurrentCaseListener : doctest::IReporter {
  explicit CurrentCaseListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& tc) override { mkimage_test::current_case() = &tc; }
  void test_case_reenter(const doctest::TestCaseData& tc) override { mkimage_test::current_case() = &tc; }
  void test_case_end(const doctest::CurrentTestCaseStats&) override { mkimage_test::current_case() = nullptr; }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("mkimage-current-case", 1, CurrentCaseListener);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int rc = context.run();
  if (context.shouldExit() || rc != 0) return rc;
  const auto& skips = mkimage_test::skipped_cases();
  if (skips.empty()) return rc;
  std::printf("%zu test case(s) could not run here (exit 77 = skipped):\n", skips.size());
  for (const auto& s : skips) std::printf("skipped: %s: \"%s\"\n", s.why.c_str(), s.test_case.c_str());
  std::fflush(stdout);
  return 77;
}
