#include "builder/runtime.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "builder/console_socket.hpp"
#include "builder/interrupt.hpp"
#include "builder/private_network.hpp"
#include "builder/runtime_stderr.hpp"
#include "builder/tty_relay.hpp"
#include "store/owner.hpp"
#include "util/fd.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

struct SpawnIo {
  int in = -1, out = -1, err = -1;  // -1 = inherit
  bool quiet = false;               // stdout/stderr to /dev/null
  bool own_group = false;
};

// fork+exec `argv` (argv[0] looked up in PATH). Returns the child's pid.
// Only async-signal-safe calls happen in the child.
Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnIo& io) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  int devnull = -1;
  if (io.quiet || io.in == -2) devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) return util::sys_error("pipe", argv[0]);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(errpipe[0]);
    close(errpipe[1]);
    if (devnull >= 0) close(devnull);
    return util::sys_error("fork", argv[0], e);
  }
  if (pid == 0) {
    if (io.own_group) setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    int in = io.in == -2 ? devnull : io.in;
    int out = io.quiet ? devnull : io.out;
    int err = io.quiet ? devnull : io.err;
    if (in >= 0) dup2(in, 0);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    execvp(cargv[0], cargv.data());
    int e = errno;
    [[maybe_unused]] auto n = write(errpipe[1], &e, sizeof e);
    _exit(127);
  }
  close(errpipe[1]);
  if (devnull >= 0) close(devnull);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(errpipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == sizeof child_errno) {
    int st;
    waitpid(pid, &st, 0);
    return util::sys_error("execute", argv[0], child_errno);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

// Runs a short runtime command with output discarded; returns its exit code.
int run_quiet(const std::vector<std::string>& argv) {
  SpawnIo io;
  io.quiet = true;
  io.in = -2;
  auto pid = spawn(argv, io);
  if (!pid) return 127;
  return wait_exit_code(*pid);
}

}  // namespace

Runtime::Runtime(RuntimeOptions options) : m_options(std::move(options)) {}

Result<void> Runtime::check() const {
  if (run_quiet({m_options.runtime, "--version"}) != 0)
    return Error{"OCI runtime \"" + m_options.runtime + "\" not found or not working (install runc or pass --runtime PATH)"};
  return {};
}

Result<void> Runtime::kill(const std::string& id, int signal) const {
  int rc = run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "kill", id, std::to_string(signal)});
  if (rc != 0) return Error{m_options.runtime + " kill " + id + " failed (exit " + std::to_string(rc) + ")"};
  return {};
}

Result<void> Runtime::remove(const std::string& id) const {
  run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "delete", "-f", id});
  if (exists(id)) return Error{m_options.runtime + " delete -f " + id + " failed"};
  return {};
}

void Runtime::remove_orphans() const {
  std::vector<std::string> dead;
  if (DIR* d = ::opendir(m_options.state_dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      // mkimage-<pid>-<start>-<counter>-<8 hex> (new_container_id)
      std::string_view name = e->d_name;
      if (!name.starts_with("mkimage-") || name.size() < 8 + 9 + 2) continue;
      std::string_view rest = name.substr(8, name.size() - 8 - 9);  // <pid>-<start>-<counter>
      auto counter_dash = rest.rfind('-');
      if (counter_dash == std::string_view::npos) continue;
      auto owner = store::parse_temp_name(std::string("mkimage-") + std::string(rest.substr(0, counter_dash)) + "-XXXXXX",
                                          /*legacy=*/false);
      if (owner && owner->head == "mkimage" && store::owner_is_dead(*owner)) dead.emplace_back(name);
    }
    ::closedir(d);
  }
  for (const auto& id : dead) {
    run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "kill", id, "KILL"});
    run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "delete", "-f", id});
  }
  PrivateNetwork::remove_orphans();  // their RUN networks (after the containers in them)
}

bool Runtime::exists(const std::string& id) const {
  return run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "state", id}) == 0;
}

std::optional<int> Runtime::init_pid(const std::string& id, bool started) const {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return std::nullopt;
  SpawnIo io;
  io.in = -2;
  io.out = p[1];
  io.err = -1;
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  io.err = devnull;
  auto pid = spawn({m_options.runtime, "--root", m_options.state_dir.string(), "state", id}, io);
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  if (devnull >= 0) close(devnull);
  if (!pid || wait_exit_code(*pid) != 0) return std::nullopt;
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("pid") || !j["pid"].is_number_integer()) return std::nullopt;
  int v = j["pid"].get<int>();
  if (v <= 0) return std::nullopt;
  if (started && j.value("status", "") != "running") return std::nullopt;  // "created": not exec'd yet
  return v;
}

int start_failure_exit_code(const std::string& message) {
  if (message.find("no such file or directory") != std::string::npos ||
      message.find("executable file not found") != std::string::npos)
    return 127;
  if (message.find("permission denied") != std::string::npos) return 126;
  return 125;
}

namespace {
// The runtime's own error (runc --log-format json: {"level":"error","msg":...})
// when it could not start the container, as it printed it, else nullopt.
std::optional<std::string> runtime_log_error(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  std::optional<std::string> found;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("level") || j["level"] != "error" || !j.contains("msg") || !j["msg"].is_string())
      continue;
    found = j["msg"].get<std::string>();
  }
  return found;
}

// The runtime's message without its own "runc run failed: " head.
std::string without_runtime_head(std::string msg) {
  for (const char* prefix : {"runc run failed: ", "runc create failed: ", "runc exec failed: "})
    if (msg.rfind(prefix, 0) == 0) msg.erase(0, std::strlen(prefix));
  return msg;
}

// Reads what is in `fd` now and until EOF (a pipe whose writers are gone).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Passes the runtime's stderr pipe `fd` on to ours through `filter` until the
// runtime `pid` has exited and the pipe is closed (at most 2 s after the exit:
// a process left running may hold it). Returns the runtime's exit code.
int relay_stderr(pid_t pid, int fd, RuntimeStderrFilter& filter) {
  char buf[65536];
  std::optional<int> code;
  auto exit_time = std::chrono::steady_clock::now();
  auto held_since = exit_time;
  while (true) {
    pollfd pfd{fd, POLLIN, 0};
    int r = poll(&pfd, 1, 200);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
      if (n > 0) {
        bool was_holding = filter.holding();
        write_all(2, filter.feed(std::string_view(buf, static_cast<size_t>(n))));
        if (filter.holding() && !was_holding) held_since = std::chrono::steady_clock::now();
      }
    }
    if (!code) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
        exit_time = std::chrono::steady_clock::now();
      } else if (filter.holding() && std::chrono::steady_clock::now() - held_since > std::chrono::milliseconds(500)) {
        write_all(2, filter.flush());  // the runtime runs on: the line was the process's
      }
    } else if (std::chrono::steady_clock::now() - exit_time > std::chrono::seconds(2)) {
      break;
    }
  }
  return code ? *code : wait_exit_code(pid);
}

// When the runtime's stderr is a regular file (a detached container's log),
// its error line is taken out of it again: the log holds the process's output.
struct StderrFileMark {
  int fd = -1;
  off_t size = -1;
  explicit StderrFileMark(int f) : fd(f) {
    struct stat st;
    if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) size = st.st_size;
  }
  void drop_line(const std::string& line) const {
    struct stat st;
    if (size < 0 || ::fstat(fd, &st) != 0) return;
    std::string want = line + "\n";
    if (st.st_size - size != static_cast<off_t>(want.size())) return;
    std::string got(want.size(), '\0');
    util::Fd reader(::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC));  // fd may be write-only
    if (reader.fd >= 0 && ::pread(reader.fd, got.data(), got.size(), size) == static_cast<ssize_t>(got.size()) && got == want)
      [[maybe_unused]] int r = ::ftruncate(fd, size);
  }
};

// Copies the runtime's stdout and stderr pipes to io.on_output until both
// close (after the runtime's exit, for at most 2 s more: something outside
// the container may hold them), holding back the runtime's own error line
// (`filter`). Closes both descriptors. Returns the runtime's exit code.
int relay_output(pid_t pid, int out_fd, int err_fd, const RunIo& io, RuntimeStderrFilter& filter) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_count = 2;
  char buf[65536];
  bool exited = false;
  int status_code = -1;
  auto exit_time = std::chrono::steady_clock::now();
  auto held_since = exit_time;
  while (open_count > 0) {
    int r = poll(fds, 2, 200);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        std::string_view chunk(buf, static_cast<size_t>(n));
        if (i == 0) {
          io.on_output(chunk, false);
        } else {
          bool was_holding = filter.holding();
          if (auto pass = filter.feed(chunk); !pass.empty()) io.on_output(pass, true);
          if (filter.holding() && !was_holding) held_since = std::chrono::steady_clock::now();
        }
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
    // A held line the runtime did not follow by its exit was the process's.
    if (!exited && filter.holding() &&
        std::chrono::steady_clock::now() - held_since > std::chrono::milliseconds(500)) {
      siginfo_t info{};
      if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0)
        io.on_output(filter.flush(), true);
    }
    if (!exited) {
      int st = 0;
      pid_t w = waitpid(pid, &st, WNOHANG);
      if (w == pid) {
        exited = true;
        status_code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
        exit_time = std::chrono::steady_clock::now();
      }
    } else if (std::chrono::steady_clock::now() - exit_time > std::chrono::seconds(2)) {
      // Something outside the container still holds the pipes: stop reading.
      break;
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  return exited ? status_code : wait_exit_code(pid);
}

// One runtime command that only sets things up (`create`, `start`,
// `exec --detach`): run quietly, its error read from its log and named as
// docker does ("OCI runtime create failed: …" / "OCI runtime exec failed: …").
Result<void> runtime_step(const std::vector<std::string>& argv, const fs::path& log, const std::string& failed_as) {
  SpawnIo sio;
  sio.in = -2;
  sio.quiet = true;
  Result<pid_t> pid = Error{"the runtime was not started"};
  {
    UninterruptibleScope section;
    pid = spawn(argv, sio);
  }
  if (!pid) return pid.error();
  if (int code = wait_exit_code(*pid); code != 0) {
    if (auto e = runtime_log_error(log)) return Error{"OCI runtime " + failed_as + " failed: " + without_runtime_head(*e)};
    return Error{"the OCI runtime failed (" + failed_as + ", exit status " + std::to_string(code) + ")"};
  }
  return {};
}

// The terminal's master side and the process ID a runtime started with
// --console-socket and --pid-file left for us.
Result<std::pair<util::Fd, pid_t>> receive_terminal(ConsoleSocket& console, const fs::path& pid_file) {
  MKIMAGE_TRY(util::Fd master, console.receive_master(5000));
  std::ifstream in(pid_file);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return Error{"the OCI runtime wrote no process ID to " + pid_file.string()};
  return std::make_pair(std::move(master), pid);
}

}  // namespace

// `run` (not detached) deletes its container when the process exits; its state
// directory (<root>/<id>, runc's and crun's layout) is left only when the
// runtime itself died or failed: then `delete -f` cleans up. Skipping the
// delete otherwise saves a runtime process per RUN step (~10 ms of a Go start).
void Runtime::delete_leftover(const std::string& id) const {
  struct stat st;
  if (::lstat((m_options.state_dir / id).c_str(), &st) != 0 && errno == ENOENT) return;
  run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "delete", "-f", id});
}

Result<int> Runtime::run(const ContainerSpec& spec, const fs::path& bundle_dir, const RunIo& io, std::string id,
                         const std::function<void(int pid)>& on_started, PrivateNetwork* network) const {
  if (id.empty()) id = new_container_id();
  // NetworkMode::isolated: the namespace and slirp4netns live until this returns
  // (declared before the container's guard: torn down after it on interrupt).
  // slirp4netns starts while the bundle is written; the container starts
  // once it is ready.
  std::unique_ptr<PrivateNetwork> own_net;
  PrivateNetwork* net = nullptr;
  ContainerSpec with_net;
  const ContainerSpec* effective = &spec;
  if (spec.network == NetworkMode::isolated) {
    if (network) {
      net = network;
    } else {
      MKIMAGE_TRY(own_net, PrivateNetwork::start());
      net = own_net.get();
    }
    with_net = spec;
    with_net.netns_path = net->netns_path().string();
    with_net.resolv_conf = net->resolv_conf();
    effective = &with_net;
  }
  MKIMAGE_TRY_VOID(write_bundle(*effective, bundle_dir));
  if (net) MKIMAGE_TRY_VOID(net->ready());
  std::error_code ec;
  fs::create_directories(m_options.state_dir, ec);
  if (effective->process.terminal) return run_with_console(*effective, bundle_dir, io, id, on_started);

  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  SpawnIo sio;
  sio.own_group = io.own_process_group;
  // With a terminal the process's output goes through the pty: the runtime's
  // stderr carries only its own messages, kept here (shown unless it failed).
  bool capture_stderr = !io.on_output && effective->process.terminal;
  if (io.on_output || capture_stderr) {
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return util::sys_error("pipe", "runtime output");
    sio.err = err_pipe[1];
  }
  if (io.on_output) {
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
      close(err_pipe[0]);
      close(err_pipe[1]);
      return util::sys_error("pipe", "runtime output");
    }
    sio.in = io.stdin_fd >= 0 ? io.stdin_fd : -2;
    sio.out = out_pipe[1];
  } else {
    sio.in = io.stdin_fd;
    sio.out = io.stdout_fd;
    if (!capture_stderr) sio.err = io.stderr_fd;
  }
  StderrFileMark stderr_mark(capture_stderr || io.on_output ? -1 : io.stderr_fd);
  // The runtime's own messages go to a log, not into the container's output.
  fs::path log = fs::absolute(bundle_dir) / "runtime.log";
  fs::remove(log, ec);
  std::vector<std::string> argv = {m_options.runtime, "--root", m_options.state_dir.string(),
                                   "--log", log.string(), "--log-format", "json",
                                   "run", "--bundle", fs::absolute(bundle_dir).string(), id};
  // A non-zero status with an error in the log: the process never started
  // (docker's "OCI runtime create failed: ..."); the runtime's own printed
  // copy of it is dropped from what is shown (RuntimeStderrFilter).
  RuntimeStderrFilter stderr_filter(m_options.runtime);
  auto finish = [&](int code) -> Result<int> {
    std::optional<std::string> e = code != 0 ? runtime_log_error(log) : std::nullopt;
    if (io.on_output) {
      if (auto rest = stderr_filter.finish(e); !rest.empty()) io.on_output(rest, true);
    } else if (capture_stderr) {
      ::fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);  // the runtime has exited: what it wrote is there
      std::string text = read_all(err_pipe[0]);
      close(err_pipe[0]);
      if (auto rest = stderr_filter.feed(text) + stderr_filter.finish(e); !rest.empty()) write_all(2, rest);
    } else if (e) {
      stderr_mark.drop_line(*e);
    }
    if (e) return Error{"OCI runtime create failed: " + without_runtime_head(*e)};
    return code;
  };

  // Registered before the start so an interrupt between fork and wait is covered.
  std::atomic<pid_t> runtime_pid{0};
  CleanupGuard guard([this, id, &runtime_pid] {
    pid_t p = runtime_pid.load();
    // The runtime may still be creating the container (no state to kill yet):
    // kill through it until it has exited with its container, for up to 5 s,
    // and only then kill the runtime process itself (killing it mid-create
    // would orphan the container's process).
    for (int i = 0; i < 100; ++i) {
      run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "kill", id, "KILL"});
      if (p <= 0 || ::kill(p, 0) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "delete", "-f", id});
    if (p > 0) ::kill(p, SIGKILL);
  });

  // Started inside a section: an interrupt either comes first (then the
  // runtime never starts) or finds runtime_pid set for the guard to kill.
  Result<pid_t> pid = Error{"the runtime was not started"};
  {
    UninterruptibleScope section;
    pid = spawn(argv, sio);
    if (pid) runtime_pid = *pid;
  }
  if (io.on_output) close(out_pipe[1]);
  if (err_pipe[1] >= 0) close(err_pipe[1]);
  if (!pid) {
    if (io.on_output) close(out_pipe[0]);
    if (err_pipe[0] >= 0) close(err_pipe[0]);
    return pid.error();
  }
  if (on_started) on_started(*pid);

  if (io.on_output) {
    int code = relay_output(*pid, out_pipe[0], err_pipe[0], io, stderr_filter);
    runtime_pid = 0;
    delete_leftover(id);
    return finish(code);
  }
  int code = wait_exit_code(*pid);
  runtime_pid = 0;
  delete_leftover(id);
  return finish(code);
}

Result<int> Runtime::run_with_console(const ContainerSpec& spec, const fs::path& bundle_dir, const RunIo& io,
                                      const std::string& id, const std::function<void(int pid)>& on_started) const {
  (void)spec;  // written to the bundle already
  become_subreaper();  // the container's process outlives `create`'s runtime: reaped here
  MKIMAGE_TRY(auto console, ConsoleSocket::listen(bundle_dir));
  fs::path bundle = fs::absolute(bundle_dir);
  fs::path log = bundle / "runtime.log", pid_file = bundle / "init.pid";
  std::error_code ec;
  fs::remove(log, ec);
  fs::remove(pid_file, ec);
  CleanupGuard guard([this, id] {
    run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "kill", id, "KILL"});
    run_quiet({m_options.runtime, "--root", m_options.state_dir.string(), "delete", "-f", id});
  });
  // create, then start: the window size is set between the two, before the
  // process runs (as containerd does)
  auto step = [&](std::vector<std::string> args) -> Result<void> {
    std::vector<std::string> argv = {m_options.runtime, "--root", m_options.state_dir.string(),
                                     "--log", log.string(), "--log-format", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runtime_step(argv, log, "create");
  };
  auto created = step({"create", "--console-socket", console.path().string(), "--pid-file", pid_file.string(),
                       "--bundle", bundle.string(), id});
  auto terminal = created ? receive_terminal(console, pid_file) : created.error();
  if (!terminal) {
    delete_leftover(id);
    return terminal.error();
  }
  auto& [master, pid] = *terminal;
  copy_window_size(io.stdin_fd, master.fd);
  if (auto started = step({"start", id}); !started) {
    delete_leftover(id);
    return started.error();
  }
  if (on_started) on_started(pid);
  TtyRelayIo relay;
  relay.in_fd = io.stdin_fd;
  int out_fd = io.stdout_fd >= 0 ? io.stdout_fd : 1;
  relay.out = io.on_output ? std::function<void(std::string_view)>([&](std::string_view c) { io.on_output(c, false); })
                           : std::function<void(std::string_view)>([out_fd](std::string_view c) { write_all(out_fd, c); });
  int code = relay_tty(master.release(), pid, relay);
  delete_leftover(id);
  return code;
}

Result<int> Runtime::exec(const std::string& id, const ProcessSpec& process, int stdin_fd, bool detach,
                          const fs::path& log) const {
  std::vector<std::string> argv = {m_options.runtime, "--root", m_options.state_dir.string(),
                                   "--log", log.string(), "--log-format", "json", "exec"};
  if (process.terminal) argv.push_back("--tty");
  if (detach) argv.push_back("--detach");
  if (!process.cwd.empty()) argv.insert(argv.end(), {"--cwd", process.cwd});
  for (const auto& e : process.env) argv.insert(argv.end(), {"--env", e});
  argv.insert(argv.end(), {"--user", std::to_string(process.uid) + ":" + std::to_string(process.gid)});
  for (auto g : process.additional_gids) argv.insert(argv.end(), {"--additional-gids", std::to_string(g)});
  argv.push_back(id);
  argv.insert(argv.end(), process.args.begin(), process.args.end());

  std::error_code ec;
  fs::remove(log, ec);
  if (process.terminal && !detach) return exec_with_console(argv, stdin_fd, log);
  SpawnIo sio;
  sio.in = stdin_fd;
  sio.own_group = !process.terminal;  // a pty needs the terminal's foreground group
  // stderr through a pipe: the process's passes on (RuntimeStderrFilter), the
  // runtime's error line does not. -d: the output is nobody's (docker's).
  int err_pipe[2] = {-1, -1};
  if (detach) {
    sio.quiet = true;
  } else if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return util::sys_error("pipe", "runtime output");
  } else {
    sio.err = err_pipe[1];
  }
  Result<pid_t> pid = Error{"the runtime was not started"};
  {
    UninterruptibleScope section;
    pid = spawn(argv, sio);
  }
  if (err_pipe[1] >= 0) close(err_pipe[1]);
  util::Fd err_in(err_pipe[0]);
  if (!pid) return pid.error();
  // On an interrupt the runtime gets SIGTERM, which it passes on to the process.
  CleanupGuard guard([p = *pid] { ::kill(p, SIGTERM); });
  RuntimeStderrFilter filter(m_options.runtime);
  int code = err_in.fd >= 0 ? relay_stderr(*pid, err_in.fd, filter) : wait_exit_code(*pid);
  std::optional<std::string> e = code != 0 ? runtime_log_error(log) : std::nullopt;
  if (auto rest = filter.finish(e); !rest.empty()) write_all(2, rest);
  if (e) return Error{"OCI runtime exec failed: " + without_runtime_head(*e)};
  return code;
}

Result<int> Runtime::exec_with_console(std::vector<std::string> argv, int stdin_fd, const fs::path& log) const {
  become_subreaper();  // the process outlives `exec --detach`'s runtime: reaped here
  MKIMAGE_TRY(auto console, ConsoleSocket::listen(log.parent_path()));
  fs::path pid_file = log;
  pid_file.replace_extension(".pid");
  std::error_code ec;
  fs::remove(pid_file, ec);
  // argv is `… exec --tty [options] ID ARGS…`: the options go right after "exec"
  auto at = std::find(argv.begin(), argv.end(), std::string("exec")) + 1;
  argv.insert(at, {"--detach", "--console-socket", console.path().string(), "--pid-file", pid_file.string()});
  MKIMAGE_TRY_VOID(runtime_step(argv, log, "exec"));
  MKIMAGE_TRY(auto terminal, receive_terminal(console, pid_file));
  fs::remove(pid_file, ec);
  auto& [master, pid] = terminal;
  // On an interrupt the process gets SIGTERM, as the runtime would pass it on.
  CleanupGuard guard([p = pid] { ::kill(p, SIGTERM); });
  copy_window_size(stdin_fd, master.fd);
  TtyRelayIo relay;
  relay.in_fd = stdin_fd;
  relay.out = [](std::string_view c) { write_all(1, c); };
  return relay_tty(master.release(), pid, relay);
}

}  // namespace mkimage::builder
