#include "registry/errors.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

namespace mkimage::registry {

namespace {

nlohmann::json errors_of(const net::HttpResponse& r) {
  try {
    auto j = nlohmann::json::parse(r.error_body);
    if (j.is_object() && j.contains("errors") && j["errors"].is_array()) return j["errors"];
  } catch (...) {
  }
  return nlohmann::json::array();
}

std::string reason(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace

std::string response_error_text(const net::HttpResponse& r) {
  std::string out;
  for (const auto& e : errors_of(r)) {
    if (!e.is_object()) continue;
    std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    for (auto& ch : code) ch = ch == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (!out.empty()) out += "; ";
    out += code.empty() ? msg : code + ": " + msg;
  }
  return out;
}

std::string status_text(const net::HttpResponse& r) {
  std::string t = response_error_text(r);
  if (!t.empty()) return t;
  // Answers without an error document (HEAD has no body), in docker's words.
  if (r.status == 401) return "unauthorized: authentication required";
  if (r.status == 403) return "denied: requested access to the resource is denied";
  std::string why = reason(r.status);
  return "unexpected status code " + std::to_string(r.status) + (why.empty() ? "" : " " + why);
}

std::string response_error_code(const net::HttpResponse& r) {
  for (const auto& e : errors_of(r))
    if (e.is_object() && e.contains("code") && e["code"].is_string()) return e["code"].get<std::string>();
  return "";
}

}  // namespace mkimage::registry
