// Helpers shared by the typed-instruction and planner sources (not public API).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "parser/heredoc_word.hpp"
#include "parser/instructions.hpp"

namespace mkimage::parser {

enum class FlagType { boolean, string, strings };

struct FlagSpec {
  std::string name;
  FlagType type;
};

// Flags as BuildKit's BFlags parses them. Bool values are "true"/"false".
struct ParsedFlags {
  std::set<std::string> used;
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> lists;
  std::string get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? "" : it->second;
  }
  std::vector<std::string> list(const std::string& name) const {
    auto it = lists.find(name);
    return it == lists.end() ? std::vector<std::string>{} : it->second;
  }
};

// Parses `--name[=value]` words. On error `*token` is the offending word.
util::Result<ParsedFlags> parse_flags(const std::vector<std::string>& words, const std::vector<FlagSpec>& specs,
                                      std::string* token);

}  // namespace mkimage::parser
