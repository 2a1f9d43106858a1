// Result<T>: a value or an Error, for operations that can fail in expected ways
// (I/O, bad input). Lower layers return Result; the CLI prints the error and maps
// it to an exit status. A lookup that may find nothing returns Result<std::optional<T>>:
// a miss is not a failure.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mkimage::util {

// A failure with a human-readable message. `message` is one line, no trailing
// newline, and names what failed (operation, path, errno text where it applies).
struct Error {
  std::string message;
};

// Error for a failed system call: `<what> "<path>": <strerror(errno)>`.
inline Error sys_error(const std::string& what, const std::string& path, int err = errno) {
  return Error{what + " \"" + path + "\": " + std::strerror(err)};
}

template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(m_v); }

private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}
  bool ok() const { return !m_error.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *m_error; }

private:
  std::optional<Error> m_error;
};

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
