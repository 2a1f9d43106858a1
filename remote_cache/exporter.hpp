// Writing a cache export (`--cache-to`; format in remote_cache/format.hpp).
//
// Registry exports are incremental: one GET of the manifest the ref holds; a
// layer that manifest lists already costs nothing, one another repository of the
// same registry holds is mounted, any other is checked with a HEAD (in parallel)
// and uploaded only when missing; the manifest is PUT only when its digest
// changed — a no-op export is one manifest GET. Layer blobs are compressed once
// per diff_id and compression (the store remembers them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "remote_cache/format.hpp"
#include "remote_cache/importer.hpp"
#include "store/store.hpp"

namespace mkimage::remote_cache {

// The contents of a cache mount to export: an uncompressed tar layer already in
// the store (the builder writes it).
struct MountLayer {
  std::string id;
  store::DiffId diff_id;
};

struct ExportInput {
  std::vector<Record> records;        // what the build exports (its mode's steps)
  std::vector<MountLayer> mounts;     // mounts=true
  store::Compression compression = store::Compression::gzip;
  // Cache mounts hold mostly compressed files (npm tarballs, .deb, wheels): zstd
  // costs little on both ends where gzip would spend seconds for nothing.
  store::Compression mount_compression = store::Compression::zstd;
  const Importer* importer = nullptr; // layers remote hits left where they were
  // Makes the uncompressed layer present in the store (a remote hit's layer).
  std::function<util::Result<void>(const store::DiffId&)> materialize;
  std::function<void(const std::string&)> log;  // a line of progress
};

struct ExportReport {
  store::Digest manifest;          // the manifest the ref now holds
  bool unchanged = false;          // the ref held this manifest already: nothing written
  std::size_t layers = 0;          // layers the export lists
  std::size_t uploaded = 0;        // blobs uploaded (layers and config)
  std::size_t mounted = 0;         // layers mounted from another repository
  std::int64_t bytes_uploaded = 0; // bytes of the uploaded blobs
};

// Errors: name the ref and what failed (credentials, transport, a layer the store
// cannot provide).
util::Result<ExportReport> export_to_registry(store::Store& store, const registry::RegistryConfig& config,
                                              const registry::CredentialStore& credentials, const std::string& ref,
                                              const ExportInput& input);
// Writes (or updates) an OCI image layout at `dir`: blobs/sha256/*, index.json
// (one manifest, annotation org.opencontainers.image.ref.name=latest), oci-layout.
// Files are written to temporary names and renamed. Errors: I/O naming the path.
util::Result<ExportReport> export_to_layout(store::Store& store, const std::filesystem::path& dir,
                                            const ExportInput& input);

}  // namespace mkimage::remote_cache
