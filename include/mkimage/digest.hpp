// OCI content digests (image-spec descriptor.md §Digests): "<algorithm>:<encoded>".
// Only sha256 is produced; parse() accepts sha256 only (64 lowercase hex). An
// image ID is the digest of the image's config blob, as docker prints it.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "mkimage/export.hpp"
#include "mkimage/result.hpp"

namespace mkimage {

class MKIMAGE_API Digest {
public:
  Digest() = default;  // the all-zero sha256; check valid() before use

  // Parses "sha256:<64 lowercase hex>". Errors: other algorithms, wrong length, upper case.
  static Result<Digest> parse(std::string_view text);
  // From 64 lowercase hex characters (no "sha256:" prefix).
  static Result<Digest> from_hex(std::string_view hex);
  static Digest from_bytes(const std::array<std::uint8_t, 32>& bytes);
  static Digest sha256_of(std::string_view bytes);

  std::string str() const;        // "sha256:" + hex()
  std::string hex() const;        // 64 lowercase hex
  std::string short_id() const;   // first 12 hex characters (docker's short image ID)
  bool valid() const { return m_valid; }
  // The 32 bytes of the sha256 (what hex() spells).
  const std::array<std::uint8_t, 32>& bytes() const { return m_bytes; }

  bool operator==(const Digest& o) const { return m_bytes == o.m_bytes; }
  auto operator<=>(const Digest& o) const { return m_bytes <=> o.m_bytes; }

private:
  std::array<std::uint8_t, 32> m_bytes{};
  bool m_valid = false;
};

}  // namespace mkimage
