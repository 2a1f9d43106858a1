// Result<T>: a value or an Error, for operations that can fail in expected ways
// (I/O, bad input). The library returns Result from every call that can fail; a
// caller checks ok() (or `if (r)`) and reads value() / operator* on success or
// error().message on failure. A lookup that may find nothing returns
// Result<std::optional<T>>: a miss is not a failure.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mkimage {

// A failure with a human-readable message. `message` names what failed
// (operation, path, reference, errno text where it applies); a build error's
// message may span lines (the Dockerfile excerpt, the step's last output).
struct Error {
  std::string message;
};

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

}  // namespace mkimage
