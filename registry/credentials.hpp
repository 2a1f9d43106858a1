// Registry credentials in docker's client configuration, so a user logged in
// with `docker login` is logged in for mkimage and the other way round:
//   $DOCKER_CONFIG/config.json, else ~/.docker/config.json
//   {"auths": {"localhost:5000": {"auth": base64("user:password")},
//              "https://index.docker.io/v1/": {...}},      // docker.io's key
//    "credsStore": "pass",                                  // docker-credential-pass for every registry
//    "credHelpers": {"ghcr.io": "gh"}}                      // docker-credential-gh for one
// Helpers speak the docker-credential-helpers protocol: `get` / `erase` read the
// server URL on stdin, `store` reads {"ServerURL","Username","Secret"}; `get`
// prints that JSON. A Username of "<token>" means Secret is an identity token.
// The file is rewritten atomically (temp file + rename; a new file gets mode
// 0600, an existing one keeps its mode, as docker does), keeping
// every key mkimage does not use.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace mkimage::registry {

struct Credentials {
  std::string username;
  std::string password;        // or empty when identity_token is set
  std::string identity_token;  // an OAuth2 refresh token ("<token>" helpers, identitytoken)
};

// The registry domain a server name means, as docker reads `docker login`'s
// argument and config.json's "auths" keys: scheme and path dropped, docker.io's
// index and API hosts (and "") are docker.io. "https://HOST:PORT/v2/" → "HOST:PORT".
std::string registry_domain(std::string_view server);

// The key of a registry domain in "auths" and for helpers: docker.io →
// "https://index.docker.io/v1/", anything else → the domain itself.
std::string credential_server(const std::string& domain);

class CredentialStore {
public:
  // The config file above (it may not exist yet).
  static CredentialStore open_default();
  explicit CredentialStore(std::filesystem::path file) : m_file(std::move(file)) {}

  const std::filesystem::path& file() const { return m_file; }

  // The credentials for a registry domain, or nullopt. Looks in credHelpers,
  // then credsStore, then auths: keys are compared as docker does, without
  // scheme and path ("https://HOST:PORT/v2/" matches HOST:PORT); an entry has
  // "auth" (base64 user:password) or "username" + "password", and may have
  // "identitytoken".
  // Errors: unreadable or malformed config file, a helper that fails other than
  // "credentials not found".
  util::Result<std::optional<Credentials>> get(const std::string& domain) const;
  // Saves credentials (in the helper if one is configured for the domain, else
  // base64 in "auths"). Returns true when the secret went into the file itself
  // (unencrypted), false when a helper keeps it. Errors: I/O, a failing helper.
  util::Result<bool> store(const std::string& domain, const Credentials& c) const;
  // Removes them; false when there were none. Errors: I/O, a failing helper.
  util::Result<bool> erase(const std::string& domain) const;

private:
  std::filesystem::path m_file;
};

// base64 (RFC 4648 with padding) and its inverse (invalid input → nullopt).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mkimage::registry
