#include "store/digest.hpp"

#include <array>
#include <cstdint>

#include "util/sha256.hpp"

namespace mkimage {

namespace {

// Value of a lowercase hex digit, or -1 (upper case is not accepted).
constexpr std::array<std::int8_t, 256> hex_values() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
  return t;
}
constexpr auto k_hex_values = hex_values();

}  // namespace

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != 64) return Error{"invalid sha256 digest \"" + std::string(hex) + "\": want 64 hex characters"};
  Digest d;
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = k_hex_values[static_cast<unsigned char>(hex[2 * i])];
    int lo = k_hex_values[static_cast<unsigned char>(hex[2 * i + 1])];
    if ((hi | lo) < 0) return Error{"invalid sha256 digest \"" + std::string(hex) + "\": not lowercase hex"};
    d.m_bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
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
