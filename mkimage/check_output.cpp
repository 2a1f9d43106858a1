#include "mkimage/check_output.hpp"

namespace mkimage::cli {

std::string check_short(const CheckWarning& w) {
  std::string s = w.rule + ": " + w.detail;
  if (w.line > 0) s += " (line " + std::to_string(w.line) + ")";
  return s;
}

std::string format_check_summary(const std::vector<CheckWarning>& warnings) {
  if (warnings.empty()) return "";
  std::string out = "\n ";
  out += warnings.size() == 1 ? "1 warning found:\n" : std::to_string(warnings.size()) + " warnings found:\n";
  for (const auto& w : warnings) {
    out += " - " + check_short(w) + "\n";
    out += w.description + "\n";
    if (!w.url.empty()) out += "More info: " + w.url + "\n";
    out += w.excerpt + "\n";
  }
  return out;
}

std::string format_check_report(const std::vector<CheckWarning>& warnings, bool failed) {
  std::string out;
  if (warnings.size() == 1) out = "Check complete, 1 warning has been found!\n";
  else if (warnings.size() > 1) out = "Check complete, " + std::to_string(warnings.size()) + " warnings have been found!\n";
  else if (!failed) out = "Check complete, no warnings found.\n";
  for (const auto& w : warnings) {
    out += "\nWARNING: " + w.rule;
    if (!w.url.empty()) out += " - " + w.url;
    out += "\n" + w.detail + "\n" + w.excerpt;
  }
  if (failed && !warnings.empty()) out += "\n";
  return out;
}

}  // namespace mkimage::cli
