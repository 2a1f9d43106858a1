// OCI content digests (image-spec descriptor.md §Digests): "<algorithm>:<encoded>".
// Only sha256 is produced; parse() accepts sha256 only (64 lowercase hex).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mkimage::store {

class Digest {
public:
  Digest() = default;  // the all-zero sha256; check valid() before use

  // Parses "sha256:<64 lowercase hex>". Errors: other algorithms, wrong length, upper case.
  static util::Result<Digest> parse(std::string_view text);
  // From 64 lowercase hex characters (no "sha256:" prefix).
  static util::Result<Digest> from_hex(std::string_view hex);
  static Digest from_bytes(const std::array<std::uint8_t, 32>& bytes);
  static Digest sha256_of(std::string_view bytes);

  std::string str() const;        // "sha256:" + hex()
  std::string hex() const;        // 64 lowercase hex
  std::string short_id() const;   // first 12 hex characters (docker's short image ID)
  bool valid() const { return m_valid; }

  bool operator==(const Digest& o) const { return m_bytes == o.m_bytes; }
  auto operator<=>(const Digest& o) const { return m_bytes <=> o.m_bytes; }

private:
  std::array<std::uint8_t, 32> m_bytes{};
  bool m_valid = false;
};

// sha256 of the UNcompressed layer tar (image-spec config.md rootfs.diff_ids).
struct DiffId {
  Digest digest;
  bool operator==(const DiffId&) const = default;
};

// Identity of a stack of layers (image-spec config.md §Layer ChainID):
// chain_id(L0) = diff_id(L0); chain_id(L0..n) = sha256(chain_id(L0..n-1) + " " + diff_id(Ln)).
struct ChainId {
  Digest digest;
  bool operator==(const ChainId&) const = default;
};

ChainId chain_id_of(const ChainId* parent, const DiffId& diff_id);

}  // namespace mkimage::store
