// The shared build cache format, version 1 (docs/remote-cache.md).
//
// A cache export is an OCI image manifest (image-spec manifest.md, with the OCI
// 1.1 `artifactType` k_artifact_type) whose config blob (media type
// k_config_media_type) is a RecordSet in JSON and whose layers are the layer
// blobs the records lead to, in the order of RecordSet::layers. A registry holds
// it under a tag (`--cache-to type=registry,ref=REF`); a directory holds it as an
// OCI image layout (`type=local`). `type=inline` puts the records (no `layers`:
// an inline record's diff_id names a layer of the image itself) into the image
// config under k_inline_config_key.
//
// A record maps a step's cache key (docs/cache-keys.md) to what the step gave:
// the diff_id of its layer (none when the step changed no file) and the time of
// its history entry — exactly what a local cache row holds, so a remote hit
// gives the same image ID as the build that exported it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/descriptor.hpp"
#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::remote_cache {

inline constexpr int k_format_version = 1;
inline constexpr std::string_view k_artifact_type = "application/vnd.mkimage.cache.v1";
inline constexpr std::string_view k_config_media_type = "application/vnd.mkimage.cache.config.v1+json";
inline constexpr std::string_view k_inline_config_key = "mkimage.cache.v1";

// One step result: cache key → layer (or none) and history time.
struct Record {
  std::string key;                       // "sha256:<hex>"
  std::optional<store::DiffId> diff_id;  // nullopt: the step changed no file
  std::string created;                   // RFC 3339, the history entry's time
  bool operator==(const Record&) const = default;
};

// A layer blob of the export: its diff_id, and its blob as the manifest lists it
// (compressed; position i of RecordSet::layers is position i of the manifest's layers).
struct Layer {
  store::DiffId diff_id;
  store::Descriptor blob;
  std::int64_t size = 0;  // uncompressed bytes (0 = unknown)
  bool operator==(const Layer&) const = default;
};

// The contents of a `RUN --mount=type=cache` directory (`mounts=true`): a tar
// layer among `layers` (by index).
struct Mount {
  std::string id;  // the mount's id (its target when the Dockerfile gives none)
  std::size_t layer = 0;
  bool operator==(const Mount&) const = default;
};

struct RecordSet {
  int version = k_format_version;
  std::vector<Record> records;  // sorted by key, one per key
  std::vector<Layer> layers;    // the export's blobs (empty for inline)
  std::vector<Mount> mounts;
  bool operator==(const RecordSet&) const = default;
};

// Canonical JSON (records sorted by key, keys sorted), so an unchanged cache
// gives the same config blob and manifest digest on every export.
std::string serialize(const RecordSet& set);
// Errors: not JSON, a version other than k_format_version ("cache format version
// N is not supported (this mkimage reads version 1)"), malformed records or
// layers, a mount naming a layer that does not exist.
util::Result<RecordSet> parse_record_set(std::string_view json);

// The cache manifest over a serialized RecordSet `config_bytes` (canonical JSON).
std::string manifest_json(const RecordSet& set, const std::string& config_bytes);
// Checks a fetched manifest is a cache manifest of this format: its config media
// type, and layers equal to the set's. Returns the config descriptor.
// Errors: "not an mkimage cache manifest (config media type …)".
util::Result<store::Descriptor> cache_manifest_config(std::string_view manifest_bytes);
util::Result<void> check_layers(std::string_view manifest_bytes, const RecordSet& set);

}  // namespace mkimage::remote_cache
