// run, ps, logs, stop, start, rm, cp (issue 5 "mkimage run"), plus the hidden
// `__monitor ID` that owns a detached container (builder/container.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "builder/container.hpp"
#include "builder/interrupt.hpp"
#include "mkimage/cli.hpp"
#include "mkimage/output_format.hpp"
#include "store/store.hpp"

namespace mkimage::cli {
namespace fs = std::filesystem;
using builder::ContainerManager;

namespace {

struct RunFlags {
  builder::RunRequest req;
  std::vector<std::string> env, ports, volumes;
  std::string network, entrypoint, runtime = "runc";
  bool entrypoint_set = false;
};

}  // namespace

void register_run_commands(CLI::App& app, GlobalOptions& global) {
  // --- run ---
  auto flags = std::make_shared<RunFlags>();
  auto* run = app.add_subcommand("run", "Run a command in a new container");
  run->prefix_command();  // options stop at IMAGE: the rest is the command
  run->fallthrough(false);
  run->add_flag("--rm", flags->req.remove, "Remove the container when it exits");
  run->add_flag("-i,--interactive", flags->req.interactive, "Keep stdin open");
  run->add_flag("-t,--tty", flags->req.tty, "Allocate a pseudo-terminal");
  run->add_flag("-d,--detach", flags->req.detach, "Run in the background and print the container ID");
  run->add_option("--name", flags->req.name, "Container name");
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
    if (req.detach && req.tty && req.interactive)
      throw CliExit{k_exit_usage, "mkimage run: -d cannot be combined with -it"};
    if (req.tty && !req.detach && !isatty(0))
      throw CliExit{k_exit_usage, "mkimage run: -t needs a terminal on stdin"};
    auto store = open_store(global);
    builder::RuntimeOptions ropts;
    ropts.runtime = flags->runtime;
    ContainerManager mgr(*store, ropts);
    builder::install_interrupt_handlers();
    auto created = mgr.create(req);  // no such image, name in use: docker's 125
    if (!created) throw CliExit{125, "mkimage: " + created.error().message};
    auto rec = *created;
    if (req.detach) {
      if (auto started = mgr.start_detached(rec.id); !started)
        throw CliExit{builder::start_failure_exit_code(started.error().message), "mkimage: " + started.error().message};
      std::cout << rec.id << std::endl;
      return;
    }
    auto code = mgr.run_monitor(rec.id, true, req.interactive);
    if (!code.ok()) throw CliExit{builder::start_failure_exit_code(code.error().message), "mkimage: " + code.error().message};
    if (*code != 0) throw CliExit{*code, ""};
  });

  // --- __monitor (hidden): owns a detached container ---
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

  // --- ps ---
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

  // --- logs ---
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
    int fd = ::open(mgr.log_path(rec->id).c_str(), O_RDONLY | O_CLOEXEC);
    char buf[65536];
    auto drain = [&] {
      if (fd < 0) fd = ::open(mgr.log_path(rec->id).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return;
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::cout.write(buf, n);
      }
      std::cout.flush();
    };
    drain();
    while (*logs_follow) {
      auto now = must(mgr.find(rec->id));
      if (!now || now->state == "exited") {  // "created": the monitor is still starting it
        drain();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      drain();
    }
    if (fd >= 0) ::close(fd);
  });

  // --- stop ---
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

  // --- start ---
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
    for (auto& n : *start_names) {
      auto rec = must(mgr.find(n));
      if (!rec) throw CliExit{k_exit_failure, "mkimage: No such container: " + n};
      if (*start_attach || *start_interactive) {
        int code = must(mgr.run_monitor(rec->id, true, *start_interactive));
        if (code != 0) throw CliExit{code, ""};
      } else {
        must(mgr.start_detached(rec->id));
        std::cout << n << "\n";
      }
    }
  });

  // --- rm ---
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

  // --- cp ---
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

}  // namespace mkimage::cli
