// The library's Result<T> and Error (include/mkimage/result.hpp) under their
// internal names, sys_error, and the MKIMAGE_TRY macros. Lower layers return
// Result; the CLI prints the error and maps it to an exit status.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "mkimage/result.hpp"

namespace mkimage::util {

using mkimage::Error;
template <typename T>
using Result = mkimage::Result<T>;

// Error for a failed system call: `<what> "<path>": <strerror(errno)>`.
inline Error sys_error(const std::string& what, const std::string& path, int err = errno) {
  return Error{what + " \"" + path + "\": " + std::strerror(err)};
}

}  // namespace mkimage::util

// Propagates an error: `MKIMAGE_TRY(auto x, f());` or `MKIMAGE_TRY_VOID(g());`.
#define MKIMAGE_CONCAT_(a, b) a##b
#define MKIMAGE_CONCAT(a, b) MKIMAGE_CONCAT_(a, b)
#define MKIMAGE_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                      \
  if (!tmp.ok()) return tmp.error();      \
  decl = std::move(tmp).value()
#define MKIMAGE_TRY(decl, expr) MKIMAGE_TRY_IMPL(MKIMAGE_CONCAT(mkimage_try_, __LINE__), decl, expr)
#define MKIMAGE_TRY_VOID(expr)                                               \
  do {                                                                       \
    auto mkimage_try_v = (expr);                                             \
    if (!mkimage_try_v.ok()) return mkimage_try_v.error();                   \
  } while (0)
