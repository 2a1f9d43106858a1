// Planner internals shared by plan.cpp, stages.cpp and plan_dispatch.cpp (not public API).
#pragma once

#include <map>
#include <optional>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include "parser/plan.hpp"
#include "parser/shell_lexer.hpp"

namespace mkimage::parser::detail {

// An ordered environment: BuildKit's llb EnvList (AddOrReplace moves the key
// to the end). get and set are O(1) on average: an index by name beside the
// ordered entries; a replaced entry leaves a hole that vars() skips, and the
// holes are compacted once they outnumber the live entries.
class EnvList : public Environment {
public:
  std::optional<std::string> get(std::string_view name) const override {
    auto it = m_at.find(std::string(name));
    if (it == m_at.end()) return std::nullopt;
    return m_entries[it->second]->second;
  }
  void set(const std::string& k, const std::string& v) {
    auto [it, added] = m_at.try_emplace(k, m_entries.size());
    if (!added) {
      m_entries[it->second].reset();
      it->second = m_entries.size();
      ++m_holes;
    }
    m_entries.emplace_back(std::in_place, k, v);
    if (m_holes > m_at.size()) compact();
  }
  // The entries in order (oldest first).
  std::vector<std::pair<std::string, std::string>> vars() const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(m_at.size());
    for (const auto& e : m_entries)
      if (e) out.push_back(*e);
    return out;
  }

private:
  void compact() {
    std::vector<std::optional<std::pair<std::string, std::string>>> live;
    live.reserve(m_at.size());
    for (auto& e : m_entries) {
      if (!e) continue;
      m_at[e->first] = live.size();
      live.push_back(std::move(e));
    }
    m_entries = std::move(live);
    m_holes = 0;
  }
  std::vector<std::optional<std::pair<std::string, std::string>>> m_entries;
  std::unordered_map<std::string, std::size_t> m_at;
  std::size_t m_holes = 0;
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
