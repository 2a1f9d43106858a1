// Registry settings: mirrors, insecure registries, transfer concurrency and
// timeouts, read from one JSON file (docs/registry.md):
//   ROOT/registries.json if it exists (ROOT = the store root), else
//   /etc/mkimage/registries.json, else the defaults below.
// Example:
//   {"registry-mirrors": ["https://mirror.example"],          // docker.io, as docker's daemon.json
//    "mirrors": {"ghcr.io": ["http://127.0.0.1:5001"]},        // any registry
//    "insecure-registries": ["registry.lan:5000"],
//    "max-concurrent-downloads": 3, "max-concurrent-uploads": 5,
//    "connect-timeout-seconds": 30, "stall-timeout-seconds": 60, "max-attempts": 5}
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "util/result.hpp"

namespace mkimage::registry {

// The smallest upload-chunk-size accepted (bytes): smaller chunks would cost a
// round trip per few bytes.
constexpr std::int64_t k_min_upload_chunk = 64 * 1024;

struct RegistryConfig {
  // Registry domain ("docker.io", "ghcr.io") → mirror base URLs tried in order
  // before the registry itself, for pulls only.
  std::map<std::string, std::vector<std::string>> mirrors;
  // "host[:port]" reached over plain HTTP (as docker's insecure-registries).
  // Loopback registries (localhost, 127.0.0.0/8, ::1) are always allowed HTTP.
  std::set<std::string> insecure;
  int max_concurrent_downloads = 3;   // docker's default
  int max_concurrent_uploads = 5;     // docker's default
  long connect_timeout_s = 30;        // seconds
  long stall_timeout_s = 60;          // seconds without a byte moving
  int max_attempts = 5;               // per request, for 429, 5xx and dropped connections
  std::int64_t upload_chunk_size = 64 << 20;  // bytes: larger blobs go up in PATCH chunks
  std::filesystem::path certs_dir = "/etc/docker/certs.d";  // HOST[:PORT]/{ca.crt, client.cert, client.key}
  std::filesystem::path source;       // the file read ("" = defaults)

  // Reads the file described above. Errors: unreadable or malformed file (its
  // path and the JSON error), a wrongly typed key.
  static util::Result<RegistryConfig> load(const std::filesystem::path& store_root);
  // Parses the JSON text of such a file; `source` names it in errors.
  static util::Result<RegistryConfig> parse(const std::string& text, const std::filesystem::path& source);
};

// One base URL to send a registry's API requests to.
struct Endpoint {
  std::string base_url;  // "https://registry-1.docker.io", "http://127.0.0.1:5000"
  bool mirror = false;
  net::TlsFiles tls;
  // Loopback registries: plain HTTP first, HTTPS (verified as always) when the
  // server turns out to speak TLS (registry/client.cpp). docker tries both for
  // 127.0.0.0/8 too, but skips verification, which mkimage never does.
  bool scheme_probe = false;
};

// The API host of a registry domain: docker.io is served by registry-1.docker.io.
std::string api_host(const std::string& domain);
// True for localhost, 127.0.0.0/8 and ::1 hosts (with or without a port).
bool is_loopback(const std::string& host);
// Where to send requests for `domain`: its mirrors first (when `pull`), then the
// registry itself, over https unless it is insecure (then http); loopback ones
// over http, switching to https when the server speaks TLS. TLS files come from
// certs_dir/HOST[:PORT]/.
std::vector<Endpoint> endpoints_for(const RegistryConfig& config, const std::string& domain, bool pull);

}  // namespace mkimage::registry
