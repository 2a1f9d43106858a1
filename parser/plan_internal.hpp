// Planner internals shared by plan.cpp, stages.cpp and plan_dispatch.cpp (not public API).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "parser/plan.hpp"
#include "parser/shell_lexer.hpp"

namespace mkimage::parser::detail {

// An ordered environment: BuildKit's llb EnvList (AddOrReplace moves the key
// to the end).
class EnvList : public Environment {
public:
  std::optional<std::string> get(std::string_view name) const override {
    for (auto it = m_vars.rbegin(); it != m_vars.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return std::nullopt;
  }
  void set(const std::string& k, const std::string& v) {
    for (auto it = m_vars.begin(); it != m_vars.end(); ++it) {
      if (it->first == k) {
        m_vars.erase(it);
        break;
      }
    }
    m_vars.emplace_back(k, v);
  }
  const std::vector<std::pair<std::string, std::string>>& vars() const { return m_vars; }

private:
  std::vector<std::pair<std::string, std::string>> m_vars;
};

// Builds diagnostics against the Dockerfile's lines.
struct Diag {
  std::string file;
  const std::vector<std::string>* lines = nullptr;
  // `token` (if found in the instruction's lines) places the caret.
  util::Error at(const SourceRange& r, const std::string& message, const std::string& token = "") const;
  util::Error whole(const std::string& message) const;
};

// A typed instruction with where it came from.
struct Command {
  Instruction instruction;
  const Node* node = nullptr;   // the AST node (for ONBUILD triggers: the trigger node)
  std::string keyword;          // upper case
  SourceRange range;
  std::string original;
  bool from_onbuild = false;
};

// A stage before dispatch.
struct StageDraft {
  int index = 0;
  FromInstruction from;         // expanded image/platform
  std::string raw_image;        // as written
  SourceRange range;
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

}  // namespace mkimage::parser::detail
