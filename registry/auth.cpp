#include "registry/auth.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "registry/errors.hpp"

namespace mkimage::registry {

using util::Error;
using util::Result;

namespace {

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view h) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto token = [&] {
    std::size_t b = i;
    while (i < h.size() && h[i] != ' ' && h[i] != '\t' && h[i] != '=' && h[i] != ',') ++i;
    return std::string(h.substr(b, i - b));
  };
  while (true) {
    skip_ws();
    if (i >= h.size()) break;
    std::string word = token();
    if (i < h.size() && h[i] == '=') {
      // a parameter of the current challenge
      ++i;
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        ++i;
      } else {
        value = token();
      }
      if (out.empty()) return {};
      out.back().params[lower(word)] = value;
    } else {
      out.push_back(Challenge{lower(word), {}});
    }
  }
  return out;
}

std::string repository_scope(const std::string& repository, bool push) {
  return "repository:" + repository + (push ? ":pull,push" : ":pull");
}

bool Authorizer::learn(const std::string& www_authenticate) {
  std::lock_guard lock(m_mutex);
  for (const auto& c : parse_www_authenticate(www_authenticate)) {
    if (c.scheme == "bearer" && c.params.count("realm")) {
      m_challenge = c;
      return true;
    }
    if (c.scheme == "basic") {
      m_challenge = c;
      return true;
    }
  }
  return false;
}

bool Authorizer::knows_challenge() const {
  std::lock_guard lock(m_mutex);
  return m_challenge.has_value();
}

bool Authorizer::basic_without_credentials() const {
  std::lock_guard lock(m_mutex);
  return m_challenge && m_challenge->scheme == "basic" && !m_credentials;
}

void Authorizer::forget(const std::vector<std::string>& scopes) {
  std::lock_guard lock(m_mutex);
  m_tokens.erase(join(scopes, ' '));
}

Result<std::string> Authorizer::authorization(const std::vector<std::string>& scopes, net::HttpClient& http) {
  std::unique_lock lock(m_mutex);
  if (!m_challenge) return std::string();
  Challenge c = *m_challenge;
  if (c.scheme == "basic") {
    if (!m_credentials) return std::string();
    return "Basic " + base64_encode(m_credentials->username + ":" + m_credentials->password);
  }
  std::string key = join(scopes, ' ');
  auto it = m_tokens.find(key);
  if (it != m_tokens.end() && it->second.expires > std::chrono::steady_clock::now()) return "Bearer " + it->second.value;
  lock.unlock();  // the token request runs unlocked; two threads may both fetch one
  MKIMAGE_TRY(std::string token, fetch_token(c, scopes, http));
  return "Bearer " + token;
}

Result<std::string> Authorizer::fetch_token(const Challenge& c, const std::vector<std::string>& scopes,
                                            net::HttpClient& http) {
  const std::string& realm = c.params.at("realm");
  if (!net::is_url(realm)) return Error{"token realm \"" + realm + "\" is not an http(s) URL"};
  net::HttpRequest req;
  req.connect_timeout_s = m_connect_timeout_s;
  req.stall_timeout_s = m_stall_timeout_s;
  req.tls = m_tls;
  std::string service = c.params.count("service") ? c.params.at("service") : "";
  if (m_credentials && !m_credentials->identity_token.empty()) {
    // OAuth2 refresh-token grant (docker's identity tokens).
    req.method = "POST";
    req.url = realm;
    std::string form = "grant_type=refresh_token&client_id=mkimage&service=" + net::url_encode(service) +
                       "&refresh_token=" + net::url_encode(m_credentials->identity_token);
    if (!scopes.empty()) form += "&scope=" + net::url_encode(join(scopes, ' '));
    req.body = form;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    url += "service=" + net::url_encode(service);
    for (const auto& s : scopes) url += "&scope=" + net::url_encode(s);
    req.url = url;
    if (m_credentials)
      req.headers.emplace_back("Authorization",
                               "Basic " + base64_encode(m_credentials->username + ":" + m_credentials->password));
  }
  std::string body;
  bool too_big = false;
  auto r = http.perform(req, [&](const char* p, std::size_t n) {
    if (body.size() + n > (1u << 20)) return !(too_big = true);
    body.append(p, n);
    return true;
  });
  if (too_big) return Error{"get token from " + realm + ": the answer is larger than 1 MiB"};
  if (!r.ok()) return Error{"get token from " + realm + ": " + r.error().message};
  if (r->status == 401 || r->status == 403) {
    std::string detail = response_error_text(*r);
    return Error{"unauthorized: " + (m_credentials ? std::string("incorrect username or password")
                                                    : std::string("authentication required")) +
                 (detail.empty() ? "" : " (" + detail + ")")};
  }
  if (r->status != 200) return Error{"get token from " + realm + ": " + status_text(*r)};
  std::string token;
  long expires_in = 60;
  try {
    auto j = nlohmann::json::parse(body);
    if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
    if (token.empty() && j.contains("access_token") && j["access_token"].is_string())
      token = j["access_token"].get<std::string>();
    if (j.contains("expires_in") && j["expires_in"].is_number_integer()) expires_in = j["expires_in"].get<long>();
  } catch (const std::exception& e) {
    return Error{"get token from " + realm + ": malformed answer: " + e.what()};
  }
  if (token.empty()) return Error{"get token from " + realm + ": the answer holds no token"};
  if (expires_in < 60) expires_in = 60;  // the token spec's minimum
  std::lock_guard lock(m_mutex);
  // Refresh 10 s before the server's expiry, so a token never runs out in flight.
  m_tokens[join(scopes, ' ')] = Token{token, std::chrono::steady_clock::now() + std::chrono::seconds(expires_in - 10)};
  return token;
}

}  // namespace mkimage::registry
