// OCI and Docker media types (image-spec media-types.md; Docker image manifest
// v2 schema 2). A MediaType is an open value: any well-formed "type/subtype"
// string is kept as is, so manifests written by other tools round-trip; the
// constants below are the ones mkimage produces or recognises.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mkimage::store {

// How a layer blob is compressed (image-spec layer.md §Distributable format).
enum class Compression { none, gzip, zstd };

// "none", "gzip", "zstd" (the names used in SQL rows and `--compression`).
std::string_view compression_name(Compression c);
// Inverse of compression_name(). Errors: any other text.
util::Result<Compression> parse_compression(std::string_view text);

class MediaType {
public:
  MediaType() = default;  // empty: "no media type" (e.g. a docker-archive entry)
  // Accepts RFC 6838 "type/subtype[+suffix]" (optionally with "; params").
  // Errors: empty text, missing '/', spaces or control characters.
  static util::Result<MediaType> parse(std::string_view text);
  // For literals known to be valid (the constants below); no checking.
  static MediaType of(std::string_view text) { MediaType m; m.m_text = std::string(text); return m; }

  const std::string& str() const { return m_text; }
  bool empty() const { return m_text.empty(); }

  // True for any OCI or Docker layer media type (tar, tar+gzip, tar+zstd,
  // non-distributable variants, docker rootfs.diff.tar[.gzip]).
  bool is_layer() const;
  // The compression of a layer media type; Compression::none for anything else.
  Compression layer_compression() const;
  bool is_manifest() const;  // OCI or Docker image manifest
  bool is_index() const;     // OCI image index or Docker manifest list
  bool is_config() const;    // OCI or Docker image config

  bool operator==(const MediaType&) const = default;
  auto operator<=>(const MediaType&) const = default;

private:
  std::string m_text;
};

namespace media_types {
// image-spec media-types.md
inline constexpr std::string_view oci_layout_version = "1.0.0";  // oci-layout imageLayoutVersion
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// Docker image manifest v2 schema 2 (docker-archive, `--format docker`)
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media_types

// The OCI layer media type for a compression (tar, tar+gzip, tar+zstd).
MediaType oci_layer_media_type(Compression c);
// The Docker layer media type for a compression. zstd has none in Docker
// schema 2, so zstd maps to the OCI tar+zstd type (what BuildKit does).
MediaType docker_layer_media_type(Compression c);

}  // namespace mkimage::store
