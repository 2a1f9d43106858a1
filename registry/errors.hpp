// Error texts of registry answers, in docker's words: a distribution-spec error
// document {"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}
// reads "manifest unknown: manifest unknown" (code lower-cased, '_' → ' ', then
// the message), as docker prints it.
#pragma once

#include <string>

#include "net/http.hpp"

namespace mkimage::registry {

// The error document's entries joined by "; ", or "" when the body is not one.
std::string response_error_text(const net::HttpResponse& r);
// response_error_text, else "unexpected status code 500 Internal Server Error"-style text.
std::string status_text(const net::HttpResponse& r);
// The first error code of the document ("MANIFEST_UNKNOWN"), or "".
std::string response_error_code(const net::HttpResponse& r);

}  // namespace mkimage::registry
