// EnvList: the ordered environment variable expansion runs against while a
// stage is walked (ARG/ENV scoping), shared by the planner (graph/dispatch*.cpp)
// and the build checks (parser/checks/).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "parser/shell_lexer.hpp"

namespace mkimage::parser {

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

}  // namespace mkimage::parser
