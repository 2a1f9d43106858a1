// JSON text for everything mkimage writes (image configs, manifests, the OCI
// runtime config, index rows, CLI output). One rule for bytes that are not UTF-8:
// each invalid sequence in a string becomes U+FFFD, as Go's encoding/json (docker,
// BuildKit) writes them — never an exception (nlohmann's default throws
// type_error.316 and aborted a build on `RUN echo \xff`).
#pragma once

#include <string>

namespace mkimage::util {

template <class Json>
std::string json_text(const Json& j, int indent = -1, char indent_char = ' ') {
  return j.dump(indent, indent_char, false, Json::error_handler_t::replace);
}

}  // namespace mkimage::util
