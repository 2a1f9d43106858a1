#include "builder/ssh_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace mkimage {

util::Result<SshSource> parse_ssh_spec(std::string_view text) {
  SshSource out;
  auto eq = text.find('=');
  out.id = std::string(text.substr(0, eq));
  if (out.id.empty()) return util::Error{"invalid ssh spec \"" + std::string(text) + "\": empty id"};
  if (eq == std::string_view::npos) return out;
  std::string rest(text.substr(eq + 1));
  std::stringstream ss(rest);
  std::string p;
  while (std::getline(ss, p, ',')) {
    if (p.empty()) return util::Error{"invalid ssh spec \"" + std::string(text) + "\": empty path"};
    out.paths.emplace_back(p);
  }
  if (out.paths.empty()) return util::Error{"invalid ssh spec \"" + std::string(text) + "\": empty path"};
  return out;
}

}  // namespace mkimage

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

constexpr std::uint32_t k_max_message = 256 * 1024;  // OpenSSH's agent limit
constexpr unsigned char k_agent_failure = 5;

// Runs `argv` with `env_extra` added, stdin from /dev/null, stdout and stderr
// into `output` (a file). Returns the child's pid.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra,
                    const fs::path& output) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    // No passphrase prompts: a key that needs one fails instead of waiting.
    if (v.rfind("SSH_AUTH_SOCK=", 0) == 0 || v.rfind("DISPLAY=", 0) == 0 || v.rfind("SSH_ASKPASS", 0) == 0) continue;
    env.emplace_back(v);
  }
  env.insert(env.end(), env_extra.begin(), env_extra.end());
  env.emplace_back("SSH_ASKPASS_REQUIRE=never");
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return util::sys_error("start", argv[0], rc);
  return pid;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool is_unix_socket(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Reads exactly n bytes; false on EOF or error.
bool read_full(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_full(int fd, const void* buf, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(buf);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// One agent-protocol message: 4-byte big-endian length, then that many bytes.
bool read_message(int fd, std::vector<unsigned char>& msg) {
  unsigned char len[4];
  if (!read_full(fd, len, 4)) return false;
  std::uint32_t n = (std::uint32_t{len[0]} << 24) | (std::uint32_t{len[1]} << 16) | (std::uint32_t{len[2]} << 8) | len[3];
  if (n == 0 || n > k_max_message) return false;
  msg.assign(len, len + 4);
  msg.resize(4 + n);
  return read_full(fd, msg.data() + 4, n);
}

int connect_unix(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) {
    ::close(fd);
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Ends an agent connection and waits (up to a second) until the agent has
// closed its side: the agent frees the connection when it reads our end of
// file, so a client's next request, however quick, never finds the previous
// connection still open there (BuildKit's testSSHFileDescriptorsClosed).
void close_after_agent(int agent) {
  if (::shutdown(agent, SHUT_WR) == 0) {
    char buf[256];
    for (int waited_ms = 0; waited_ms < 1000;) {
      pollfd p{agent, POLLIN, 0};
      int n = ::poll(&p, 1, 100);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        waited_ms += 100;
        continue;
      }
      ssize_t r = ::read(agent, buf, sizeof buf);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) break;
    }
  }
  ::close(agent);
}

}  // namespace

bool agent_request_allowed(unsigned char type) { return type == 11 || type == 13; }

// ---- SshAgents ---------------------------------------------------------------

Result<std::unique_ptr<SshAgents>> SshAgents::start(const std::vector<SshSource>& sources) {
  std::unique_ptr<SshAgents> out(new SshAgents());
  for (const auto& src : sources) {
    if (out->m_sockets.count(src.id)) return Error{"duplicate agent ID \"" + src.id + "\""};
    std::vector<fs::path> paths = src.paths;
    if (paths.empty()) {
      const char* sock = std::getenv("SSH_AUTH_SOCK");
      if (!sock || !*sock) return Error{"invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set"};
      paths.emplace_back(sock);
    }
    std::vector<fs::path> sockets, keys;
    for (const auto& p : paths) {
      if (is_unix_socket(p)) {
        sockets.push_back(p);
        continue;
      }
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return util::sys_error("failed to open", p.string());
      ::close(fd);
      keys.push_back(fs::absolute(p));
    }
    if (!sockets.empty() && !keys.empty()) return Error{"invalid combination of keys and sockets"};
    if (sockets.size() > 1) return Error{"only single socket allowed"};
    if (!sockets.empty()) {
      out->m_sockets[src.id] = sockets[0];
    } else {
      MKIMAGE_TRY(fs::path sock, out->start_agent(keys));
      out->m_sockets[src.id] = sock;
    }
  }
  return out;
}

Result<fs::path> SshAgents::start_agent(const std::vector<fs::path>& keys) {
  // A short directory of its own: socket paths are limited to 107 bytes.
  std::string tmpl = (fs::temp_directory_path() / "mkimage-ssh-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return util::sys_error("mkdtemp", tmpl);
  fs::path dir = buf.data();
  m_dirs.push_back(dir);
  fs::path sock = dir / "agent.sock";
  MKIMAGE_TRY(pid_t pid, spawn({"ssh-agent", "-D", "-a", sock.string()}, {}, dir / "agent.log"));
  m_pids.push_back(pid);
  m_guard = CleanupGuard([pids = m_pids] {
    for (pid_t p : pids) ::kill(p, SIGTERM);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!is_unix_socket(sock)) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      m_pids.pop_back();
      return Error{"ssh-agent did not start: " + read_text(dir / "agent.log")};
    }
    if (std::chrono::steady_clock::now() > deadline) return Error{"ssh-agent did not create " + sock.string()};
    ::usleep(10000);
  }
  for (const auto& key : keys) {
    MKIMAGE_TRY(pid_t add, spawn({"ssh-add", "-q", key.string()}, {"SSH_AUTH_SOCK=" + sock.string()}, dir / "add.log"));
    int status = 0;
    while (::waitpid(add, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return Error{"failed to add " + key.string() + " to agent: " + read_text(dir / "add.log")};
    }
  }
  return sock;
}

SshAgents::~SshAgents() {
  for (pid_t pid : m_pids) {
    ::kill(pid, SIGTERM);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (const auto& d : m_dirs) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}

const fs::path* SshAgents::socket(const std::string& id) const {
  auto it = m_sockets.find(id);
  return it == m_sockets.end() ? nullptr : &it->second;
}

// ---- SshForward --------------------------------------------------------------

Result<std::unique_ptr<SshForward>> SshForward::start(const fs::path& agent, const fs::path& path, std::uint32_t uid,
                                                      std::uint32_t gid, std::uint32_t mode) {
  std::unique_ptr<SshForward> f(new SshForward());
  f->m_agent = agent;
  f->m_path = path;
  if (::pipe2(f->m_stop, O_CLOEXEC) != 0) return util::sys_error("pipe", path.string());
  f->m_listen = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (f->m_listen < 0) return util::sys_error("socket", path.string());
  // Bound through the directory's descriptor: the full path may exceed sun_path.
  int dirfd = ::open(path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return util::sys_error("open", path.parent_path().string());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string short_path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + path.filename().string();
  bool fits = short_path.size() < sizeof addr.sun_path;
  if (fits) std::memcpy(addr.sun_path, short_path.c_str(), short_path.size() + 1);
  int rc = fits ? ::bind(f->m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) : -1;
  int err = fits ? errno : ENAMETOOLONG;
  ::close(dirfd);
  if (rc != 0) return util::sys_error("bind", path.string(), err);
  if (::chown(path.c_str(), uid, gid) != 0) return util::sys_error("chown", path.string());
  if (::chmod(path.c_str(), mode & 07777) != 0) return util::sys_error("chmod", path.string());
  if (::listen(f->m_listen, 16) != 0) return util::sys_error("listen", path.string());
  f->m_acceptor = std::thread([p = f.get()] { p->accept_loop(); });
  return f;
}

void SshForward::accept_loop() {
  while (true) {
    pollfd fds[2] = {{m_listen, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    m_connections.emplace_back([this, client] { serve(client); });
  }
}

void SshForward::serve(int client) {
  std::vector<unsigned char> req, resp;
  while (true) {
    pollfd fds[2] = {{client, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents || !read_message(client, req)) break;
    if (!agent_request_allowed(req[4])) {
      const unsigned char failure[5] = {0, 0, 0, 1, k_agent_failure};
      if (!write_full(client, failure, sizeof failure)) break;
      continue;
    }
    // One agent connection per request, closed — by the agent too — before
    // the client has its answer: the protocol keeps no state between the
    // requests that pass, and no agent connection outlives the step's use of it.
    int agent = connect_unix(m_agent);
    if (agent < 0) break;
    bool ok = write_full(agent, req.data(), req.size()) && read_message(agent, resp);
    close_after_agent(agent);
    if (!ok || !write_full(client, resp.data(), resp.size())) break;
  }
  ::close(client);
}

SshForward::~SshForward() {
  if (m_stop[1] >= 0) {
    char c = 1;
    (void)!::write(m_stop[1], &c, 1);
  }
  if (m_acceptor.joinable()) m_acceptor.join();
  for (auto& t : m_connections) t.join();
  if (m_listen >= 0) ::close(m_listen);
  for (int fd : m_stop)
    if (fd >= 0) ::close(fd);
  if (!m_path.empty() && m_listen >= 0) {
    std::error_code ec;
    fs::remove(m_path, ec);
  }
}

}  // namespace mkimage::builder
