#include "parser/checks/secret_names.hpp"

#include <regex>
#include <string>

namespace mkimage::parser::checks {

bool secret_looking_name(std::string_view name) {
  static const std::regex deny("(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)",
                               std::regex::icase);
  static const std::regex allow("(?:_|^)(?:public|file|version)(?:_|$)", std::regex::icase);
  std::string s(name);
  return std::regex_search(s, deny) && !std::regex_search(s, allow);
}

}  // namespace mkimage::parser::checks
