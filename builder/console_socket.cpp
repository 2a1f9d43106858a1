#include "builder/console_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

Result<ConsoleSocket> ConsoleSocket::listen(const fs::path& dir) {
  ConsoleSocket s;
  sockaddr_un addr{};
  s.m_path = fs::absolute(dir) / "console.sock";
  if (s.m_path.native().size() >= sizeof addr.sun_path) {
    char tmpl[] = "/tmp/mkimage-console-XXXXXX";
    if (!::mkdtemp(tmpl)) return util::sys_error("mkdtemp", tmpl);
    s.m_private_dir = tmpl;
    s.m_path = s.m_private_dir / "console.sock";
  }
  std::error_code ec;
  fs::remove(s.m_path, ec);
  s.m_listen.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.m_listen.fd < 0) return util::sys_error("socket", s.m_path.string());
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, s.m_path.c_str(), s.m_path.native().size());
  if (::bind(s.m_listen.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return util::sys_error("bind", s.m_path.string());
  if (::listen(s.m_listen.fd, 1) != 0) return util::sys_error("listen", s.m_path.string());
  return s;
}

ConsoleSocket::ConsoleSocket(ConsoleSocket&& o) noexcept
    : m_listen(std::move(o.m_listen)), m_path(std::move(o.m_path)), m_private_dir(std::move(o.m_private_dir)) {
  o.m_path.clear();
  o.m_private_dir.clear();
}

ConsoleSocket::~ConsoleSocket() {
  m_listen.reset();
  std::error_code ec;
  if (!m_path.empty()) fs::remove(m_path, ec);
  if (!m_private_dir.empty()) fs::remove(m_private_dir, ec);
}

Result<util::Fd> ConsoleSocket::receive_master(int timeout_ms) {
  pollfd p{m_listen.fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return Error{"the OCI runtime sent no terminal on " + m_path.string()};
  util::Fd conn(::accept4(m_listen.fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (conn.fd < 0) return util::sys_error("accept", m_path.string());
  char data[256];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(conn.fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return util::sys_error("recvmsg", m_path.string());
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return util::Fd(fd);
    }
  }
  return Error{"the OCI runtime sent no terminal descriptor on " + m_path.string()};
}

}  // namespace mkimage::builder
