// Push: an image from the store to a registry (distribution-spec §Pushing).
// Layers go up in parallel (RegistryConfig::max_concurrent_uploads), each the
// cheapest way the store's distribution metadata allows:
//   1. the target repository has it (HEAD)        → "Layer already exists";
//   2. another repository of the registry has it  → cross-repository mount
//      (POST …/blobs/uploads/?mount=&from=)        → "Mounted from REPO";
//   3. else the layer compressed (once per diff_id and compression, remembered
//      in the store) is uploaded                   → "Pushed".
// Then the config blob, then the OCI image manifest under the tag. The pushed
// manifest's digest becomes a RepoDigest of the image.
#pragma once

#include <cstdint>
#include <string>

#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/events.hpp"
#include "store/reference.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace mkimage::registry {

struct PushOptions {
  const RegistryConfig* config = nullptr;        // required
  const CredentialStore* credentials = nullptr;  // required
  store::Compression compression = store::Compression::gzip;  // for layers not yet compressed
};

struct PushResult {
  store::Digest digest;    // of the pushed manifest
  std::int64_t size = 0;   // manifest bytes
  std::string tag;
};

// Pushes the local image named `local` (any form `Store::resolve` takes) to
// `target` (a tag reference; ":latest" when it has none). Errors name the
// reference and what failed: no such local image ("An image does not exist
// locally with the tag: …"), unauthorized / denied, transport errors.
util::Result<PushResult> push_image(store::Store& store, const std::string& local, const store::Reference& target,
                                    const PushOptions& options, TransferEvents& events);

}  // namespace mkimage::registry
