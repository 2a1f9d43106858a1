#include "graph/proxy_args.hpp"

#include <array>

#include "parser/text.hpp"

namespace mkimage::graph {

using parser::ascii_lower;

namespace {

constexpr std::array<std::string_view, 5> k_kinds = {"http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
                                                     "all_proxy"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool is_proxy_arg(std::string_view name) {
  std::string l = ascii_lower(name);
  for (auto k : k_kinds) {
    if (l == k) return true;
  }
  return false;
}

std::vector<std::string> proxy_env(const std::map<std::string, std::string>& build_args) {
  std::array<std::string, k_kinds.size()> values;
  for (const auto& [name, value] : build_args) {  // std::map: sorted by name, as BuildKit
    std::string l = ascii_lower(name);
    for (std::size_t i = 0; i < k_kinds.size(); ++i) {
      if (l == k_kinds[i]) values[i] = value;
    }
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < k_kinds.size(); ++i) {
    if (values[i].empty()) continue;
    out.push_back(upper(k_kinds[i]) + "=" + values[i]);
    out.push_back(std::string(k_kinds[i]) + "=" + values[i]);
  }
  return out;
}

}  // namespace mkimage::graph
