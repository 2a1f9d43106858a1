// Registry authentication (distribution-spec, docker's token auth specification):
// a request without credentials gets 401 with `WWW-Authenticate`, which names
// the scheme:
//   Basic realm="..."                       → "Authorization: Basic base64(user:pass)"
//   Bearer realm=URL,service=S,scope=...    → GET URL?service=S&scope=repository:NAME:pull,push
//        (with Basic credentials when the user has some) → {"token"|"access_token", "expires_in"}
//        → "Authorization: Bearer TOKEN"
// Tokens are cached per scope set until expires_in (default 60 s) runs out. An
// identity token (OAuth2 refresh token) is exchanged with POST grant_type=refresh_token.
// Thread-safe: the transfers of one pull or push share one Authorizer per endpoint.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"
#include "registry/credentials.hpp"
#include "util/result.hpp"

namespace mkimage::registry {

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // realm, service, scope, ... (names lower case)
};

// Parses a WWW-Authenticate header value (RFC 7235: one or more challenges,
// quoted or token parameter values). Unparseable text gives an empty list.
std::vector<Challenge> parse_www_authenticate(std::string_view header);

// "repository:library/node:pull" / "repository:me/app:pull,push".
std::string repository_scope(const std::string& repository, bool push);

class Authorizer {
public:
  // Timeouts in seconds, as RegistryConfig's (the token request gets them too).
  Authorizer(std::optional<Credentials> credentials, net::TlsFiles tls, long connect_timeout_s, long stall_timeout_s = 60)
      : m_credentials(std::move(credentials)),
        m_tls(std::move(tls)),
        m_connect_timeout_s(connect_timeout_s),
        m_stall_timeout_s(stall_timeout_s) {}

  // Remembers the challenge of a 401 answer (the first Bearer or Basic one).
  // Returns false when none of them is usable.
  bool learn(const std::string& www_authenticate);
  bool knows_challenge() const;

  // The Authorization header value for a request needing `scopes` ("" = send
  // none: no challenge seen yet, or anonymous Basic). Fetches a token when the
  // cache has none. Errors: the token server's answer (401 → "unauthorized:
  // incorrect username or password" / the server's error text), transport errors.
  util::Result<std::string> authorization(const std::vector<std::string>& scopes, net::HttpClient& http);
  // Drops the cached token for `scopes` (after a 401 with it).
  void forget(const std::vector<std::string>& scopes);
  bool has_credentials() const { return m_credentials.has_value(); }
  // The registry asked for Basic auth and there are no credentials to send.
  bool basic_without_credentials() const;

private:
  util::Result<std::string> fetch_token(const Challenge& c, const std::vector<std::string>& scopes,
                                        net::HttpClient& http);

  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  std::optional<Credentials> m_credentials;
  net::TlsFiles m_tls;
  long m_connect_timeout_s;
  long m_stall_timeout_s;
  mutable std::mutex m_mutex;
  std::optional<Challenge> m_challenge;
  std::map<std::string, Token> m_tokens;  // key: scopes joined by ' '
};

}  // namespace mkimage::registry
