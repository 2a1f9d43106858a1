// An owned file descriptor: closed when the owner goes away (move-only).
// `fd` is -1 when nothing is owned; reset() closes what is owned, release()
// hands it over without closing.
#pragma once

#include <unistd.h>

namespace mkimage::util {

struct Fd {
  int fd = -1;

  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd = o.fd;
      o.fd = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }

  // Closes what is owned (if anything) and owns `f` instead.
  void reset(int f = -1) {
    if (fd >= 0) ::close(fd);
    fd = f;
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

}  // namespace mkimage::util
