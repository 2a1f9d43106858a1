#include "store/media_type.hpp"

namespace mkimage::store {

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
  }
  return "none";
}

util::Result<Compression> parse_compression(std::string_view text) {
  if (text == "none" || text == "uncompressed") return Compression::none;
  if (text == "gzip") return Compression::gzip;
  if (text == "zstd") return Compression::zstd;
  return util::Error{"unknown compression \"" + std::string(text) + "\": want gzip, zstd or none"};
}

util::Result<MediaType> MediaType::parse(std::string_view text) {
  auto bad = [&](const char* why) {
    return util::Error{"invalid media type \"" + std::string(text) + "\": " + why};
  };
  if (text.empty()) return bad("empty");
  std::string_view main = text.substr(0, text.find(';'));
  auto slash = main.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= main.size()) return bad("want type/subtype");
  for (char c : main) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("space or control character");
  }
  return of(text);
}

bool MediaType::is_layer() const {
  return m_text.starts_with("application/vnd.oci.image.layer.") ||
         m_text.starts_with("application/vnd.docker.image.rootfs.");
}

Compression MediaType::layer_compression() const {
  if (!is_layer()) return Compression::none;
  if (m_text.ends_with("+gzip") || m_text.ends_with(".gzip")) return Compression::gzip;
  if (m_text.ends_with("+zstd")) return Compression::zstd;
  return Compression::none;
}

bool MediaType::is_manifest() const {
  return m_text == media_types::oci_manifest || m_text == media_types::docker_manifest;
}
bool MediaType::is_index() const {
  return m_text == media_types::oci_index || m_text == media_types::docker_manifest_list;
}
bool MediaType::is_config() const {
  return m_text == media_types::oci_config || m_text == media_types::docker_config;
}

MediaType oci_layer_media_type(Compression c) {
  switch (c) {
    case Compression::gzip: return MediaType::of(media_types::oci_layer_gzip);
    case Compression::zstd: return MediaType::of(media_types::oci_layer_zstd);
    case Compression::none: break;
  }
  return MediaType::of(media_types::oci_layer);
}

MediaType docker_layer_media_type(Compression c) {
  switch (c) {
    case Compression::gzip: return MediaType::of(media_types::docker_layer_gzip);
    case Compression::zstd: return MediaType::of(media_types::oci_layer_zstd);
    case Compression::none: break;
  }
  return MediaType::of(media_types::docker_layer);
}

}  // namespace mkimage::store
