// Helpers for the planner tests (graph/plan.hpp).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "graph/plan.hpp"
#include "parser/ast.hpp"
#include "parser/instructions.hpp"

namespace plan_test {

using namespace mkimage::graph;
using namespace mkimage::parser;

inline Plan plan_ok(const std::string& text, const PlanOptions& opts = {}) {
  auto p = plan_dockerfile(text, opts);
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
  return std::move(p).value();
}

inline std::string plan_error(const std::string& text, const PlanOptions& opts = {}) {
  auto p = plan_dockerfile(text, opts);
  REQUIRE_MESSAGE(!p.ok(), "planning succeeded unexpectedly");
  return p.error().message;
}

// First line of a formatted diagnostic.
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// The step `i` of the plan's stage with Dockerfile index `stage`.
inline const Step& step(const Plan& p, int stage, std::size_t i) {
  const Stage* st = p.find_stage(stage);
  REQUIRE(st != nullptr);
  REQUIRE(st->steps.size() > i);
  return st->steps[i];
}

template <typename T>
const T& step_as(const Plan& p, int stage, std::size_t i) {
  const Step& s = step(p, stage, i);
  REQUIRE(std::holds_alternative<T>(s.instruction));
  return std::get<T>(s.instruction);
}

// The value of K in a "K=V" list, or "<unset>".
inline std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env) {
    if (e.rfind(key + "=", 0) == 0) return e.substr(key.size() + 1);
  }
  return "<unset>";
}

}  // namespace plan_test
