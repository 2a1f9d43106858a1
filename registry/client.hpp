// The distribution-spec v1.1 client for one registry (the HTTP API under /v2/):
// manifests (GET/PUT), blobs (HEAD/GET with Range resume, upload: POST + PUT
// monolithic or PATCH chunks, cross-repository mount), and the API check `GET /v2/`.
// Every request goes through one path that
//   - authorises (registry/auth.hpp) and retries once on 401 with a fresh token;
//   - follows redirects itself, sending Authorization only to the registry's own
//     host (blob storage on another host, as Docker Hub and most cloud registries
//     serve blobs, never sees it);
//   - retries 429 and 5xx (honouring Retry-After) and dropped connections with
//     bounded exponential backoff, at most RegistryConfig::max_attempts times;
//   - for pulls, tries the configured mirrors in order, then the registry.
// Thread-safe: the parallel transfers of a pull or push share one Client.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "registry/auth.hpp"
#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "store/descriptor.hpp"
#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::registry {

// A manifest or index as the registry sent it.
struct FetchedManifest {
  std::string bytes;
  store::MediaType media_type;  // Content-Type (or the document's mediaType)
  store::Digest digest;         // sha256 of `bytes`
};

// The largest manifest accepted (the distribution spec lets registries refuse
// larger; containerd and docker stop at 4 MiB too).
constexpr std::size_t k_max_manifest_bytes = 4 << 20;

// Receives blob bytes; an error aborts the transfer with it.
using BlobChunkSink = std::function<util::Result<void>(const char* data, std::size_t size)>;
// Bytes of the blob done so far (for progress bars).
using ProgressFn = std::function<void(std::int64_t done)>;

class Client {
public:
  // A client for registry `domain` ("docker.io", "localhost:5000"). `push`: asks
  // for pull,push access and uses no mirror. Credentials come from `creds`.
  // Errors: the credential store's.
  static util::Result<std::unique_ptr<Client>> open(const RegistryConfig& config, const CredentialStore& creds,
                                                    const std::string& domain, bool push);
  // As open(), with explicit credentials (login checks them before saving).
  Client(const RegistryConfig& config, std::optional<Credentials> credentials, const std::string& domain, bool push);
  ~Client();

  const std::string& domain() const { return m_domain; }

  // GET /v2/ on the registry (not a mirror), authorising as needed: login's check.
  // Errors: "unauthorized: ..." for refused credentials, transport errors.
  util::Result<void> check_api();

  // GETs a manifest or index by tag or digest ("sha256:…"), accepting OCI and
  // Docker schema 2 types. A digest reference is verified against the bytes.
  // Errors (naming `repository:reference`): not found ("manifest unknown"),
  // over k_max_manifest_bytes, digest mismatch, transport/status errors.
  util::Result<FetchedManifest> get_manifest(const std::string& repository, const std::string& reference);
  // True for get_manifest's error when the registry answered 404 (the tag or
  // digest does not exist there), as opposed to a transport or access failure.
  static bool is_manifest_not_found(const util::Error& e);
  // GET /v2/NAME/tags/list, following `Link: <…>; rel="next"` pages (at most
  // 100). Errors: status/transport errors, malformed JSON.
  util::Result<std::vector<std::string>> list_tags(const std::string& repository);
  // HEAD of a blob: its size when the repository has it, nullopt when not.
  util::Result<std::optional<std::int64_t>> blob_size(const std::string& repository, const store::Digest& digest);
  // GETs a blob into `sink`, resuming with Range after a dropped connection
  // (the sink sees every byte once, in order). `urls` are tried first (foreign
  // layers), without credentials. Does not verify the digest: the caller hashes
  // what it receives. Errors: status/transport errors after the retries.
  util::Result<void> get_blob(const std::string& repository, const store::Descriptor& blob, const BlobChunkSink& sink,
                              const ProgressFn& progress = {}, const std::vector<std::string>& urls = {});
  // POST …/blobs/uploads/?mount=DIGEST&from=FROM: true when the registry mounted
  // the blob (201), false when it did not (it then opened an upload, which is
  // cancelled). Errors: transport/status errors other than a refused mount.
  util::Result<bool> mount_blob(const std::string& repository, const store::Digest& digest, const std::string& from);
  // Uploads the file `path` (exactly `blob.size` bytes, digest `blob.digest`):
  // one PUT when it is at most RegistryConfig::upload_chunk_size bytes, PATCH
  // chunks then PUT otherwise (falling back to one PUT when a registry refuses
  // chunks). Errors: status/transport errors after the retries, a digest the
  // registry refuses ("digest invalid").
  util::Result<void> upload_blob(const std::string& repository, const store::Descriptor& blob,
                                 const std::filesystem::path& path, const ProgressFn& progress = {});
  // PUTs a manifest under a tag or digest. Returns the digest of `bytes`.
  util::Result<store::Digest> put_manifest(const std::string& repository, const std::string& reference,
                                           const std::string& bytes, const store::MediaType& media_type);

  struct EndpointState;  // an Endpoint with its Authorizer (client.cpp)

private:
  struct Call;
  util::Result<net::HttpResponse> send(EndpointState& ep, Call& call);
  std::unique_ptr<net::HttpClient> borrow();
  void give_back(std::unique_ptr<net::HttpClient> h);
  util::Result<std::string> start_upload(EndpointState& ep, const std::string& repository,
                                         const std::vector<std::string>& scopes);

  RegistryConfig m_config;
  std::string m_domain;
  bool m_push;
  std::vector<std::unique_ptr<EndpointState>> m_endpoints;  // mirrors (pull only), then the registry
  std::mutex m_pool_mutex;
  std::vector<std::unique_ptr<net::HttpClient>> m_pool;
};

}  // namespace mkimage::registry
