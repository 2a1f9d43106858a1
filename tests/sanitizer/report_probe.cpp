// A program with one deliberate defect per argument, for the sanitizer build's
// self-test (tests/sanitizer/self_test.sh): each must end in a sanitizer report.
//   report_probe heap   heap-buffer-overflow (ASan)
//   report_probe leak   an unreachable allocation at exit (LeakSanitizer)
//   report_probe ub     signed integer overflow (UBSan)
//   report_probe none   no defect: no report
#include <climits>
#include <cstdlib>
#include <cstring>

namespace {
void* volatile g_sink;  // keeps the compiler from removing the allocations
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (std::strcmp(argv[1], "heap") == 0) {
    auto* p = static_cast<char*>(std::malloc(4));
    g_sink = p;
    p[argc + 2] = 1;  // argc is 2: one past the end
    std::free(p);
  } else if (std::strcmp(argv[1], "leak") == 0) {
    g_sink = std::malloc(40);
    g_sink = nullptr;
  } else if (std::strcmp(argv[1], "ub") == 0) {
    volatile int x = INT_MAX - 1;
    x = x + argc;  // INT_MAX - 1 + 2
    return x & 1;
  }
  return 0;
}
