// Where an imported cache is read from (docs/remote-cache.md): a registry
// repository under a tag or digest (`--cache-from type=registry,ref=REF`) or an OCI
// image layout directory (`type=local,src=DIR`). A source hands out the cache
// manifest, small blobs (the record set, an image config) and layer blobs, each
// verified against its digest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/events.hpp"
#include "remote_cache/format.hpp"
#include "store/reference.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace mkimage::registry {
class Client;
}

namespace mkimage::remote_cache {

// The largest record set or image config read (bytes).
constexpr std::size_t k_max_config_bytes = 32 << 20;

struct FetchedDocument {
  std::string bytes;
  store::Digest digest;
};

class Source {
public:
  virtual ~Source() = default;
  // Shown to the user: "127.0.0.1:5000/app:cache", "local:/srv/cache".
  virtual std::string name() const = 0;
  // The manifest the source points at; nullopt when there is none (a tag the
  // registry does not know, a directory without index.json: a first build).
  // An index is resolved to its linux/amd64 entry. Errors: transport, malformed.
  virtual util::Result<std::optional<FetchedDocument>> manifest() = 0;
  // A small blob (at most k_max_config_bytes), verified against its digest.
  virtual util::Result<std::string> small_blob(const store::Descriptor& blob) = 0;
  // Downloads a layer blob into the store as the uncompressed layer `diff_id`
  // (both digests verified; nothing stored on a mismatch). Returns its size.
  virtual util::Result<std::int64_t> fetch_layer(store::Store& store, const store::Descriptor& blob,
                                                 const store::DiffId& diff_id, registry::TransferEvents& events) = 0;
  // The registry and repository of a registry source ("" for a directory).
  virtual std::string registry_domain() const { return {}; }
  virtual std::string repository() const { return {}; }
};

// Errors: an invalid reference, the credential store's.
util::Result<std::unique_ptr<Source>> registry_source(const registry::RegistryConfig& config,
                                                      const registry::CredentialStore& credentials,
                                                      const std::string& ref);
std::unique_ptr<Source> layout_source(const std::filesystem::path& dir);

// The records a source holds: an mkimage cache manifest (its record set, layers
// checked against the manifest), or an image whose config carries inline records
// (their layers are the image's, matched by diff_id). nullopt when the source
// holds nothing. Errors: an unknown format version, a truncated or malformed
// manifest or record set, an image without cache records.
util::Result<std::optional<RecordSet>> read_records(Source& source);

}  // namespace mkimage::remote_cache
