// Planner helpers: diagnostics against the Dockerfile's lines and Go's path
// functions (graph/plan_internal.hpp).
#include "graph/plan_internal.hpp"

#include <algorithm>

namespace mkimage::graph::detail {

using namespace parser;

// Go path.Clean.
std::string path_clean(const std::string& p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string seg = p.substr(i, j - i);
    i = j + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back("..");
      }
      continue;
    }
    parts.push_back(seg);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k) out += "/";
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

std::string path_join(const std::string& a, const std::string& b) {
  if (a.empty()) return path_clean(b);
  if (b.empty()) return path_clean(a);
  return path_clean(a + "/" + b);
}

util::Error Diag::at(const SourceRange& r, const std::string& message, const std::string& token) const {
  Diagnostic d;
  d.file = file;
  d.line = r.start_line;
  d.column = r.start_col > 0 ? r.start_col : 1;
  d.message = message;
  if (!token.empty() && lines && r.start_line > 0) {
    int last = std::max(r.start_line, r.end_line);
    for (int l = r.start_line; l <= last && l <= static_cast<int>(lines->size()); ++l) {
      const std::string& text = (*lines)[l - 1];
      std::size_t from = (l == r.start_line && r.start_col > 0) ? static_cast<std::size_t>(r.start_col - 1) : 0;
      std::size_t pos = text.find(token, std::min(from, text.size()));
      if (pos != std::string::npos) {
        d.line = l;
        d.column = static_cast<int>(pos) + 1;
        break;
      }
    }
  }
  return util::Error{format_diagnostic(d, lines ? *lines : std::vector<std::string>{})};
}

util::Error Diag::whole(const std::string& message) const {
  Diagnostic d;
  d.file = file;
  d.message = message;
  return util::Error{format_diagnostic(d, {})};
}

}  // namespace mkimage::graph::detail
