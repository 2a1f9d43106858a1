#include "builder/runtime_stderr.hpp"

#include <filesystem>

namespace mkimage::builder {

RuntimeStderrFilter::RuntimeStderrFilter(std::string_view runtime) {
  std::string name = std::filesystem::path(runtime).filename().string();
  if (name.empty()) name = "runc";
  m_prefixes = {name + " ", name + ":", "exec failed: "};
}

std::string RuntimeStderrFilter::feed(std::string_view chunk) {
  std::string s = std::move(m_held);
  m_held.clear();
  s.append(chunk);
  std::string out;
  std::string_view rest = s;
  while (!rest.empty()) {
    if (m_line_start) {
      bool may_be_error = false;
      for (const auto& p : m_prefixes) {
        size_t n = std::min(rest.size(), p.size());
        if (rest.substr(0, n) == std::string_view(p).substr(0, n)) may_be_error = true;
      }
      auto nl = rest.find('\n');
      // The runtime's error is its last word: a whole line with more output
      // after it is the process's own.
      if (may_be_error && (nl == std::string_view::npos || nl + 1 == rest.size())) {
        m_held = rest;
        return out;
      }
    }
    auto nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      out.append(rest);
      m_line_start = false;
      break;
    }
    out.append(rest.substr(0, nl + 1));
    rest.remove_prefix(nl + 1);
    m_line_start = true;
  }
  return out;
}

std::string RuntimeStderrFilter::flush() {
  std::string out = std::move(m_held);
  m_held.clear();
  if (!out.empty()) m_line_start = out.back() == '\n';
  return out;
}

std::string RuntimeStderrFilter::finish(const std::optional<std::string>& runtime_error) {
  std::string held = flush();
  if (runtime_error && (held == *runtime_error + "\n" || held == *runtime_error)) return {};
  return held;
}

}  // namespace mkimage::builder
