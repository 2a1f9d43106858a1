#include "builder/tty_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>

#include "util/fd.hpp"

namespace mkimage::builder {

namespace {

// A terminal in raw mode while this lives (keys reach the container as typed:
// its own terminal echoes and turns Ctrl-C into SIGINT).
class RawMode {
public:
  explicit RawMode(int fd) {
    if (fd < 0 || !::isatty(fd) || ::tcgetattr(fd, &m_saved) != 0) return;
    termios raw = m_saved;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) m_fd = fd;
  }
  ~RawMode() {
    if (m_fd >= 0) ::tcsetattr(m_fd, TCSANOW, &m_saved);
  }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

private:
  int m_fd = -1;
  termios m_saved{};
};

}  // namespace

void copy_window_size(int in_fd, int master) {
  winsize ws{};
  for (int fd : {in_fd, 1, 2}) {
    if (fd >= 0 && ::isatty(fd) && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
      ::ioctl(master, TIOCSWINSZ, &ws);
      return;
    }
  }
}

namespace {

// Set by SIGWINCH: our terminal's window changed size.
volatile sig_atomic_t g_window_changed = 0;
extern "C" void note_window_change(int) { g_window_changed = 1; }

// Passes window changes on while this lives (when `in_fd` is a terminal).
class WindowWatch {
public:
  explicit WindowWatch(int in_fd) {
    if (in_fd < 0 || !::isatty(in_fd)) return;
    struct sigaction sa{};
    sa.sa_handler = note_window_change;  // no SA_RESTART: poll() wakes up
    sigemptyset(&sa.sa_mask);
    m_installed = ::sigaction(SIGWINCH, &sa, &m_saved) == 0;
  }
  ~WindowWatch() {
    if (m_installed) ::sigaction(SIGWINCH, &m_saved, nullptr);
  }
  WindowWatch(const WindowWatch&) = delete;
  WindowWatch& operator=(const WindowWatch&) = delete;

private:
  bool m_installed = false;
  struct sigaction m_saved{};
};

int exit_code(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int relay_tty(int master_fd, pid_t pid, const TtyRelayIo& io) {
  util::Fd master(master_fd);
  RawMode raw(io.in_fd);
  WindowWatch window(io.in_fd);
  // The process's exit as a readable descriptor (Linux ≥ 5.3), else a 100 ms poll.
  util::Fd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  int in_fd = io.in_fd;
  int code = -1;
  char buf[65536];
  auto reap = [&](int flags) {
    int st = 0;
    pid_t w;
    do {
      w = ::waitpid(pid, &st, flags);
    } while (w < 0 && errno == EINTR);
    if (w == pid) code = exit_code(st);
    else if (w < 0) code = 255;  // not ours to wait for: nothing to report
  };
  auto drained_at = std::chrono::steady_clock::time_point{};
  while (master.fd >= 0) {
    pollfd fds[3] = {{master.fd, POLLIN, 0}, {in_fd, POLLIN, 0}, {code < 0 ? exited.fd : -1, POLLIN, 0}};
    int r = ::poll(fds, 3, code < 0 ? (exited.fd >= 0 ? -1 : 100) : 50);
    if (r < 0 && errno != EINTR) break;
    if (g_window_changed) {
      g_window_changed = 0;
      copy_window_size(io.in_fd, master.fd);
    }
    if (r < 0) continue;
    if (fds[2].revents & POLLIN) reap(0);
    if (code < 0 && exited.fd < 0) reap(WNOHANG);
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master.fd, buf, sizeof buf);
      if (n > 0) {
        if (io.out) io.out(std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n == 0 || (errno != EINTR && errno != EAGAIN)) break;  // EIO: every slave side is closed
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(in_fd, buf, sizeof buf);
      if (n > 0) {
        if (!write_all(master.fd, buf, static_cast<size_t>(n))) in_fd = -1;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_fd = -1;  // our input ended; the container's terminal stays open
      }
    }
    if (code >= 0 && r == 0) {
      // The process has exited and its terminal is quiet; something it left
      // behind may still hold the terminal open: stop after a short drain.
      auto now = std::chrono::steady_clock::now();
      if (drained_at == std::chrono::steady_clock::time_point{}) drained_at = now;
      else if (now - drained_at > std::chrono::milliseconds(200)) break;
    }
  }
  if (code < 0) reap(0);
  return code;
}

}  // namespace mkimage::builder
