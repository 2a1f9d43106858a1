// Recognising a heredoc word in an instruction's arguments (parser and planner).
#pragma once

#include <optional>
#include <string>

namespace mkimage::parser {

// A heredoc word `[n]<<[-]NAME`, NAME maybe quoted (BuildKit MustParseHeredoc), or nullopt.
struct HeredocWord {
  std::string name;
  bool strip_tabs = false;
  bool quoted = false;
};
std::optional<HeredocWord> parse_heredoc_word(const std::string& word);

}  // namespace mkimage::parser
