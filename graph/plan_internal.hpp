// Planner internals shared by graph/plan*.cpp and graph/dispatch*.cpp (not public API).
#pragma once

#include <map>
#include <optional>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include "graph/plan.hpp"
#include "parser/env_list.hpp"
#include "parser/shell_lexer.hpp"

namespace mkimage::graph::detail {

using parser::EnvList;

// Builds diagnostics against the Dockerfile's lines.
struct Diag {
  std::string file;
  const std::vector<std::string>* lines = nullptr;
  // `token` (if found in the instruction's lines) places the caret.
  util::Error at(const parser::SourceRange& r, const std::string& message, const std::string& token = "") const;
  util::Error whole(const std::string& message) const;
};

// A typed instruction with where it came from.
struct Command {
  parser::Instruction instruction;
  const parser::Node* node = nullptr;   // the AST node (for ONBUILD triggers: the trigger node)
  std::string keyword;          // upper case
  parser::SourceRange range;
  std::string original;
  bool from_onbuild = false;
};

// A stage before dispatch.
struct StageDraft {
  int index = 0;
  parser::FromInstruction from; // expanded image/platform
  std::string raw_image;        // as written
  parser::SourceRange range;
  std::string original;
  std::vector<Command> commands;  // own commands
  StageBase base;
  // Dependencies: (stage index, kind, command index in `commands` or -1 / trigger index).
  std::vector<StageEdge> deps;
  std::vector<Command> triggers;  // ONBUILD triggers to run first
  bool triggers_resolved = false;
  std::optional<BaseImageInfo> image_info;
};

std::string path_clean(const std::string& p);
std::string path_join(const std::string& a, const std::string& b);  // then cleaned

}  // namespace mkimage::graph::detail
