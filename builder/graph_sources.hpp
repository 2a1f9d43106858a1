// The builder's side of the build graph's interfaces (graph/sources.hpp), over
// a build session: the one image resolver (resolve_source), the build context
// and --build-context directories (content digests through the stat cache, read
// only) and the store's cache table (read only). Used by `build --dry-run`
// (builder/dry_run.cpp); none of them writes to the store.
#pragma once

#include <map>

#include "builder/build_internal.hpp"
#include "builder/file_listing.hpp"
#include "graph/sources.hpp"

namespace mkimage::builder {

// FROM, COPY --from and RUN --mount from= through resolve_source(): an image
// (its manifest digest), scratch, a directory context (by name). An image the
// store lacks in a dry run is ResolvedRef::unknown (a build would pull it).
class SessionImageSources : public graph::ImageSources {
public:
  explicit SessionImageSources(BuildSession& s) : m_s(s) {}
  util::Result<graph::ResolvedRef> resolve(const std::string& reference) override;

private:
  BuildSession& m_s;
};

// Content digests of the build context ("") or a directory context, as COPY
// and RUN --mount select them; stat-cache hits are used, nothing is written.
// The file list behind each COPY digest is kept, for miss reasons.
class SessionContextDigests : public graph::ContextDigests {
public:
  explicit SessionContextDigests(BuildSession& s);
  util::Result<std::string> copy_digest(const std::string& directory, const parser::CopyInstruction& copy) override;
  util::Result<std::string> mount_digest(const std::string& directory, const std::string& source) override;
  // The entries copy_digest hashed into `digest` (nullptr: no such digest).
  const FileListing* listing(const std::string& digest) const;

private:
  util::Result<const BuildContext*> directory(const std::string& name);
  BuildSession& m_s;
  std::unique_ptr<StatCache> m_stats;  // reads the store's stat cache, never writes it
  std::map<std::string, FileListing> m_listings;  // by selection digest
};

// A key the store's cache holds with its layer still there (as a build's
// lookup would take it), without counting a hit.
class StoreCacheLookup : public graph::CacheLookup {
public:
  explicit StoreCacheLookup(store::Store& store) : m_store(store) {}
  util::Result<bool> usable(const graph::CacheKey& key) override;

private:
  store::Store& m_store;
};

}  // namespace mkimage::builder
