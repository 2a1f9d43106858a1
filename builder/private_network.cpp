// A RUN step's private network namespace with slirp4netns (builder/private_network.hpp).
#include "builder/private_network.hpp"

#include <dirent.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

#include "store/owner.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

constexpr const char* k_name_head = "mkimage-net";
constexpr const char* k_dns = "10.0.2.3";  // slirp4netns's DNS forwarder
const fs::path k_netns_dir = "/run/mkimage/netns";

std::string slirp_binary() {
  const char* env = std::getenv("MKIMAGE_SLIRP4NETNS");
  return env && *env ? env : "slirp4netns";
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::string s;
  if (f) s.assign(std::istreambuf_iterator<char>(f), {});
  return s;
}

// A new network namespace bound to `path` (an existing empty file): a child
// unshares its network namespace and bind-mounts its nsfs file there (the
// mount is in our mount namespace), then exits.
Result<void> make_netns(const fs::path& path) {
  pid_t pid = ::fork();
  if (pid < 0) return util::sys_error("fork", "network namespace");
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) _exit(10);
    if (::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) _exit(11);
    _exit(0);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return Error{std::string("cannot create a network namespace at ") + path.string() + ": " +
                 (WIFEXITED(st) && WEXITSTATUS(st) == 10 ? "unshare" : "bind mount") + " failed"};
  return {};
}

struct Slirp {
  pid_t pid = -1;
};

// fork+exec slirp4netns on `netns`; only async-signal-safe calls in the child.
Result<Slirp> spawn_slirp(const fs::path& netns, int ready_w, int exit_r, int err_w) {
  const std::string bin = slirp_binary();
  const std::string ready_arg = "--ready-fd=" + std::to_string(ready_w);
  const std::string exit_arg = "--exit-fd=" + std::to_string(exit_r);
  std::vector<std::string> argv = {bin, "--configure", "--mtu=65520", "--disable-host-loopback", ready_arg, exit_arg,
                                   "--netns-type=path", netns.string(), "eth0"};
  std::vector<char*> cargv;
  for (auto& x : argv) cargv.push_back(x.data());
  cargv.push_back(nullptr);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    if (devnull >= 0) ::close(devnull);
    return util::sys_error("fork", bin, e);
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_IGN);  // its stderr pipe is closed once it runs
    signal(SIGINT, SIG_IGN);   // a terminal's Ctrl-C is mkimage's to handle; we stop it
    setpgid(0, 0);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);  // it prints "sent tapfd=…"
    }
    dup2(err_w, 2);
    fcntl(ready_w, F_SETFD, 0);
    fcntl(exit_r, F_SETFD, 0);
    execvp(cargv[0], cargv.data());
    _exit(errno == ENOENT ? 127 : 126);
  }
  if (devnull >= 0) ::close(devnull);
  return Slirp{pid};
}

// Waits (up to 10 s) for slirp4netns's ready byte. On failure: its exit
// status and stderr text as the error.
Result<void> wait_ready(pid_t pid, int ready_r, int err_r) {
  pollfd p{ready_r, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 10000);
  } while (r < 0 && errno == EINTR);
  char c = 0;
  if (r == 1 && ::read(ready_r, &c, 1) == 1) return {};
  ::kill(pid, SIGKILL);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
    return Error{"slirp4netns not found: RUN steps get a private network through it: install the package "
                 "slirp4netns, or build with --network=host"};
  std::string err;
  ::fcntl(err_r, F_SETFL, O_NONBLOCK);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(err_r, buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
  std::string reason;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.rfind("WARNING", 0) != 0) reason += (reason.empty() ? "" : "; ") + line;
  return Error{"slirp4netns could not set up the RUN network" +
               (reason.empty() ? r == 0 ? std::string(" (no answer in 10 s)") : std::string() : ": " + reason)};
}

}  // namespace

std::string PrivateNetwork::container_resolv_conf(const std::string& host_text) {
  std::string out;
  bool nameserver = false;
  std::istringstream in(host_text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "nameserver") {
      bool loopback = value.rfind("127.", 0) == 0 || value == "::1";
      bool ipv6 = value.find(':') != std::string::npos;
      if (loopback || ipv6) continue;
      nameserver = true;
    }
    out += line + "\n";
  }
  if (!nameserver) out += std::string("nameserver ") + k_dns + "\n";
  return out;
}

Result<std::unique_ptr<PrivateNetwork>> PrivateNetwork::start() {
  std::unique_ptr<PrivateNetwork> net(new PrivateNetwork());
  std::error_code ec;
  fs::create_directories(k_netns_dir, ec);
  if (ec) return util::sys_error("mkdir", k_netns_dir.string(), ec.value());
  std::string tmpl = (k_netns_dir / (std::string(k_name_head) + "-" + store::owner_tag() + "-XXXXXX")).string();
  {
    UninterruptibleScope section;  // the guard is registered before the file exists
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return util::sys_error("create", tmpl);
    ::close(fd);
    net->m_netns = tmpl;
    net->m_guard = CleanupGuard([p = net.get()] { p->teardown(); });
  }
  MKIMAGE_TRY_VOID(make_netns(net->m_netns));

  int ready[2], exit_pipe[2], err[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return util::sys_error("pipe", "slirp4netns");
  if (::pipe2(exit_pipe, O_CLOEXEC) != 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    return util::sys_error("pipe", "slirp4netns");
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    for (int fd : {ready[0], ready[1], exit_pipe[0], exit_pipe[1]}) ::close(fd);
    return util::sys_error("pipe", "slirp4netns");
  }
  Result<Slirp> slirp = Error{""};
  {
    UninterruptibleScope section;  // an interrupt finds the pid set for teardown
    slirp = spawn_slirp(net->m_netns, ready[1], exit_pipe[0], err[1]);
    if (slirp.ok()) {
      std::lock_guard lock(net->m_mu);
      net->m_slirp_pid = slirp->pid;
      net->m_exit_fd = exit_pipe[1];
    }
  }
  ::close(ready[1]);
  ::close(exit_pipe[0]);
  ::close(err[1]);
  if (!slirp.ok()) {
    for (int fd : {ready[0], exit_pipe[1], err[0]}) ::close(fd);
    return slirp.error();
  }
  net->m_ready_fd = ready[0];
  net->m_err_fd = err[0];
  net->m_resolv = container_resolv_conf(read_file("/etc/resolv.conf"));
  return net;
}

Result<void> PrivateNetwork::ready() {
  if (m_ready_fd < 0) return m_ready_error ? Result<void>(*m_ready_error) : Result<void>();
  pid_t pid;
  {
    std::lock_guard lock(m_mu);
    pid = m_slirp_pid;
  }
  if (pid <= 0) return Error{"the RUN network was torn down before it was ready"};
  auto up = wait_ready(pid, m_ready_fd, m_err_fd);
  ::close(m_ready_fd);
  ::close(m_err_fd);
  m_ready_fd = m_err_fd = -1;
  if (!up.ok()) {
    std::lock_guard lock(m_mu);
    m_slirp_pid = 0;  // reaped by wait_ready
    m_ready_error = up.error();
    return up.error();
  }
  return {};
}

Result<std::unique_ptr<PrivateNetwork>> PrivateNetwork::create() {
  MKIMAGE_TRY(std::unique_ptr<PrivateNetwork> net, start());
  MKIMAGE_TRY_VOID(net->ready());
  return net;
}

PrivateNetwork::~PrivateNetwork() {
  teardown();
  m_guard.release();
  if (m_ready_fd >= 0) ::close(m_ready_fd);
  if (m_err_fd >= 0) ::close(m_err_fd);
}

namespace {

// Waits for a slirp4netns told to exit (its --exit-fd closed) and reaps it;
// SIGKILL when it lingers past 1 s.
void reap_slirp(pid_t pid) {
  int st = 0;
  for (int i = 0; i < 200; ++i) {
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

void PrivateNetwork::teardown() {
  std::lock_guard lock(m_mu);
  if (m_torn_down) return;
  m_torn_down = true;
  // End of file on --exit-fd stops slirp4netns.
  if (m_exit_fd >= 0) ::close(m_exit_fd);
  m_exit_fd = -1;
  // The namespace file goes at once: slirp4netns holds the namespace by its
  // tap device until it has exited.
  if (!m_netns.empty()) {
    ::umount2(m_netns.c_str(), MNT_DETACH);
    ::unlink(m_netns.c_str());
  }
  if (m_slirp_pid > 0) {
    // Its exit takes ~20 ms after it stopped (the kernel unregisters the tap
    // device and waits for RCU grace periods): reaped by a thread of its own
    // rather than on the step's path. A thread, not a list reaped later, so
    // that an embedding process is left no zombie.
    pid_t pid = m_slirp_pid;
    m_slirp_pid = 0;
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) != pid) {
      try {
        std::thread(reap_slirp, pid).detach();
      } catch (const std::system_error&) {
        reap_slirp(pid);  // no thread to be had: wait here
      }
    }
  }
}

void PrivateNetwork::remove_orphans() {
  std::vector<std::string> dead;
  if (DIR* d = ::opendir(k_netns_dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      auto owner = store::parse_temp_name(e->d_name, /*legacy=*/false);
      if (owner && owner->head == k_name_head && store::owner_is_dead(*owner)) dead.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  for (const auto& name : dead) {
    fs::path netns = k_netns_dir / name;
    ::umount2(netns.c_str(), MNT_DETACH);
    ::unlink(netns.c_str());
  }
}

}  // namespace mkimage::builder
