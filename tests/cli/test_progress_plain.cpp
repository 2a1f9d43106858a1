// `--progress plain` (mkimage/progress_plain.cpp): steps running at once
// interleave as in BuildKit's plain printer.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mkimage/progress.hpp"

using namespace mkimage;
using namespace mkimage::cli;

namespace {

StepInfo step(int number, const std::string& stage, const std::string& name) {
  StepInfo s;
  s.number = number;
  s.label = "[" + stage + " 1/1]";
  s.name = name;
  return s;
}

}  // namespace

// The printer's text for `events` run against it.
template <class F>
std::string printed(F&& events) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  REQUIRE(out != nullptr);
  {
    auto p = make_plain_printer(out);
    events(*p);
  }
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  return text;
}

TEST_CASE("plain progress: one step shown at a time; the others' lines wait until it ends") {
  StepInfo a = step(6, "a", "RUN sleep 1"), b = step(7, "b", "RUN sleep 1"), c = step(8, "c", "COPY x /");
  std::string text = printed([&](ProgressPrinter& p) {
    p.step_started(c);
    p.step_done(c, 0.04);
    p.step_started(a);
    p.step_output(a, "a says", 0.1);
    p.step_started(b);
    p.step_output(b, "b says", 0.2);
    p.step_output(a, "a again", 0.3);
    p.step_done(a, 1.0);
    p.step_done(b, 1.1);
  });
  CHECK(text ==
        "\n#8 [c 1/1] COPY x /\n"
        "#8 DONE 0.0s\n"
        "\n#6 [a 1/1] RUN sleep 1\n"
        "#6 0.100 a says\n"
        "#6 0.300 a again\n"
        "#6 DONE 1.0s\n"
        "\n#7 [b 1/1] RUN sleep 1\n"
        "#7 0.200 b says\n"
        "#7 DONE 1.1s\n");
}

TEST_CASE("plain progress: a step ending while another is shown interrupts it (BuildKit's \"#N ...\")") {
  StepInfo a = step(6, "a", "RUN sleep 1"), b = step(7, "b", "RUN true");
  std::string text = printed([&](ProgressPrinter& p) {
    p.step_started(a);
    p.step_output(a, "a1", 0.1);
    p.step_started(b);
    p.step_output(b, "b1", 0.2);
    p.step_error(b, "exit code: 1\nmore", 0.3);
    p.step_output(a, "a2", 0.4);
    p.step_done(a, 1.0);
  });
  CHECK(text ==
        "\n#6 [a 1/1] RUN sleep 1\n"
        "#6 0.100 a1\n"
        "#6 ...\n"
        "\n#7 [b 1/1] RUN true\n"
        "#7 0.200 b1\n"
        "#7 ERROR: exit code: 1\n"
        "\n#6 [a 1/1] RUN sleep 1\n"
        "#6 0.400 a2\n"
        "#6 DONE 1.0s\n");
}
