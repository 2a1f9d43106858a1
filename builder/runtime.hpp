// The OCI runtime driver: turns a container description into an OCI
// runtime-spec bundle (config.json, runtime-spec config.md / config-linux.md)
// and runs it with an OCI runtime (runc by default, `--runtime PATH` for
// another one such as crun). Used by RUN steps and by `mkimage run`.
//
// What every container gets (like BuildKit's and docker's default spec):
//   - namespaces pid, mount, ipc, uts, and network unless NetworkMode::host;
//   - mounts /proc, /dev (tmpfs; the runtime creates null, zero, full, random,
//     urandom, tty, ptmx and the fd symlinks), /dev/pts, /dev/shm, /dev/mqueue,
//     /sys read-only, /sys/fs/cgroup read-only, and read-only bind mounts of
//     a generated /etc/hosts (localhost and the hostname) and of a copy of
//     the host's /etc/resolv.conf, both kept in the bundle directory;
//   - docker's default capability set, RLIMIT_NOFILE 1048576, docker's masked
//     and read-only /proc paths, the standard container seccomp profile
//     (builder/seccomp_profile.hpp; docker's rules against creating user
//     namespaces), noNewPrivileges as ContainerSpec::no_new_privileges says
//     (true for RUN steps, false for `mkimage run` as in `docker run`);
//   - ContainerSpec::insecure (RUN --security=insecure, allowed by
//     `build --allow security.insecure`): all capabilities, no seccomp, no
//     masked or read-only paths, /sys and the cgroup tree writable — docker's
//     `--privileged` without the host devices.
//
// Network modes. `isolated` (RUN steps by default): a private network
// namespace per container with outbound access through slirp4netns, a
// user-space network stack (builder/private_network.hpp); host loopback services are
// not reachable. `none`: a new network namespace; runc brings up loopback in
// every new network namespace, so the container sees only `lo` (127.0.0.1).
// `host`: no network namespace. `private`: a new namespace like `none`; it is
// what `mkimage run -p` publishes ports into (builder/port_forward.hpp).
// The default, for builds and `mkimage run` alike, is `isolated` (docker's
// `bridge` for a container: its own namespace with outbound access).
//
// Cleanup guarantees: each run uses a fresh unique container id; when the
// runtime exits (or fails to start), `runtime delete -f ID` always runs; the
// container is registered with builder/interrupt.hpp so Ctrl-C kills and
// deletes it before the process exits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

class PrivateNetwork;  // builder/private_network.hpp

enum class NetworkMode {
  host,      // share the host's network namespace
  none,      // own network namespace with loopback only
  private_,  // own network namespace with loopback only; ports published by a forwarder
  isolated   // own network namespace, outbound access through slirp4netns (RUN's default)
};

// Parses a network mode (`mkimage run --network`, RUN --network, a stored
// container's settings): "default", "bridge" (docker's name), "isolated" and
// "" → isolated; "host" → host; "none" → none; "private" → private_.
// Errors: any other value.
util::Result<NetworkMode> parse_network_mode(std::string_view text);
std::string_view to_string(NetworkMode mode);

// One OCI mount (runtime-spec config.md "mounts"): destination inside the
// container, type ("bind", "tmpfs", ...), source on the host, mount options
// ("rbind", "ro", "size=65536k", ...).
struct OciMount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

// The process to run (runtime-spec config.md "process").
struct ProcessSpec {
  std::vector<std::string> args;  // argv; args[0] is resolved in PATH by the runtime
  std::vector<std::string> env;   // "KEY=VALUE"; a PATH is added if missing
  std::string cwd = "/";          // absolute path inside the container
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  bool terminal = false;          // allocate a pty (runtime in foreground: our stdin is the console)
};

// The default PATH docker and BuildKit put in an image without one.
inline constexpr const char* k_default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A container to run.
struct ContainerSpec {
  std::filesystem::path rootfs;  // an already-mounted root filesystem (overlay merged dir)
  bool readonly_rootfs = false;
  ProcessSpec process;
  NetworkMode network = NetworkMode::host;
  std::string hostname = "buildkitsandbox";  // BuildKit's hostname for RUN
  std::vector<std::string> extra_hosts;      // extra /etc/hosts lines ("1.2.3.4 name")
  std::vector<OciMount> mounts;              // added after the default mounts (RUN --mount, -v)
  bool no_new_privileges = false;            // process.noNewPrivileges (RUN: true)
  bool insecure = false;                     // RUN --security=insecure (see the top of this file)
  // Set by Runtime::run for NetworkMode::isolated: the network namespace to
  // join (a bind-mounted nsfs file) and the /etc/resolv.conf text to show;
  // otherwise the container gets a copy of the host's resolv.conf.
  std::string netns_path;
  std::optional<std::string> resolv_conf;
};

// The standard mount destinations every container gets (in this order);
// with ContainerSpec::mounts they are the mount points the runtime may create
// in the rootfs (see Snapshotter::record_mount_points).
std::vector<std::string> default_mount_destinations();

// Where each container's output goes.
struct RunIo {
  // When set, stdout and stderr are read through pipes and passed here as
  // they arrive (chunks, not lines); stdin is stdin_fd if >= 0, else /dev/null.
  // `is_stderr` tells which.
  std::function<void(std::string_view chunk, bool is_stderr)> on_output;
  // Otherwise these descriptors are given to the runtime (-1 = inherit ours).
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Put the runtime in its own process group so a terminal's Ctrl-C reaches
  // only mkimage (which then kills the container).
  bool own_process_group = true;
  // A process with a terminal (ProcessSpec::terminal): the runtime hands the
  // terminal to mkimage, which copies stdin_fd (-1 = none) into it and its
  // output to on_output (as stdout) or stdout_fd (-1 = ours). No terminal is
  // needed on mkimage's side.
};

struct RuntimeOptions {
  std::string runtime = "runc";                       // name in PATH or a path
  std::filesystem::path state_dir = "/run/mkimage/runc";  // the runtime's --root
};

// Writes an OCI bundle for `spec` into `bundle_dir` (created if missing):
// config.json, plus the hosts and resolv.conf files it bind-mounts. `root_path` in config.json is spec.rootfs (absolute).
// Errors: I/O naming the path; the seccomp profile is missing or invalid
// (builder/seccomp_profile.hpp default_seccomp; not for an insecure spec).
util::Result<void> write_bundle(const ContainerSpec& spec, const std::filesystem::path& bundle_dir);

// The config.json document for `spec` (as text). `bundle_dir` is where the
// generated hosts/resolv.conf files live; `seccomp_json` is the
// `linux.seccomp` object as JSON text ("" = none).
std::string make_runtime_config(const ContainerSpec& spec, const std::filesystem::path& bundle_dir,
                                const std::string& seccomp_json = {});

// docker's default capability set (the bounding, effective and permitted set
// of every container that is not insecure).
const std::vector<std::string>& default_capabilities();

// docker's exit status for a container whose process could not start, from
// the runtime's error message: 127 when the command was not found, 126 when
// it could not be executed (permission denied), 125 otherwise.
int start_failure_exit_code(const std::string& message);

// A fresh container id: "mkimage-<pid>-<counter>-<8 random hex>" (at most 40 chars).
std::string new_container_id();

class Runtime {
public:
  explicit Runtime(RuntimeOptions options = {});
  const RuntimeOptions& options() const { return m_options; }

  // Checks that the runtime binary exists and runs (`runtime --version`).
  // Errors: not found / not executable, naming it.
  util::Result<void> check() const;

  // Runs `spec` to completion in the foreground: writes the bundle into
  // `bundle_dir`, starts `runtime run --bundle DIR ID`, streams output per
  // `io`, waits, and deletes the container (`runtime delete -f ID`) whatever
  // happened. Returns the process's exit code (0-255; 128+N when killed by
  // signal N). `id` empty = new_container_id(). `on_started(pid)` (optional)
  // is called with the runtime process's pid once it runs.
  // Errors: bundle I/O, the runtime cannot be started, the runtime could not
  // start the container's process (message "OCI runtime create failed: unable to start
  // container process: exec: ...", from the runtime's log in
  // `bundle_dir`/runtime.log; see start_failure_exit_code; the copy the
  // runtime printed on stderr is not shown: builder/runtime_stderr.hpp), or
  // mkimage was interrupted (the container is killed and deleted first).
  // `network` (NetworkMode::isolated only): a private network the caller
  // started (PrivateNetwork::start) for the container to use; run waits for
  // it to be ready before starting the container. nullptr = run makes one.
  util::Result<int> run(const ContainerSpec& spec, const std::filesystem::path& bundle_dir,
                        const RunIo& io, std::string id = {},
                        const std::function<void(int pid)>& on_started = {},
                        PrivateNetwork* network = nullptr) const;

  // Runs another process in the running container `id` (`runtime exec`, as
  // `docker exec`): the container's process settings (capabilities, seccomp,
  // no_new_privileges, rlimits, env) with `process.args`, `process.env`
  // appended to the container's env, `process.cwd` ("" = the container's),
  // the uid/gid/additional_gids given, and a pty when `process.terminal`
  // (handed to us and copied: stdin_fd -1 = no input). stdio: `io.stdin_fd` (-1 = ours, -2 =
  // /dev/null), stdout/stderr ours (stderr relayed without the runtime's own
  // error line). `detach`: returns 0 once the process is started, its
  // output discarded as docker's exec -d does. `log` is the runtime's log file (its errors are read from it).
  // Returns the process's exit code (128+N when killed by signal N).
  // Errors: the runtime could not start the process ("OCI runtime exec failed: ...",
  // see start_failure_exit_code), the runtime cannot be started.
  util::Result<int> exec(const std::string& id, const ProcessSpec& process, int stdin_fd, bool detach,
                         const std::filesystem::path& log) const;

  // `runtime kill ID SIGNAL` (signal number). Errors: the runtime failed.
  util::Result<void> kill(const std::string& id, int signal) const;
  // `runtime delete -f ID`; a container that does not exist is not an error.
  util::Result<void> remove(const std::string& id) const;
  // Kills and deletes runtime containers a killed build left running: ids
  // made by new_container_id() whose owner (pid and start time) is dead.
  // Read from the runtime's state directory; errors are ignored. Then removes
  // the private networks such builds left (PrivateNetwork::remove_orphans).
  void remove_orphans() const;
  // True if the runtime knows a running/created container `id` (`runtime state`).
  bool exists(const std::string& id) const;
  // The host pid of the container's init process (`runtime state`), or
  // nullopt when the container does not exist or has no process yet; with
  // `started`, also nullopt until the runtime has started the container's
  // program (state "running", not "created").
  std::optional<int> init_pid(const std::string& id, bool started = false) const;

private:
  // `delete -f ID` unless `run` already removed the container's state.
  void delete_leftover(const std::string& id) const;
  // run() of a process with a terminal: `runtime run -d --console-socket`,
  // the terminal copied here (builder/tty_relay.hpp), the exit reaped as the
  // container's subreaper. stdin: io.stdin_fd (-1 = none); output: io.on_output
  // (as stdout) or io.stdout_fd (-1 = ours).
  util::Result<int> run_with_console(const ContainerSpec& spec, const std::filesystem::path& bundle_dir,
                                     const RunIo& io, const std::string& id,
                                     const std::function<void(int pid)>& on_started) const;
  // exec() of a process with a terminal: `runtime exec --detach
  // --console-socket`, the terminal copied here (stdin_fd: -1 = none).
  util::Result<int> exec_with_console(std::vector<std::string> argv, int stdin_fd,
                                      const std::filesystem::path& log) const;

  RuntimeOptions m_options;
};

}  // namespace mkimage::builder
