#include "parser/source.hpp"

#include <algorithm>
#include <cctype>

#include "parser/text.hpp"

namespace mkimage::parser {

std::string format_diagnostic(const Diagnostic& d, const std::vector<std::string>& source_lines) {
  std::string out = d.file;
  if (d.line > 0) {
    out += ":" + std::to_string(d.line) + ":" + std::to_string(d.column > 0 ? d.column : 1);
  }
  out += ": " + d.message + "\n";
  if (d.line > 0 && static_cast<std::size_t>(d.line) <= source_lines.size()) {
    std::string prefix = " >>> " + std::to_string(d.line) + " | ";
    out += prefix + source_lines[d.line - 1] + "\n";
    int col = d.column > 0 ? d.column : 1;
    out += std::string(prefix.size() + col - 1, ' ') + "^\n";
  }
  return out;
}

static std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

static std::string match_case(const std::string& candidate, const std::string& orig) {
  if (orig == ascii_lower(orig)) return ascii_lower(candidate);
  std::string upper = orig;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (orig == upper) {
    std::string out = candidate;
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
  return candidate;
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates, bool case_sensitive) {
  std::string w = case_sensitive ? word : ascii_lower(word);
  std::string best;
  std::size_t best_d = 3;
  for (const auto& c : candidates) {
    std::string o = case_sensitive ? c : ascii_lower(c);
    if (o == w) return "";
    std::size_t d = edit_distance(w, o);
    if (d < best_d) {
      best_d = d;
      best = case_sensitive ? c : match_case(o, word);
    }
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates, bool case_sensitive) {
  std::string near = nearest(word, candidates, case_sensitive);
  return near.empty() ? "" : " (did you mean " + near + "?)";
}

}  // namespace mkimage::parser
