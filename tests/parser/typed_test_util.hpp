// Helpers for the typed-instruction tests: a Dockerfile's instruction number n, typed.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "parser/ast.hpp"
#include "parser/instructions.hpp"

namespace typed_test {

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

}  // namespace typed_test
