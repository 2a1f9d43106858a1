// Streaming SHA-256 (Nettle, FIPS 180-4). Used for digests (store/digest.hpp) and cache keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mkimage::util {

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Finishes and returns the 32-byte digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();
  // Convenience: finish() as 64 lowercase hex characters.
  std::string finish_hex();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// 64 lowercase hex characters of sha256(data).
std::string sha256_hex(std::string_view data);
std::string to_hex(const std::uint8_t* data, std::size_t size);

}  // namespace mkimage::util
