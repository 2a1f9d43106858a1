#include "store/digest.hpp"

#include "util/sha256.hpp"

namespace mkimage {

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != 64) return Error{"invalid sha256 digest \"" + std::string(hex) + "\": want 64 hex characters"};
  Digest d;
  for (std::size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      char c = hex[2 * i + k];
      int x;
      if (c >= '0' && c <= '9') x = c - '0';
      else if (c >= 'a' && c <= 'f') x = c - 'a' + 10;
      else return Error{"invalid sha256 digest \"" + std::string(hex) + "\": not lowercase hex"};
      v = v * 16 + x;
    }
    d.m_bytes[i] = static_cast<std::uint8_t>(v);
  }
  d.m_valid = true;
  return d;
}

Result<Digest> Digest::parse(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (text.substr(0, prefix.size()) != prefix) {
    return Error{"unsupported digest \"" + std::string(text) + "\": want sha256:<hex>"};
  }
  return from_hex(text.substr(prefix.size()));
}

Digest Digest::from_bytes(const std::array<std::uint8_t, 32>& bytes) {
  Digest d;
  d.m_bytes = bytes;
  d.m_valid = true;
  return d;
}

Digest Digest::sha256_of(std::string_view bytes) {
  util::Sha256 h;
  h.update(bytes);
  return from_bytes(h.finish());
}

std::string Digest::hex() const { return util::to_hex(m_bytes.data(), m_bytes.size()); }
std::string Digest::str() const { return "sha256:" + hex(); }
std::string Digest::short_id() const { return hex().substr(0, 12); }

}  // namespace mkimage

namespace mkimage::store {


ChainId chain_id_of(const ChainId* parent, const DiffId& diff_id) {
  if (!parent) return ChainId{diff_id.digest};
  return ChainId{Digest::sha256_of(parent->digest.str() + " " + diff_id.digest.str())};
}

}  // namespace mkimage::store
