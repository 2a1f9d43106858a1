// Honest skips for the doctest unit tests.
//
// A case that needs something this host may not give (root, runc, busybox, a
// filesystem feature) is declared with PRIVILEGED_TEST_CASE instead of
// TEST_CASE: it joins the doctest test suite "privileged". tests/CMakeLists.txt
// runs each test_<module> executable twice: unit.<module> with
// --test-suite-exclude=privileged (every other case; they must run anywhere)
// and, when the module has privileged cases, unit.<module>.privileged with
// --test-suite=privileged and SKIP_RETURN_CODE 77.
//
// A privileged case that cannot run here starts with SKIP_IF_MISSING(why),
// `why` being what the host lacks ("" = nothing: the case runs). The case then
// returns at once and the runner (tests/doctest_main.cpp) exits 77 after the
// run, printing `skipped: <why>: "<case>"` for each such case, so that ctest
// reports the test as skipped rather than passed (also when other privileged
// cases of the module ran and passed). Failures win: a run with a
// failed case exits 1 even if another case was skipped. SKIP_IF_MISSING in a
// case outside the "privileged" suite is a failure (its skip would turn the
// whole unit.<module> into one skip).
//
// Parts of a case that depend on the host but leave the rest of the case
// meaningful (e.g. "not root: the owner part is not exercised") stay MESSAGEs.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

namespace mkimage_test {

inline constexpr const char* kPrivilegedSuite = "privileged";

struct Skip {
  std::string test_case;
  std::string why;
};

// The cases skipped in this run (filled by skip_current_case).
inline std::vector<Skip>& skipped_cases() {
  static std::vector<Skip> skips;
  return skips;
}

// The running test case (kept up to date by a doctest listener in doctest_main.cpp).
inline const doctest::TestCaseData*& current_case() {
  static const doctest::TestCaseData* tc = nullptr;
  return tc;
}

// For SKIP_IF_MISSING: "" as root, else "needs root (<what>)".
inline std::string unless_root(const std::string& what) {
  return ::geteuid() == 0 ? std::string() : "needs root (" + what + ")";
}

// Records the running case as skipped (reported at file:line); false (and a
// failed check) when the case is not in the "privileged" suite.
inline bool skip_current_case(std::string why, const char* file, int line) {
  const doctest::TestCaseData* tc = current_case();
  std::string name = tc ? tc->m_name : "?";
  if (!tc || std::string(tc->m_test_suite) != kPrivilegedSuite) {
    ADD_FAIL_CHECK_AT(file, line,
                      "SKIP_IF_MISSING(\"" << why << "\") in a case outside the \"privileged\" suite: "
                                            << "declare it with PRIVILEGED_TEST_CASE");
    return false;
  }
  ADD_MESSAGE_AT(file, line, "skipped: " << why);
  skipped_cases().push_back({std::move(name), std::move(why)});
  return true;
}

}  // namespace mkimage_test

#define PRIVILEGED_TEST_CASE(name) TEST_CASE(name * doctest::test_suite(mkimage_test::kPrivilegedSuite))

#define SKIP_IF_MISSING(why_expr)                                                \
  do {                                                                           \
    std::string skip_why_ = (why_expr);                                          \
    if (!skip_why_.empty()) {                                                    \
      mkimage_test::skip_current_case(std::move(skip_why_), __FILE__, __LINE__); \
      return;                                                                    \
    }                                                                            \
  } while (0)
