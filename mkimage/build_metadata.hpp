// `mkimage build --metadata-file FILE`: buildx's build result metadata as JSON
// (docs/history.md):
//   "buildx.build.ref"             the build's id in the build history
//   "containerimage.config.digest" the image ID (config digest)
//   "containerimage.digest"        the manifest digest
//   "containerimage.descriptor"    the manifest's descriptor {mediaType, digest, size}
//   "image.name"                   the tags, full form, comma-separated (when tagged)
//   "mkimage.build.steps"          [{number, name, outcome, duration_ms, cache_key}], outcome
//                                  CACHED | remote-cached | run
// The file is written atomically (a temp file renamed over it).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "mkimage/build.hpp"
#include "store/store.hpp"

namespace mkimage::cli {

// The metadata of a finished build; the manifest's size and media type come
// from the store's index.
nlohmann::json build_metadata(const BuildResult& result, store::Store& store);

// Writes build_metadata() to `path` atomically. Errors: the write's.
util::Result<void> write_build_metadata(const std::filesystem::path& path, const BuildResult& result,
                                        store::Store& store);

}  // namespace mkimage::cli
