#include "builder/port_forward.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace mkimage::builder {
using util::Error;
using util::Result;

Result<std::unique_ptr<PortForwarder>> PortForwarder::listen(const std::string& host_ip, std::uint16_t host_port,
                                                             std::uint16_t container_port) {
  std::unique_ptr<PortForwarder> f(new PortForwarder());
  std::string where = host_ip + ":" + std::to_string(host_port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(host_port);
  if (inet_pton(AF_INET, host_ip.c_str(), &addr.sin_addr) != 1) return Error{"bad host address \"" + host_ip + "\""};
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return util::sys_error("socket", where);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    int e = errno;
    ::close(fd);
    return util::sys_error("listen", where, e);
  }
  f->m_listen_fd = fd;
  f->m_container_port = container_port;
  if (pipe2(f->m_stop_pipe, O_CLOEXEC) != 0) return util::sys_error("pipe", where);
  return f;
}

PortForwarder::~PortForwarder() {
  stop();
  for (int* fd : {&m_listen_fd, &m_netns_fd, &m_stop_pipe[0], &m_stop_pipe[1]})
    if (*fd >= 0) ::close(*fd);
}

Result<void> PortForwarder::start(int pid) {
  std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
  m_netns_fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  if (m_netns_fd < 0) return util::sys_error("open", ns);
  m_thread = std::thread([this] { accept_loop(); });
  return {};
}

void PortForwarder::stop() {
  if (m_stop_pipe[1] >= 0) {
    [[maybe_unused]] auto n = ::write(m_stop_pipe[1], "x", 1);
  }
  if (m_thread.joinable()) m_thread.join();
  // Relays see the stop pipe readable and end; wait for them (bounded).
  for (int i = 0; i < 200 && m_active.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (m_listen_fd >= 0) {
    ::close(m_listen_fd);
    m_listen_fd = -1;
  }
}

namespace {

// Copies both ways until both sides are closed or `stop_fd` is readable.
void relay(int a, int b, int stop_fd) {
  bool a_open = true, b_open = true;  // readable sides
  char buf[65536];
  while (a_open || b_open) {
    pollfd fds[3] = {{a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents) break;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? a_open : b_open) = false;
        ::shutdown(to, SHUT_WR);
        continue;
      }
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) {
          a_open = b_open = false;
          break;
        }
        off += w;
      }
    }
  }
  ::close(a);
  ::close(b);
}

}  // namespace

void PortForwarder::accept_loop() {
  // This thread lives in the container's network namespace from here on;
  // the listening socket stays in the host's.
  if (::setns(m_netns_fd, CLONE_NEWNET) != 0) return;
  while (true) {
    pollfd fds[2] = {{m_listen_fd, POLLIN, 0}, {m_stop_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int client = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(m_container_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (upstream >= 0) ::close(upstream);
      ::close(client);
      continue;
    }
    ++m_active;
    int stop_fd = m_stop_pipe[0];
    std::thread([this, client, upstream, stop_fd] {
      relay(client, upstream, stop_fd);
      --m_active;
    }).detach();
  }
}

}  // namespace mkimage::builder
