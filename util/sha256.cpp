#include "util/sha256.hpp"

#include <nettle/sha2.h>

namespace mkimage::util {

// Nettle, not OpenSSL: libarchive already loads libnettle, and SHA-256 there
// needs no initialisation, while loading libcrypto and initialising its default
// provider on the first EVP digest cost about 5 ms per process (a quarter of a
// fully cached rebuild). Nettle 3.8 uses the SHA-NI instructions when the CPU
// has them.
struct Sha256::Impl {
  sha256_ctx ctx;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) { sha256_init(&m_impl->ctx); }

Sha256::~Sha256() = default;

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  sha256_update(&m_impl->ctx, size, static_cast<const std::uint8_t*>(data));
}

std::array<std::uint8_t, 32> Sha256::finish() {
  std::array<std::uint8_t, 32> out{};
  sha256_digest(&m_impl->ctx, out.size(), out.data());
  return out;
}

std::string Sha256::finish_hex() {
  auto d = finish();
  return to_hex(d.data(), d.size());
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  static const char* k_hex = "0123456789abcdef";
  std::string s;
  s.resize(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    s[2 * i] = k_hex[data[i] >> 4];
    s[2 * i + 1] = k_hex[data[i] & 15];
  }
  return s;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish_hex();
}

}  // namespace mkimage::util
