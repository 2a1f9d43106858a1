// run, exec, attach, ps, logs, stop, kill, start, rm, cp (issue 5 "mkimage run"), plus the hidden
// `__monitor ID` that owns a detached container (builder/container.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <iostream>
#include <thread>

#include "builder/container.hpp"
#include "builder/interrupt.hpp"
#include "builder/stdin_relay.hpp"
#include "mkimage/cli.hpp"
#include "mkimage/output_format.hpp"
#include "store/store.hpp"
#include "util/fd.hpp"

namespace mkimage::cli {
namespace fs = std::filesystem;
using builder::ContainerManager;

namespace {

// Copies the container's log (ROOT/containers/<id>/log) to stdout: all of it,
// or from byte `from` on; with `follow` until the container has exited,
// calling `tick` between reads (every 100 ms).
void stream_log(ContainerManager& mgr, const store::ContainerRecord& rec, off_t from, bool follow,
                const std::function<void()>& tick = {}) {
  util::Fd fd(::open(mgr.log_path(rec.id).c_str(), O_RDONLY | O_CLOEXEC));
  if (from > 0 && fd.fd >= 0) ::lseek(fd.fd, from, SEEK_SET);
  char buf[65536];
  auto drain = [&] {
    if (fd.fd < 0) fd.reset(::open(mgr.log_path(rec.id).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) return;
    ssize_t n;
    while ((n = ::read(fd.fd, buf, sizeof buf)) > 0) std::cout.write(buf, n);
    std::cout.flush();
  };
  drain();
  while (follow) {
    auto now = must(mgr.find(rec.id));
    // "created": the monitor is still starting it, unless a start failed (exit code set)
    if (!now || now->state == "exited" || (now->state == "created" && now->exit_code != 0)) {
      drain();
      break;
    }
    if (tick) tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    drain();
  }
}

// The message of a failed container command; the runtime's failure to start
// the process ends as docker's does, in its status ": unknown".
std::string failure_text(const std::string& message) {
  bool runtime = message.starts_with("OCI runtime create failed: ") || message.starts_with("OCI runtime exec failed: ");
  return "mkimage: " + message + (runtime ? ": unknown" : "");
}

// The last signal `attach` received (its sig-proxy passes it on), 0 = none.
std::atomic<int> g_attach_signal{0};
extern "C" void note_attach_signal(int sig) { g_attach_signal = sig; }

struct RunFlags {
  builder::RunRequest req;
  std::vector<std::string> env, ports, volumes;
  std::string network, entrypoint, runtime = "runc";
  bool entrypoint_set = false;
};

// `run`
void add_run(CLI::App& app, GlobalOptions& global) {
  auto flags = std::make_shared<RunFlags>();
  auto* run = app.add_subcommand("run", "Run a command in a new container");
  run->prefix_command();  // options stop at IMAGE: the rest is the command
  run->fallthrough(false);
  run->add_flag("--rm", flags->req.remove, "Remove the container when it exits");
  run->add_flag("-i,--interactive", flags->req.interactive, "Keep stdin open");
  run->add_flag("-t,--tty", flags->req.tty, "Allocate a pseudo-terminal");
  run->add_flag("-d,--detach", flags->req.detach, "Run in the background and print the container ID");
  run->add_option("--name", flags->req.name, "Container name");
  run->add_flag("--init", flags->req.init, "Run an init (tini) inside the container that forwards signals and reaps processes");
  run->add_option("-e,--env", flags->env, "Set an environment variable (K=V, or K for the host's value)")->allow_extra_args(false);
  run->add_option("-w,--workdir", flags->req.workdir, "Working directory inside the container");
  run->add_option("-u,--user", flags->req.user, "User (name|uid[:group|gid])");
  run->add_option("--network", flags->network,
                  "bridge (default: own network namespace with outbound access) | host | none | private (loopback only)");
  run->add_option("-p,--publish", flags->ports, "Publish HOSTPORT:CONTAINERPORT on the host's loopback")->allow_extra_args(false);
  run->add_option("-v,--volume", flags->volumes, "Bind mount HOSTDIR:CTRDIR[:ro]")->allow_extra_args(false);
  run->add_option("--entrypoint", flags->entrypoint, "Override the image's entrypoint")->each([flags](const std::string&) {
    flags->entrypoint_set = true;
  });
  run->add_option("--runtime", flags->runtime, "OCI runtime (default runc)");
  run->callback([run, flags, &global] {
    auto rest = run->remaining();
    if (rest.empty() && run->get_parent()) rest = run->get_parent()->remaining();
    if (rest.empty()) throw CliExit{k_exit_usage, "mkimage run: an IMAGE is required"};
    auto& req = flags->req;
    req.image = rest[0];
    req.command.assign(rest.begin() + 1, rest.end());
    req.env = flags->env;
    if (flags->entrypoint_set) req.entrypoint = flags->entrypoint;
    if (!flags->network.empty()) {
      auto m = builder::parse_network_mode(flags->network);
      if (!m.ok() || flags->network == "isolated")
        throw CliExit{k_exit_usage, "mkimage run: --network must be bridge, host, none or private"};
      req.network = *m;
    }
    for (auto& p : flags->ports) {
      auto m = builder::parse_port_mapping(p);
      if (!m.ok()) throw CliExit{k_exit_usage, "mkimage run: " + m.error().message};
      req.ports.push_back(*m);
    }
    for (auto& v : flags->volumes) {
      auto m = builder::parse_volume(v);
      if (!m.ok()) throw CliExit{k_exit_usage, "mkimage run: " + m.error().message};
      req.volumes.push_back(*m);
    }
    if (req.tty && req.interactive && !req.detach && !isatty(0))  // docker's words and rule (CheckTty)
      throw CliExit{k_exit_failure, "mkimage: the input device is not a TTY"};
    auto store = open_store(global);
    builder::RuntimeOptions ropts;
    ropts.runtime = flags->runtime;
    ContainerManager mgr(*store, ropts);
    builder::install_interrupt_handlers();
    auto created = mgr.create(req);  // no such image, name in use: docker's 125
    if (!created) throw CliExit{125, "mkimage: " + created.error().message};
    auto rec = *created;
    if (req.detach) {
      if (auto started = mgr.start_detached(rec.id); !started) {
        std::cout << rec.id << std::endl;  // created: docker prints its ID before the error
        throw CliExit{builder::start_failure_exit_code(started.error().message), failure_text(started.error().message)};
      }
      std::cout << rec.id << std::endl;
      return;
    }
    auto code = mgr.run_monitor(rec.id, true, req.interactive);
    if (!code.ok()) throw CliExit{builder::start_failure_exit_code(code.error().message), failure_text(code.error().message)};
    if (*code != 0) throw CliExit{*code, ""};
  });
}

// `exec`
void add_exec(CLI::App& app, GlobalOptions& global) {
  auto exec_req = std::make_shared<builder::ExecRequest>();
  auto* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->prefix_command();  // options stop at CONTAINER: the rest is the command
  exec->fallthrough(false);
  exec->add_flag("-d,--detach", exec_req->detach, "Detached mode: run the command in the background");
  exec->add_flag("-i,--interactive", exec_req->interactive, "Keep stdin open");
  exec->add_flag("-t,--tty", exec_req->tty, "Allocate a pseudo-terminal");
  exec->add_option("-e,--env", exec_req->env, "Set an environment variable (K=V, or K for the host's value)")
      ->allow_extra_args(false);
  exec->add_option("-u,--user", exec_req->user, "User (name|uid[:group|gid])");
  exec->add_option("-w,--workdir", exec_req->workdir, "Working directory inside the container");
  exec->callback([exec, exec_req, &global] {
    auto rest = exec->remaining();
    if (rest.empty() && exec->get_parent()) rest = exec->get_parent()->remaining();
    if (rest.size() < 2) throw CliExit{k_exit_usage, "mkimage exec: a CONTAINER and a COMMAND are required"};
    exec_req->command.assign(rest.begin() + 1, rest.end());
    if (exec_req->tty && exec_req->interactive && !exec_req->detach && !isatty(0))  // docker's CheckTty
      throw CliExit{k_exit_failure, "mkimage: the input device is not a TTY"};
    auto store = open_store(global);
    ContainerManager mgr(*store);
    builder::install_interrupt_handlers();
    auto code = mgr.exec(rest[0], *exec_req);
    if (!code.ok()) {
      const std::string& m = code.error().message;
      int status = m.starts_with("OCI runtime exec failed: ") ? builder::start_failure_exit_code(m) : k_exit_failure;
      throw CliExit{status, failure_text(m)};
    }
    if (*code != 0) throw CliExit{*code, ""};
  });
}

// `__monitor` (hidden): owns a detached container
void add_monitor(CLI::App& app, GlobalOptions& global) {
  auto monitor_id = std::make_shared<std::string>();
  auto* monitor = app.add_subcommand("__monitor", "");
  monitor->group("");  // hidden
  monitor->add_option("id", *monitor_id)->required();
  monitor->callback([monitor_id, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    builder::install_interrupt_handlers();
    auto code = mgr.run_monitor(*monitor_id, false, false);
    if (!code.ok()) throw CliExit{125, "mkimage: " + code.error().message};
  });
}

// `ps`
void add_ps(CLI::App& app, GlobalOptions& global) {
  auto ps_all = std::make_shared<bool>(false);
  auto ps_quiet = std::make_shared<bool>(false);
  auto* ps = app.add_subcommand("ps", "List containers");
  ps->add_flag("-a,--all", *ps_all, "Show all containers (default: running ones)");
  ps->add_flag("-q,--quiet", *ps_quiet, "Only IDs");
  ps->callback([ps_all, ps_quiet, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    auto all = must(mgr.list());
    std::vector<std::vector<std::string>> table = {{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}};
    for (auto& c : all) {
      if (!*ps_all && c.state != "running") continue;
      if (*ps_quiet) {
        std::cout << c.id.substr(0, 12) << "\n";
        continue;
      }
      auto settings = builder::settings_from_json(c.config);
      std::string command, ports;
      if (settings.ok()) {
        for (auto& a : settings->args) command += (command.empty() ? "" : " ") + a;
        for (auto& p : settings->ports)
          ports += (ports.empty() ? "" : ", ") + p.host_ip + ":" + std::to_string(p.host_port) + "->" +
                   std::to_string(p.container_port) + "/tcp";
      }
      if (command.size() > 20) command = command.substr(0, 19) + "…";
      command = "\"" + command + "\"";
      std::string status = c.state == "running" ? "Up " + time_since(c.started)
                           : c.state == "exited" ? "Exited (" + std::to_string(c.exit_code) + ") " + time_since(c.finished) + " ago"
                                                 : "Created";
      table.push_back({c.id.substr(0, 12), c.image_ref, command, time_since(c.created) + " ago", status, ports, c.name});
    }
    if (!*ps_quiet) print_table(table);
  });
}

// `logs`
void add_logs(CLI::App& app, GlobalOptions& global) {
  auto logs_follow = std::make_shared<bool>(false);
  auto logs_name = std::make_shared<std::string>();
  auto* logs = app.add_subcommand("logs", "Show a container's output");
  logs->add_flag("-f,--follow", *logs_follow, "Follow the output until the container stops");
  logs->add_option("container", *logs_name)->required();
  logs->callback([logs_follow, logs_name, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    auto rec = must(mgr.find(*logs_name));
    if (!rec) throw CliExit{k_exit_failure, "mkimage: No such container: " + *logs_name};
    stream_log(mgr, *rec, 0, *logs_follow);
  });
}

// `attach`
void add_attach(CLI::App& app, GlobalOptions& global) {
  auto attach_name = std::make_shared<std::string>();
  auto attach_no_stdin = std::make_shared<bool>(false);
  auto attach_sig_proxy = std::make_shared<bool>(true);
  auto* attach = app.add_subcommand("attach", "Attach local standard input and output to a running container");
  attach->add_flag("--no-stdin", *attach_no_stdin, "Do not attach STDIN");
  attach->add_flag("--sig-proxy,!--no-sig-proxy", *attach_sig_proxy, "Proxy received signals to the process (default true)");
  attach->add_option("container", *attach_name)->required();
  attach->callback([attach_name, attach_no_stdin, attach_sig_proxy, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    auto rec = must(mgr.find(*attach_name));
    if (!rec) throw CliExit{k_exit_failure, "mkimage: No such container: " + *attach_name};
    if (rec->state != "running")
      throw CliExit{k_exit_failure, "mkimage: You cannot attach to a stopped container, start it first"};
    if (*attach_sig_proxy) {
      struct sigaction sa{};
      sa.sa_handler = note_attach_signal;
      for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    }
    // stdin: a container started with -i (docker's rule), unless --no-stdin;
    // only a detached one has the FIFO (a foreground `run -i` reads its own terminal).
    struct stat log_st{};
    off_t from = ::stat(mgr.log_path(rec->id).c_str(), &log_st) == 0 ? log_st.st_size : 0;  // what comes after now
    std::unique_ptr<builder::StdinRelay> stdin_relay;
    auto settings = builder::settings_from_json(rec->config);
    if (!*attach_no_stdin && settings.ok() && settings->interactive && fs::exists(mgr.stdin_path(rec->id))) {
      auto relay = builder::StdinRelay::start(mgr.stdin_path(rec->id), 0);
      if (relay) stdin_relay = std::move(*relay);
    }
    stream_log(mgr, *rec, from, true, [&] {
      if (int sig = g_attach_signal.exchange(0)) (void)mgr.kill(rec->id, sig);
    });
    stdin_relay.reset();
    auto done = must(mgr.find(rec->id));  // gone: removed by --rm
    if (done && done->exit_code != 0) throw CliExit{static_cast<int>(done->exit_code), ""};
  });
}

// `kill`
void add_kill(CLI::App& app, GlobalOptions& global) {
  auto kill_names = std::make_shared<std::vector<std::string>>();
  auto kill_signal = std::make_shared<std::string>("KILL");
  auto* kill = app.add_subcommand("kill", "Kill one or more running containers");
  kill->add_option("-s,--signal", *kill_signal, "Signal to send to the container (default KILL)");
  kill->add_option("containers", *kill_names)->required();
  kill->callback([kill_names, kill_signal, &global] {
    auto sig = builder::parse_signal(*kill_signal);
    if (!sig) throw CliExit{k_exit_usage, "mkimage kill: Invalid signal: " + *kill_signal};
    auto store = open_store(global);
    ContainerManager mgr(*store);
    int failed = 0;
    for (auto& n : *kill_names) {
      if (auto r = mgr.kill(n, *sig); !r) {
        std::cerr << "mkimage: " << r.error().message << '\n';
        ++failed;
        continue;
      }
      std::cout << n << "\n";
    }
    if (failed) throw CliExit{k_exit_failure, ""};
  });
}

// `stop`
void add_stop(CLI::App& app, GlobalOptions& global) {
  auto stop_names = std::make_shared<std::vector<std::string>>();
  auto stop_time = std::make_shared<int>(10);
  auto* stop = app.add_subcommand("stop", "Stop running containers");
  stop->add_option("-t,--time", *stop_time, "Seconds to wait before killing");
  stop->add_option("containers", *stop_names)->required();
  stop->callback([stop_names, stop_time, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    for (auto& n : *stop_names) {
      must(mgr.stop(n, *stop_time));
      std::cout << n << "\n";
    }
  });
}

// `start`
void add_start(CLI::App& app, GlobalOptions& global) {
  auto start_attach = std::make_shared<bool>(false);
  auto start_interactive = std::make_shared<bool>(false);
  auto start_names = std::make_shared<std::vector<std::string>>();
  auto* start = app.add_subcommand("start", "Start stopped containers");
  start->add_flag("-a,--attach", *start_attach, "Attach stdout/stderr and wait");
  start->add_flag("-i,--interactive", *start_interactive, "Attach stdin");
  start->add_option("containers", *start_names)->required();
  start->callback([start_attach, start_interactive, start_names, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    builder::install_interrupt_handlers();
    // docker's shape: each container is tried, each failure printed, then one summary line
    std::string failed;
    for (auto& n : *start_names) {
      auto rec = must(mgr.find(n));
      if (rec && (*start_attach || *start_interactive)) {
        auto code = mgr.run_monitor(rec->id, true, *start_interactive);
        if (!code) throw CliExit{k_exit_failure, failure_text(code.error().message)};
        if (*code != 0) throw CliExit{*code, ""};
        continue;
      }
      auto started = rec ? mgr.start_detached(rec->id) : util::Result<void>(util::Error{"No such container: " + n});
      if (started) {
        std::cout << n << "\n";
        continue;
      }
      std::cerr << failure_text(started.error().message) << "\n";
      failed += (failed.empty() ? "" : ", ") + n;
    }
    if (!failed.empty()) throw CliExit{k_exit_failure, "Error: failed to start containers: " + failed};
  });
}

// `rm`
void add_rm(CLI::App& app, GlobalOptions& global) {
  auto rm_force = std::make_shared<bool>(false);
  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto* rm = app.add_subcommand("rm", "Remove containers");
  rm->add_flag("-f,--force", *rm_force, "Kill a running container first");
  rm->add_option("containers", *rm_names)->required();
  rm->callback([rm_force, rm_names, &global] {
    auto store = open_store(global);
    ContainerManager mgr(*store);
    for (auto& n : *rm_names) {
      must(mgr.remove(n, *rm_force));
      std::cout << n << "\n";
    }
  });
}

// `cp`
void add_cp(CLI::App& app, GlobalOptions& global) {
  auto cp_args = std::make_shared<std::vector<std::string>>();
  auto* cp = app.add_subcommand("cp", "Copy files between a container and the host (NAME:PATH either side)");
  cp->add_option("paths", *cp_args, "SRC DST")->required()->expected(2);
  cp->callback([cp_args, &global] {
    const auto& src = (*cp_args)[0];
    const auto& dst = (*cp_args)[1];
    auto split = [](const std::string& s) -> std::optional<std::pair<std::string, std::string>> {
      auto c = s.find(':');
      if (c == std::string::npos || c == 0 || s.find('/') < c) return std::nullopt;
      return std::make_pair(s.substr(0, c), s.substr(c + 1));
    };
    auto s = split(src), d = split(dst);
    if (s.has_value() == d.has_value())
      throw CliExit{k_exit_usage, "mkimage cp: exactly one of SRC and DST must be CONTAINER:PATH"};
    auto store = open_store(global);
    ContainerManager mgr(*store);
    if (s) must(mgr.copy(s->first, s->second, dst, false));
    else must(mgr.copy(d->first, d->second, src, true));
  });
}

}  // namespace

void register_run_commands(CLI::App& app, GlobalOptions& global) {
  add_run(app, global);
  add_exec(app, global);
  add_monitor(app, global);
  add_ps(app, global);
  add_logs(app, global);
  add_attach(app, global);
  add_kill(app, global);
  add_stop(app, global);
  add_start(app, global);
  add_rm(app, global);
  add_cp(app, global);
}

}  // namespace mkimage::cli
