#include "builder/stdin_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace mkimage::builder {

util::Result<std::unique_ptr<StdinRelay>> StdinRelay::start(const std::filesystem::path& fifo, int from_fd) {
  // Non-blocking: no reader is ENXIO at once, and a full FIFO never blocks a stop.
  int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open the container's stdin", fifo.string());
  ::signal(SIGPIPE, SIG_IGN);
  return std::unique_ptr<StdinRelay>(new StdinRelay(fd, from_fd));
}

StdinRelay::StdinRelay(int fifo_fd, int from_fd) : m_fifo(fifo_fd), m_from(from_fd) {
  m_thread = std::thread([this] { copy(); });
}

StdinRelay::~StdinRelay() {
  m_stop = true;
  if (m_thread.joinable()) m_thread.join();
  if (m_fifo >= 0) ::close(m_fifo);
}

void StdinRelay::copy() {
  char buf[16384];
  // Polls with a timeout: a stop is seen within 100 ms while nothing comes.
  auto wait_for = [this](int fd, short events) {
    while (!m_stop) {
      pollfd p{fd, events, 0};
      int r = ::poll(&p, 1, 100);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
    return false;
  };
  while (wait_for(m_from, POLLIN)) {
    ssize_t n = ::read(m_from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF: this writer is done
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(m_fifo, buf + off, static_cast<size_t>(n - off));
      if (w > 0) {
        off += w;
      } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait_for(m_fifo, POLLOUT)) return;
      } else {
        return;  // EPIPE: the container has gone
      }
    }
  }
  ::close(m_fifo);
  m_fifo = -1;
}

}  // namespace mkimage::builder
