// Benchmark: parse + plan of a generated Dockerfile (default 10,000
// instructions), or of a Dockerfile given on the command line.
//
//   bench_parse_parse_plan [--instructions N] [--iterations K] [--write FILE] [Dockerfile]
//
// Prints the median wall time of parse_dockerfile() and of make_plan() over K
// runs (milliseconds), plus the instruction and step counts.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "graph/plan.hpp"
#include "parser/ast.hpp"

namespace {

// A mix modelled on real Dockerfiles: 20 stages, each with ARG/ENV/LABEL,
// WORKDIR, COPY (also --from an earlier stage), RUN in shell, exec and heredoc
// form (with --mount), continuation lines, EXPOSE, USER, CMD/ENTRYPOINT.
std::string generate(int n) {
  std::ostringstream out;
  out << "# syntax=docker/dockerfile:1\nARG BASE=scratch\nARG VERSION=1.0\n";
  int count = 2;
  int stages = 20;
  int per_stage = (n - count) / stages;
  for (int s = 0; s < stages && count < n; ++s) {
    out << "FROM ${BASE} AS stage" << s << "\n";
    ++count;
    for (int i = 1; i < per_stage && count < n; ++i, ++count) {
      switch (i % 12) {
        case 0: out << "ARG OPT" << i % 40 << "=value-" << i << "\n"; break;
        case 1: out << "ENV APP_HOME=/srv/app" << s << " LEVEL" << i % 30 << "=${VERSION:-dev}-" << i << "\n"; break;
        case 2: out << "WORKDIR $APP_HOME/sub" << i % 7 << "\n"; break;
        case 3: out << "COPY --chown=1000:1000 --chmod=0644 src/file" << i << ".txt config/ ./dest" << i << "/\n"; break;
        case 4:
          out << "RUN --mount=type=cache,target=/root/.cache/" << i % 5
              << " set -e && \\\n    echo building " << i << " && \\\n    make -j2 target" << i << "\n";
          break;
        case 5: out << "RUN [\"/bin/busybox\", \"echo\", \"exec form " << i << "\"]\n"; break;
        case 6: out << "LABEL org.example.step" << i << "=\"value " << i << "\" version=$VERSION\n"; break;
        case 7:
          if (s > 0) {
            out << "COPY --from=stage" << s - 1 << " /srv/app" << s - 1 << " /prev/\n";
          } else {
            out << "COPY a" << i << " /a/\n";
          }
          break;
        case 8: out << "RUN <<EOF\n#!/bin/sh\necho heredoc " << i << "\nEOF\n"; break;
        case 9: out << "EXPOSE " << 8000 + i % 1000 << "/tcp " << 9000 + i % 100 << "/udp\n"; break;
        case 10: out << "USER " << 1000 + i % 3 << ":1000\n"; break;
        default: out << (i % 2 ? "CMD [\"/app\", \"--serve\"]\n" : "ENTRYPOINT /bin/app --flag " + std::to_string(i) + "\n");
      }
    }
  }
  return out.str();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int n = 10000;
  int iterations = 5;
  std::string file, write;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--instructions" && i + 1 < argc) n = std::atoi(argv[++i]);
    else if (a == "--iterations" && i + 1 < argc) iterations = std::atoi(argv[++i]);
    else if (a == "--write" && i + 1 < argc) write = argv[++i];
    else file = a;
  }
  std::string text;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    text = generate(n);
  }
  if (!write.empty()) std::ofstream(write, std::ios::binary) << text;

  using clock = std::chrono::steady_clock;
  std::vector<double> parse_ms, plan_ms;
  std::size_t instructions = 0, steps = 0, stages = 0;
  for (int it = 0; it < std::max(1, iterations); ++it) {
    auto t0 = clock::now();
    auto ast = mkimage::parser::parse_dockerfile(text);
    auto t1 = clock::now();
    if (!ast.ok()) {
      std::cerr << ast.error().message;
      return 1;
    }
    mkimage::graph::PlanOptions opts;
    opts.target = "stage19";
    auto plan = mkimage::graph::make_plan(*ast, opts);
    auto t2 = clock::now();
    if (!plan.ok()) {
      std::cerr << plan.error().message;
      return 1;
    }
    parse_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    plan_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    instructions = ast->instructions.size();
    stages = plan->stages.size();
    steps = 0;
    for (const auto& s : plan->stages) steps += s.steps.size();
  }
  std::cout << "bytes=" << text.size() << " instructions=" << instructions << " stages=" << stages
            << " steps=" << steps << " iterations=" << parse_ms.size() << "\n";
  std::cout << "parse_ms_median=" << median(parse_ms) << " plan_ms_median=" << median(plan_ms)
            << " total_ms_median=" << median(parse_ms) + median(plan_ms) << "\n";
  return 0;
}
