// The side effects the build graph needs, behind narrow interfaces: resolving
// image references, the content digests of directory files, and the store's
// cache lookups. The builder implements them over the store and the build
// context (builder/graph_sources.cpp); tests implement them in memory
// (tests/graph/). Nothing here executes a step or writes anything.
#pragma once

#include <string>

#include "graph/cache_key.hpp"
#include "parser/instructions.hpp"
#include "util/result.hpp"

namespace mkimage::graph {

// What an image reference (FROM, COPY --from, RUN --mount from=) names, as far
// as cache keys need it.
struct ResolvedRef {
  enum class Kind {
    image,      // keyed by `manifest_digest`
    scratch,    // an empty image
    directory,  // a directory named by --build-context (`directory` = its name)
    unknown,    // cannot be known without a side effect the caller refused (a pull): `why`
  };
  Kind kind = Kind::image;
  std::string manifest_digest;  // "sha256:…"
  std::string directory;
  std::string why;
};

// The one resolver of a build's image references. Errors: a reference that
// cannot be resolved at all (BuildKit's "failed to resolve source metadata for …").
class ImageSources {
public:
  virtual ~ImageSources() = default;
  virtual util::Result<ResolvedRef> resolve(const std::string& reference) = 0;
};

// Content digests of the files a step reads from a directory: the build
// context (`directory` "") or a directory named by --build-context.
class ContextDigests {
public:
  virtual ~ContextDigests() = default;
  // COPY/ADD from a directory: the digest of what `copy` selects ("sha256:…").
  // Errors: the copy's own (a source not found, …).
  virtual util::Result<std::string> copy_digest(const std::string& directory, const parser::CopyInstruction& copy) = 0;
  // RUN --mount from a directory: the digest of `source` ("" = the whole directory).
  virtual util::Result<std::string> mount_digest(const std::string& directory, const std::string& source) = 0;
};

// The store's cache, read only: whether a build would take `key` from it (an
// entry whose layer is still there). Looking counts no hit and writes nothing.
class CacheLookup {
public:
  virtual ~CacheLookup() = default;
  virtual util::Result<bool> usable(const CacheKey& key) = 0;
};

}  // namespace mkimage::graph
