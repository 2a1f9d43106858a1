// Random bits for ids and temp names (lease ids, build ids, snapshot suffixes):
// read from the kernel with getrandom(2). std::random_device costs more per
// object than the ids it makes: its constructor probes the CPU (cpuid, which
// traps to the hypervisor on a virtual machine) each time.
#pragma once

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

#include <unistd.h>

namespace mkimage::util {

// 64 random bits. If getrandom fails (it does not for 8 bytes once the pool is
// initialised), a mix of the clock, the pid and a counter: unique enough for a name.
inline std::uint64_t random_u64() {
  std::uint64_t v = 0;
  for (;;) {
    ssize_t n = ::getrandom(&v, sizeof v, 0);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  static std::uint64_t counter = 0;
  auto t = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t x = t ^ (static_cast<std::uint64_t>(::getpid()) << 32) ^ (++counter * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace mkimage::util
