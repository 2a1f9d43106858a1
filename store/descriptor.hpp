// OCI content descriptor (image-spec descriptor.md): media type, digest and
// size of a blob, plus optional annotations and platform (image-spec
// image-index.md §platform). JSON conversion uses the spec's keys
// ("mediaType", "digest", "size", "annotations", "platform").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "store/digest.hpp"
#include "store/media_type.hpp"
#include "util/result.hpp"

namespace mkimage::store {

// image-spec image-index.md §platform.
struct Platform {
  std::string architecture = "amd64";  // GOARCH values
  std::string os = "linux";            // GOOS values
  std::string variant;                 // "" = absent
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  MediaType media_type;
  Digest digest;
  std::int64_t size = 0;  // bytes of the blob as stored (compressed, if it is)
  std::map<std::string, std::string> annotations;  // empty = key omitted
  std::optional<Platform> platform;

  bool operator==(const Descriptor&) const = default;
};

// Well-known annotation keys (image-spec annotations.md).
namespace annotations {
inline constexpr const char* ref_name = "org.opencontainers.image.ref.name";
inline constexpr const char* created = "org.opencontainers.image.created";
// containerd/BuildKit use this on index.json entries for the full name.
inline constexpr const char* containerd_image_name = "io.containerd.image.name";
}  // namespace annotations

nlohmann::json descriptor_to_json(const Descriptor& d);
// Errors: missing or mistyped mediaType/digest/size, invalid digest, negative size.
util::Result<Descriptor> descriptor_from_json(const nlohmann::json& j);

}  // namespace mkimage::store
