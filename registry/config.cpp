#include "registry/config.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

namespace mkimage::registry {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

template <class T>
Result<void> read_key(const nlohmann::json& j, const char* key, T& out, const fs::path& source) {
  if (!j.contains(key)) return {};
  try {
    out = j.at(key).get<T>();
  } catch (const std::exception& e) {
    return Error{"registry configuration \"" + source.string() + "\": key \"" + key + "\": " + e.what()};
  }
  return {};
}

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Result<RegistryConfig> RegistryConfig::parse(const std::string& text, const fs::path& source) {
  RegistryConfig c;
  c.source = source;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return Error{"registry configuration \"" + source.string() + "\": " + e.what()};
  }
  if (!j.is_object()) return Error{"registry configuration \"" + source.string() + "\": not a JSON object"};
  std::vector<std::string> hub_mirrors, insecure;
  MKIMAGE_TRY_VOID(read_key(j, "registry-mirrors", hub_mirrors, source));
  MKIMAGE_TRY_VOID(read_key(j, "mirrors", c.mirrors, source));
  MKIMAGE_TRY_VOID(read_key(j, "insecure-registries", insecure, source));
  MKIMAGE_TRY_VOID(read_key(j, "max-concurrent-downloads", c.max_concurrent_downloads, source));
  MKIMAGE_TRY_VOID(read_key(j, "max-concurrent-uploads", c.max_concurrent_uploads, source));
  MKIMAGE_TRY_VOID(read_key(j, "connect-timeout-seconds", c.connect_timeout_s, source));
  MKIMAGE_TRY_VOID(read_key(j, "stall-timeout-seconds", c.stall_timeout_s, source));
  MKIMAGE_TRY_VOID(read_key(j, "max-attempts", c.max_attempts, source));
  MKIMAGE_TRY_VOID(read_key(j, "upload-chunk-size", c.upload_chunk_size, source));
  std::string certs;
  MKIMAGE_TRY_VOID(read_key(j, "certs-dir", certs, source));
  if (!certs.empty()) c.certs_dir = certs;
  for (auto& m : hub_mirrors) c.mirrors["docker.io"].push_back(m);
  for (auto& [k, v] : c.mirrors)
    for (auto& u : v) u = strip_slash(u);
  c.insecure.insert(insecure.begin(), insecure.end());
  if (c.max_concurrent_downloads < 1 || c.max_concurrent_uploads < 1 || c.max_attempts < 1)
    return Error{"registry configuration \"" + source.string() + "\": concurrency and attempts must be at least 1"};
  if (c.upload_chunk_size < k_min_upload_chunk || c.connect_timeout_s < 0 || c.stall_timeout_s < 0)
    return Error{"registry configuration \"" + source.string() + "\": upload-chunk-size must be at least " +
                 std::to_string(k_min_upload_chunk) + " bytes and timeouts not negative"};
  return c;
}

Result<RegistryConfig> RegistryConfig::load(const fs::path& store_root) {
  for (fs::path p : {store_root / "registries.json", fs::path("/etc/mkimage/registries.json")}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    if (!fs::is_regular_file(p, ec)) return Error{"registry configuration \"" + p.string() + "\": not a regular file"};
    std::ifstream in(p, std::ios::binary);
    if (!in) return Error{"registry configuration \"" + p.string() + "\": cannot be read"};
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return parse(text, p);
  }
  return RegistryConfig{};
}

std::string api_host(const std::string& domain) {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

bool is_loopback(const std::string& host) {
  std::string h = host;
  if (h.starts_with("[")) {
    auto end = h.find(']');
    h = h.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  } else if (auto colon = h.rfind(':'); colon != std::string::npos && h.find(':') == colon) {
    h = h.substr(0, colon);
  }
  bool v4_loopback = h.starts_with("127.") && h.find_first_not_of("0123456789.") == std::string::npos;
  return h == "localhost" || v4_loopback || h == "::1";
}

std::vector<Endpoint> endpoints_for(const RegistryConfig& config, const std::string& domain, bool pull) {
  std::vector<Endpoint> out;
  if (pull) {
    auto it = config.mirrors.find(domain);
    if (it != config.mirrors.end()) {
      for (const auto& url : it->second) out.push_back(Endpoint{url, true, {}});
    }
  }
  std::string host = api_host(domain);
  bool loopback = is_loopback(host);
  bool plain = loopback || config.insecure.count(host) || config.insecure.count(domain);
  Endpoint origin{(plain ? "http://" : "https://") + host, false, {}};
  origin.scheme_probe = loopback;
  out.push_back(origin);
  for (auto& e : out) {
    std::string h = e.base_url.substr(e.base_url.find("://") + 3);
    fs::path dir = config.certs_dir / h;
    std::error_code ec;
    if (fs::exists(dir / "ca.crt", ec)) e.tls.ca_file = (dir / "ca.crt").string();
    if (fs::exists(dir / "client.cert", ec) && fs::exists(dir / "client.key", ec)) {
      e.tls.client_cert = (dir / "client.cert").string();
      e.tls.client_key = (dir / "client.key").string();
    }
  }
  return out;
}

}  // namespace mkimage::registry
