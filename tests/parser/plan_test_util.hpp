// Helpers for the typed-instruction and planner tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "parser/ast.hpp"
#include "parser/instructions.hpp"
#include "parser/plan.hpp"

namespace plan_test {

using namespace mkimage::parser;

// Parses `text` (a Dockerfile) and types its instruction number `n`.
inline mkimage::util::Result<Instruction> typed(const std::string& text, std::size_t n = 0,
                                                InstructionError* detail = nullptr) {
  auto ast = parse_dockerfile(text);
  REQUIRE_MESSAGE(ast.ok(), (ast.ok() ? "" : ast.error().message));
  REQUIRE(ast->instructions.size() > n);
  return parse_instruction(ast->instructions[n], detail);
}

// The error message of typing instruction `n` of `text` ("" when it succeeds).
inline std::string typed_error(const std::string& text, std::size_t n = 0) {
  auto r = typed(text, n);
  return r.ok() ? "" : r.error().message;
}

template <typename T>
T typed_as(const std::string& text, std::size_t n = 0) {
  auto r = typed(text, n);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  REQUIRE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

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
