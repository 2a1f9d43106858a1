#include "builder/container.hpp"

#include "util/json_text.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <fstream>
#include <iterator>
#include <thread>

#include "builder/fs_resolve.hpp"
#include "builder/interrupt.hpp"
#include "builder/port_forward.hpp"
#include "builder/snapshotter.hpp"
#include "builder/snapshotter_copy.hpp"
#include "builder/user_db.hpp"
#include "store/owner.hpp"
#include "store/snapshots.hpp"
#include "util/fd.hpp"
#include "util/random.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;

util::Result<fs::path> container_init_path() {
  for (const char* p : {"/usr/bin/docker-init", "/usr/bin/tini-static"})
    if (::access(p, X_OK) == 0) return fs::path(p);
  return util::Error{"--init needs a static tini: /usr/bin/docker-init or /usr/bin/tini-static (Debian package tini)"};
}

std::string runtime_container_id(const std::string& id) { return "mkimage-" + id.substr(0, 32); }

std::optional<int> parse_signal(const std::string& name) {
  std::string n = name;
  for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n.rfind("SIG", 0) == 0) n = n.substr(3);
  if (n.empty()) return std::nullopt;
  if (std::all_of(n.begin(), n.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    int v = std::atoi(n.c_str());
    if (v < 1 || v > 64) return std::nullopt;
    return v;
  }
  static const std::pair<const char*, int> table[] = {
      {"TERM", SIGTERM}, {"INT", SIGINT},   {"KILL", SIGKILL}, {"HUP", SIGHUP},   {"QUIT", SIGQUIT},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
      {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}, {"ABRT", SIGABRT}};
  for (auto& [k, v] : table)
    if (n == k) return v;
  return std::nullopt;
}
using nlohmann::json;
using util::Error;
using util::Result;

// --- parsing ---

namespace {

Result<std::uint16_t> parse_port(std::string_view s, std::string_view whole) {
  if (s.empty() || s.size() > 5) return Error{"invalid port in \"" + std::string(whole) + "\""};
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Error{"invalid port in \"" + std::string(whole) + "\""};
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return Error{"port out of range in \"" + std::string(whole) + "\""};
  return static_cast<std::uint16_t>(v);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::string random_id() {
  std::string out;
  const char* hex = "0123456789abcdef";
  for (int word = 0; word < 4; ++word) {
    std::uint64_t bits = util::random_u64();
    for (int i = 0; i < 16; ++i, bits >>= 4) out += hex[bits & 15];
  }
  return out;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

bool pid_alive(std::int64_t pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

int signal_number(const std::string& name) {
  if (name.empty()) return SIGTERM;
  return parse_signal(name).value_or(SIGTERM);
}

}  // namespace

Result<PortMapping> parse_port_mapping(std::string_view text) {
  std::string_view t = text;
  auto slash = t.find('/');
  if (slash != std::string_view::npos) {
    if (t.substr(slash + 1) != "tcp") return Error{"only tcp ports can be published: \"" + std::string(text) + "\""};
    t = t.substr(0, slash);
  }
  auto parts = split(t, ':');
  PortMapping m;
  if (parts.size() == 2) {
    MKIMAGE_TRY(m.host_port, parse_port(parts[0], text));
    MKIMAGE_TRY(m.container_port, parse_port(parts[1], text));
  } else if (parts.size() == 3) {
    if (!parts[0].empty()) m.host_ip = parts[0];
    MKIMAGE_TRY(m.host_port, parse_port(parts[1], text));
    MKIMAGE_TRY(m.container_port, parse_port(parts[2], text));
  } else {
    return Error{"invalid -p \"" + std::string(text) + "\" (expected HOSTPORT:CONTAINERPORT)"};
  }
  return m;
}

Result<VolumeMount> parse_volume(std::string_view text) {
  auto parts = split(text, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return Error{"invalid -v \"" + std::string(text) + "\" (expected HOSTDIR:CTRDIR[:ro])"};
  VolumeMount v;
  v.host_path = fs::absolute(parts[0]).lexically_normal().string();
  if (parts[1][0] != '/') return Error{"invalid -v \"" + std::string(text) + "\": the container path must be absolute"};
  v.container_path = parts[1];
  if (parts.size() == 3) {
    if (parts[2] == "ro") v.readonly = true;
    else if (parts[2] != "rw") return Error{"invalid -v mode \"" + parts[2] + "\" (expected ro or rw)"};
  }
  return v;
}

// --- settings ---

std::string settings_to_json(const ContainerSettings& s) {
  json ports = json::array(), vols = json::array();
  for (auto& p : s.ports) ports.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port}});
  for (auto& v : s.volumes) vols.push_back({{"host", v.host_path}, {"container", v.container_path}, {"ro", v.readonly}});
  json j = {{"args", s.args},       {"env", s.env},       {"cwd", s.cwd},
            {"user", s.user},       {"network", std::string(to_string(s.network))},
            {"ports", ports},       {"volumes", vols},    {"remove", s.remove},
            {"interactive", s.interactive}, {"tty", s.tty}, {"stop_signal", s.stop_signal},
            {"init", s.init}};
  return util::json_text(j);
}

Result<ContainerSettings> settings_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{"bad container settings"};
  try {
    ContainerSettings s;
    s.args = j.at("args").get<std::vector<std::string>>();
    s.env = j.at("env").get<std::vector<std::string>>();
    s.cwd = j.at("cwd").get<std::string>();
    s.user = j.at("user").get<std::string>();
    MKIMAGE_TRY(s.network, parse_network_mode(j.at("network").get<std::string>()));
    for (auto& p : j.at("ports")) s.ports.push_back({p.at("host_ip"), p.at("host_port"), p.at("container_port")});
    for (auto& v : j.at("volumes")) s.volumes.push_back({v.at("host"), v.at("container"), v.at("ro")});
    s.remove = j.at("remove");
    s.interactive = j.at("interactive");
    s.tty = j.at("tty");
    s.stop_signal = j.value("stop_signal", "");
    s.init = j.value("init", false);
    return s;
  } catch (const std::exception& e) {
    return Error{std::string("bad container settings: ") + e.what()};
  }
}

Result<ContainerSettings> make_settings(const RunRequest& r, const store::Image& image) {
  const auto& c = image.config.config;
  ContainerSettings s;
  std::vector<std::string> entrypoint, cmd;
  if (r.entrypoint) {
    if (!r.entrypoint->empty()) entrypoint = {*r.entrypoint};
    cmd = r.command;
  } else {
    if (c.entrypoint) entrypoint = *c.entrypoint;
    cmd = !r.command.empty() ? r.command : c.cmd.value_or(std::vector<std::string>{});
  }
  s.args = entrypoint;
  s.args.insert(s.args.end(), cmd.begin(), cmd.end());
  if (s.args.empty()) return Error{"no command specified (the image has no Cmd or Entrypoint)"};
  s.env = c.env;
  auto set_env = [&](const std::string& kv) {
    auto key = kv.substr(0, kv.find('='));
    for (auto& e : s.env)
      if (e.substr(0, e.find('=')) == key) {
        e = kv;
        return;
      }
    s.env.push_back(kv);
  };
  for (const auto& e : r.env) {
    if (e.empty() || e[0] == '=') return Error{"invalid -e \"" + e + "\""};
    if (e.find('=') == std::string::npos) {
      if (const char* v = std::getenv(e.c_str())) set_env(e + "=" + v);
      continue;
    }
    set_env(e);
  }
  s.cwd = !r.workdir.empty() ? r.workdir : (!c.working_dir.empty() ? c.working_dir : "/");
  if (s.cwd[0] != '/') return Error{"the working directory \"" + s.cwd + "\" is not absolute"};
  s.user = !r.user.empty() ? r.user : c.user;
  s.network = r.network.value_or(NetworkMode::isolated);  // docker's default bridge network
  if (!r.ports.empty() && s.network == NetworkMode::host)
    return Error{"-p needs a container network namespace (--network bridge, the default)"};
  if (!r.ports.empty() && s.network == NetworkMode::none) return Error{"-p cannot be used with --network none"};
  s.ports = r.ports;
  s.volumes = r.volumes;
  s.remove = r.remove;
  s.interactive = r.interactive;
  s.init = r.init;
  s.tty = r.tty;
  s.stop_signal = c.stop_signal;
  return s;
}

// --- manager ---

ContainerManager::ContainerManager(store::Store& store, RuntimeOptions runtime)
    : m_store(store), m_runtime(std::move(runtime)) {}

fs::path ContainerManager::container_dir(const std::string& id) const { return m_store.root().containers_dir() / id; }

Result<std::vector<fs::path>> ContainerManager::lowerdirs(const store::Digest& manifest) {
  MKIMAGE_TRY(auto image, m_store.load(manifest));
  std::vector<fs::path> lowers;
  std::optional<store::ChainId> chain;
  for (const auto& diff_id : image.config.diff_ids) {
    store::ChainId c = store::chain_id_of(chain ? &*chain : nullptr, diff_id);
    MKIMAGE_TRY(auto dir, store::ensure_snapshot(m_store, c));
    lowers.insert(lowers.begin(), dir);
    chain = c;
  }
  return lowers;
}

bool valid_container_name(std::string_view name) {
  // docker's restrictedNamePattern: ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (the "/" is docker's own prefix).
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.size() < 2 || !alnum(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

Result<store::ContainerRecord> ContainerManager::create(const RunRequest& request) {
  MKIMAGE_TRY(auto found, m_store.resolve(request.image));
  if (!found) return Error{"Unable to find image '" + request.image + "' locally"};
  MKIMAGE_TRY(auto settings, make_settings(request, *found));
  store::ContainerRecord rec;
  rec.id = random_id();
  rec.name = request.name.empty() ? "mkimage_" + rec.id.substr(0, 8) : request.name;
  if (!valid_container_name(rec.name)) {
    return Error{"Invalid container name (" + rec.name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"};
  }
  MKIMAGE_TRY(auto existing, m_store.index().get_container(rec.name));
  if (existing && existing->name == rec.name)
    return Error{"Conflict. The container name \"/" + rec.name + "\" is already in use by container \"" + existing->id +
                 "\". You have to remove (or rename) that container to be able to reuse that name."};
  rec.image = found->manifest_descriptor.digest;
  rec.image_ref = request.image;
  rec.state = "created";
  rec.created = now();
  rec.config = settings_to_json(settings);
  std::error_code ec;
  fs::create_directories(container_dir(rec.id), ec);
  if (ec) return Error{"create directory \"" + container_dir(rec.id).string() + "\": " + ec.message()};
  ::chmod(container_dir(rec.id).c_str(), 0700);
  MKIMAGE_TRY_VOID(m_store.index().put_container(rec));
  return rec;
}

Result<std::optional<store::ContainerRecord>> ContainerManager::find(const std::string& id_or_name) {
  MKIMAGE_TRY(auto rec, m_store.index().get_container(id_or_name));
  if (!rec) {
    // A unique id prefix.
    MKIMAGE_TRY(auto all, m_store.index().list_containers());
    std::optional<store::ContainerRecord> match;
    for (auto& c : all)
      if (!id_or_name.empty() && c.id.rfind(id_or_name, 0) == 0) {
        if (match) return Error{"container id prefix \"" + id_or_name + "\" is ambiguous"};
        match = c;
      }
    rec = match;
  }
  if (rec && rec->state == "running" && !pid_alive(rec->pid)) {
    // The monitor was killed (kill -9): undo what it would have undone — its
    // runtime container and the rootfs mount (the writable layer stays).
    std::string runtime_id = runtime_container_id(rec->id);
    (void)m_runtime.kill(runtime_id, SIGKILL);
    (void)m_runtime.remove(runtime_id);
    (void)store::unmount_all_under(container_dir(rec->id) / "fs" / "merged");
    rec->state = "exited";
    rec->exit_code = 137;
    rec->pid = 0;
    if (rec->finished == 0) rec->finished = now();
    (void)m_store.index().put_container(*rec);
  }
  return rec;
}

Result<std::vector<store::ContainerRecord>> ContainerManager::list() {
  MKIMAGE_TRY(auto all, m_store.index().list_containers());
  for (auto& c : all) {
    MKIMAGE_TRY(auto fresh, find(c.id));
    if (fresh) c = *fresh;
  }
  return all;
}

fs::path ContainerManager::start_error_path(const std::string& id) const {
  return m_store.root().tmp_dir() / ("container-" + id + ".start-error");
}

Result<int> ContainerManager::run_monitor(const std::string& id, bool attach, bool attach_stdin) {
  std::error_code ec;
  fs::remove(start_error_path(id), ec);
  auto r = run_monitor_steps(id, attach, attach_stdin);
  if (r.ok()) return r;
  // Failed before the process ran (the record is not "running" or "exited"
  // with a new time): record the exit as docker does, and keep the message.
  if (!attach) {  // a detached monitor: start_detached() reports the message
    // written whole, then renamed: the waiting parent never reads a partial file
    fs::path tmp = start_error_path(id);
    tmp += ".tmp";
    {
      std::ofstream out(tmp);
      out << r.error().message;
    }
    std::error_code rename_ec;
    fs::rename(tmp, start_error_path(id), rename_ec);
  }
  auto cur = find(id);
  if (cur.ok() && *cur && (*cur)->state == "created") {
    auto rec = **cur;
    rec.exit_code = start_failure_exit_code(r.error().message);  // stays "created", as docker's
    (void)m_store.index().put_container(rec);
    auto settings = settings_from_json(rec.config);
    if (settings.ok() && settings->remove) (void)remove(rec.id, true);
  }
  return r;
}

Result<int> ContainerManager::run_monitor_steps(const std::string& id, bool attach, bool attach_stdin) {
  MKIMAGE_TRY(auto found, find(id));
  if (!found) return Error{"No such container: " + id};
  auto rec = *found;
  if (rec.state == "running") return Error{"container " + rec.name + " is already running"};
  MKIMAGE_TRY(auto settings, settings_from_json(rec.config));
  MKIMAGE_TRY(auto lowers, lowerdirs(rec.image));

  Snapshotter snapshotter(m_store.root().tmp_dir() / "active");
  MKIMAGE_TRY(auto snap, snapshotter.prepare_in(container_dir(rec.id) / "fs", lowers));
  MKIMAGE_TRY(auto user, resolve_exec_user(snap->rootfs(), settings.user));

  ContainerSpec spec;
  spec.rootfs = snap->rootfs();
  spec.hostname = rec.id.substr(0, 12);
  spec.network = settings.network;
  spec.process.args = settings.args;
  spec.process.env = settings.env;
  auto has = [&](const char* key) {
    for (auto& e : spec.process.env)
      if (e.rfind(std::string(key) + "=", 0) == 0) return true;
    return false;
  };
  if (!has("PATH")) spec.process.env.insert(spec.process.env.begin(), std::string("PATH=") + k_default_path);
  if (!has("HOSTNAME")) spec.process.env.push_back("HOSTNAME=" + spec.hostname);
  if (!has("HOME")) spec.process.env.push_back("HOME=" + user.home);
  if (settings.tty && !has("TERM")) spec.process.env.push_back("TERM=xterm");
  spec.process.cwd = settings.cwd;
  spec.process.uid = user.uid;
  spec.process.gid = user.gid;
  spec.process.additional_gids = user.additional_gids;
  spec.process.terminal = settings.tty;  // the runtime hands the terminal to us (builder/console_socket.hpp)
  if (settings.init) {  // docker's --init: tini runs the process as pid 1's child
    MKIMAGE_TRY(auto init, container_init_path());
    spec.mounts.push_back({"/sbin/docker-init", "bind", init.string(), {"bind", "ro"}});
    spec.process.args.insert(spec.process.args.begin(), {"/sbin/docker-init", "--"});
  }
  for (const auto& v : settings.volumes) {
    std::error_code ec;
    fs::create_directories(v.host_path, ec);
    spec.mounts.push_back({v.container_path, "bind", v.host_path, {"rbind", v.readonly ? "ro" : "rw"}});
  }

  std::vector<std::unique_ptr<PortForwarder>> forwarders;
  for (const auto& p : settings.ports) {
    MKIMAGE_TRY(auto f, PortForwarder::listen(p.host_ip, p.host_port, p.container_port));
    forwarders.push_back(std::move(f));
  }

  // A detached -i container reads a FIFO that `attach` writes into; held
  // open here for reading and writing, it never reaches EOF (docker's -di).
  util::Fd stdin_fifo;
  if (!attach && settings.interactive) {
    std::error_code rm_ec;
    fs::remove(stdin_path(rec.id), rm_ec);
    if (::mkfifo(stdin_path(rec.id).c_str(), 0600) != 0) return util::sys_error("mkfifo", stdin_path(rec.id).string());
    stdin_fifo.reset(::open(stdin_path(rec.id).c_str(), O_RDWR | O_CLOEXEC));
    if (stdin_fifo.fd < 0) return util::sys_error("open", stdin_path(rec.id).string());
  }
  int log_fd = ::open(log_path(rec.id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return util::sys_error("open", log_path(rec.id).string());

  rec.state = "running";
  rec.pid = getpid();
  rec.started = now();
  rec.finished = 0;
  MKIMAGE_TRY_VOID(m_store.index().put_container(rec));

  std::string runtime_id = runtime_container_id(rec.id);
  RunIo io;
  if (spec.process.terminal) {
    // One stream, as docker's: the terminal's output to the log (and to us when attached).
    io.stdin_fd = attach ? (attach_stdin ? 0 : -1)
                         : (stdin_fifo.fd >= 0 ? ::fcntl(stdin_fifo.fd, F_DUPFD_CLOEXEC, 3) : -1);
    io.on_output = [log_fd, attach](std::string_view chunk, bool) {
      [[maybe_unused]] auto a = ::write(log_fd, chunk.data(), chunk.size());
      if (attach) {
        [[maybe_unused]] auto b = ::write(1, chunk.data(), chunk.size());
      }
    };
  } else if (attach) {
    io.stdin_fd = attach_stdin ? 0 : -1;
    io.on_output = [log_fd](std::string_view chunk, bool is_stderr) {
      [[maybe_unused]] auto a = ::write(log_fd, chunk.data(), chunk.size());
      [[maybe_unused]] auto b = ::write(is_stderr ? 2 : 1, chunk.data(), chunk.size());
    };
  } else {
    io.stdin_fd = stdin_fifo.fd >= 0 ? ::fcntl(stdin_fifo.fd, F_DUPFD_CLOEXEC, 3) : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    io.stdout_fd = log_fd;
    io.stderr_fd = log_fd;
  }
  // Once the container's init exists, forward ports into its namespace.
  std::thread port_thread;
  if (!forwarders.empty()) {
    port_thread = std::thread([&] {
      for (int i = 0; i < 400; ++i) {
        if (auto pid = m_runtime.init_pid(runtime_id)) {
          for (auto& f : forwarders) (void)f->start(*pid);
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
    });
  }
  auto code = m_runtime.run(spec, container_dir(rec.id) / "bundle", io, runtime_id);
  if (port_thread.joinable()) port_thread.join();
  for (auto& f : forwarders) f->stop();
  forwarders.clear();
  if (io.stdin_fd > 2) ::close(io.stdin_fd);
  if (stdin_fifo.fd >= 0) {
    // Closed before the path goes: a waiting attach sees EPIPE, not a hang.
    stdin_fifo.reset();
    std::error_code rm_ec;
    fs::remove(stdin_path(rec.id), rm_ec);
  }
  ::close(log_fd);
  snap.reset();  // unmount; the writable layer stays in fs/upper

  // A process the runtime could not start leaves the container "created" with
  // the exit code (docker's State: created, ExitCode 127, no start or finish time).
  rec.state = code.ok() ? "exited" : "created";
  rec.pid = 0;
  rec.exit_code = code.ok() ? *code : start_failure_exit_code(code.error().message);
  if (!code.ok()) rec.started = 0;
  rec.finished = code.ok() ? now() : 0;
  MKIMAGE_TRY_VOID(m_store.index().put_container(rec));
  if (settings.remove) MKIMAGE_TRY_VOID(remove(rec.id, true));
  if (!code.ok()) return code.error();
  return *code;
}

Result<void> ContainerManager::start_detached(const std::string& id) {
  MKIMAGE_TRY(auto found, find(id));
  if (!found) return Error{"No such container: " + id};
  if (found->state == "running") return Error{"container " + found->name + " is already running"};
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string root = m_store.root().dir().string();
  std::string cid = found->id;
  std::error_code stale_ec;
  fs::remove(start_error_path(cid), stale_ec);
  pid_t pid = fork();
  if (pid < 0) return util::sys_error("fork", exe);
  if (pid == 0) {
    setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    // Double fork: the monitor is not our child, so it outlives us quietly.
    if (fork() != 0) _exit(0);
    execl(exe.c_str(), exe.c_str(), "--root", root.c_str(), "__monitor", cid.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  // Wait until the monitor has recorded the start (or the exit).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto start_error = [&]() -> std::optional<std::string> {
    std::ifstream in(start_error_path(cid));
    if (!in) return std::nullopt;
    std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::error_code ec;
    fs::remove(start_error_path(cid), ec);
    return msg;
  };
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto e = start_error()) return Error{*e};
    MKIMAGE_TRY(auto rec, m_store.index().get_container(cid));
    if (!rec) {  // --rm and already gone
      if (auto e = start_error()) return Error{*e};
      return {};
    }
    if (rec->started >= found->started && rec->started != 0 && rec->state != "created" &&
        (rec->state == "exited" ? rec->finished >= rec->started : true) && rec->pid != found->pid)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Give the runtime a moment to have the container process up.
  std::string runtime_id = runtime_container_id(cid);
  std::int64_t monitor_pid = 0;
  for (int i = 0; i < 200; ++i) {
    MKIMAGE_TRY(auto rec, m_store.index().get_container(cid));
    if (rec && rec->pid > 0) monitor_pid = rec->pid;
    if (!rec || rec->state != "running") break;
    if (m_runtime.init_pid(runtime_id, /*started=*/true)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  // It stopped at once: the runtime may not have started the process — the
  // monitor leaves that message after recording the exit.
  for (int i = 0; i < 200; ++i) {
    if (auto e = start_error()) return Error{*e};
    if (!pid_alive(monitor_pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (auto e = start_error()) return Error{*e};
  return {};
}

Result<void> ContainerManager::stop(const std::string& id, int timeout_s) {
  MKIMAGE_TRY(auto found, find(id));
  if (!found) return Error{"No such container: " + id};
  if (found->state != "running") return {};
  MKIMAGE_TRY(auto settings, settings_from_json(found->config));
  std::string runtime_id = runtime_container_id(found->id);
  (void)m_runtime.kill(runtime_id, signal_number(settings.stop_signal));
  auto wait_exit = [&](int seconds) -> Result<bool> {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      MKIMAGE_TRY(auto rec, find(found->id));
      if (!rec || rec->state != "running") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  MKIMAGE_TRY(bool done, wait_exit(timeout_s));
  if (!done) {
    (void)m_runtime.kill(runtime_id, SIGKILL);
    MKIMAGE_TRY(done, wait_exit(10));
    if (!done) return Error{"container " + found->name + " did not stop"};
  }
  return {};
}

Result<void> ContainerManager::kill(const std::string& id_or_name, int signal) {
  MKIMAGE_TRY(auto found, find(id_or_name));
  if (!found) return Error{"No such container: " + id_or_name};
  if (found->state != "running") return Error{"Container " + found->id + " is not running"};
  return m_runtime.kill(runtime_container_id(found->id), signal);
}

Result<void> ContainerManager::remove(const std::string& id_or_name, bool force) {
  MKIMAGE_TRY(auto found, find(id_or_name));
  if (!found) return Error{"No such container: " + id_or_name};
  if (found->state == "running") {
    if (!force)
      return Error{"You cannot remove a running container " + found->id +
                   ". Stop the container before attempting removal or force remove"};
    std::string runtime_id = runtime_container_id(found->id);
    (void)m_runtime.kill(runtime_id, SIGKILL);
    if (found->pid != getpid()) {
      for (int i = 0; i < 200; ++i) {
        MKIMAGE_TRY(auto rec, find(found->id));
        if (!rec || rec->state != "running") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    (void)m_runtime.remove(runtime_id);
  }
  fs::path dir = container_dir(found->id);
  (void)unmount_path(dir / "fs/merged");
  remove_tree(dir);
  MKIMAGE_TRY_VOID(m_store.index().delete_container(found->id));
  return {};
}

Result<void> ContainerManager::copy(const std::string& container, const std::string& container_path,
                                    const fs::path& host_path, bool to_container) {
  MKIMAGE_TRY(auto found, find(container));
  if (!found) return Error{"No such container: " + container};
  fs::path dir = container_dir(found->id) / "fs";
  // A running container's rootfs is mounted already; else mount it for the copy.
  std::unique_ptr<ActiveSnapshot> snap;
  fs::path rootfs = dir / "merged";
  if (found->state != "running") {
    MKIMAGE_TRY(auto lowers, lowerdirs(found->image));
    Snapshotter snapshotter(m_store.root().tmp_dir() / "active");
    MKIMAGE_TRY(snap, snapshotter.prepare_in(dir, lowers));
    rootfs = snap->rootfs();
  }
  std::string cpath = container_path.empty() ? "/" : container_path;
  if (to_container) {
    struct stat st;
    if (::lstat(host_path.c_str(), &st) != 0) return util::sys_error("copy", host_path.string());
    MKIMAGE_TRY(auto dest, resolve_in_root(rootfs, cpath, FollowFinal::yes));
    struct stat dst;
    if (::stat(dest.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode)) dest /= host_path.filename();
    else if (cpath.back() == '/') return Error{"copy: destination directory \"" + cpath + "\" does not exist"};
    if (::lstat(dest.c_str(), &dst) == 0) remove_tree(dest);
    MKIMAGE_TRY_VOID(copy_tree(host_path, dest));
  } else {
    MKIMAGE_TRY(auto src, resolve_in_root(rootfs, cpath, FollowFinal::no));
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0) return Error{"Could not find the file " + cpath + " in container " + container};
    fs::path dest = host_path;
    struct stat dst;
    if (::stat(dest.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode)) dest /= src.filename();
    if (::lstat(dest.c_str(), &dst) == 0) remove_tree(dest);
    MKIMAGE_TRY_VOID(copy_tree(src, dest));
  }
  return {};
}

}  // namespace mkimage::builder
