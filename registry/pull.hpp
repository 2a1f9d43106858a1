// Pull: an image from a registry into the store (distribution-spec §Pulling).
//   1. GET the manifest by tag or digest; an OCI index or docker manifest list
//      yields the entry for the wanted platform (image-spec image-index.md §platform).
//   2. The config blob, verified against its digest, is stored as its bytes: the
//      image ID is the registry's (docker's) image ID.
//   3. Layers whose diff_id the store has already are skipped; the others
//      download in parallel (RegistryConfig::max_concurrent_downloads), each
//      streamed once: hashed against the layer descriptor's digest, decompressed
//      (gzip, zstd, none) and hashed against the config's diff_id on the way
//      into an uncompressed layer blob. A mismatch stores nothing. A dropped
//      connection resumes with Range.
//   4. The image is recorded with a local OCI manifest over the uncompressed
//      layers, its RepoDigest (repository@digest of what the registry served) and
//      the layers' registry locations (for later pushes), and tagged.
#pragma once

#include <string>
#include <vector>

#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/events.hpp"
#include "store/descriptor.hpp"
#include "store/reference.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace mkimage::registry {

struct PullOptions {
  const RegistryConfig* config = nullptr;           // required
  const CredentialStore* credentials = nullptr;     // required
  store::Platform platform;                         // default linux/amd64
};

struct PullResult {
  store::Image image;
  store::Reference repo_digest;  // "docker.io/library/node@sha256:…" (the index's digest for a multi-platform image)
  bool downloaded = false;       // false: the store had the image already ("Image is up to date")
};

// Pulls `ref` (a tag or digest reference) and tags it when it has a tag and no
// digest; says "TAG: Pulling from PATH" through `events` once the manifest is found. Errors
// name the reference and what failed: unknown host, refused connection,
// unauthorized, manifest unknown, a manifest over 4 MiB, malformed JSON, an
// unsupported media type, no manifest for the platform, digest mismatch.
util::Result<PullResult> pull_image(store::Store& store, const store::Reference& ref, const PullOptions& options,
                                    TransferEvents& events);

class Client;
// Downloads one layer blob of `repository` into the store as an uncompressed
// layer blob named by its diff_id (step 3 above): the bytes are hashed against
// blob.digest and, decompressed, against diff_id; a mismatch stores nothing.
// `urls` (foreign layers) are tried first. Returns the uncompressed size.
// Errors name the layer: transport, digest mismatch, corrupt compression.
util::Result<std::int64_t> fetch_layer_blob(Client& client, store::Store& store, const std::string& repository,
                                            const store::Descriptor& blob, const store::DiffId& diff_id,
                                            TransferEvents& events, const std::vector<std::string>& urls = {});

// The entry of an index for `platform`: os and architecture equal, variant equal
// when the platform names one (else the entry without a variant, or the first).
// nullopt when there is none.
std::optional<store::Descriptor> select_platform(const store::ImageIndex& index, const store::Platform& platform);

}  // namespace mkimage::registry
