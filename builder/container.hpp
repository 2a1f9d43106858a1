// Containers of `mkimage run` (issue 5): an image's snapshots stacked under a
// writable layer kept in ROOT/containers/<id>/fs/ until `rm`, run with the
// same OCI runtime as RUN steps, recorded in the index (store::ContainerRecord;
// its `config` column holds ContainerSettings as JSON).
//
// States: created → running → exited (→ running again with start) → removed.
// A running container is owned by one mkimage process (its "monitor": the
// foreground `run`/`start -a`, or a background `mkimage __monitor ID` for
// -d / start), whose pid is the record's pid; it holds the port forwarders,
// writes the log ROOT/containers/<id>/log (stdout and stderr, unless -t),
// records the exit, and removes the container for --rm. A record that says
// running while its monitor is gone is reported (and saved) as exited (137).
//
// docker's rules applied: Entrypoint/Cmd (`--entrypoint` replaces the
// entrypoint and drops the image's Cmd; CMD args after IMAGE replace Cmd),
// Env (image, then -e; `-e K` takes the host's value; HOSTNAME, and HOME from
// the user's passwd entry when unset), WorkingDir (-w, default "/"), User (-u,
// resolved in the container's /etc/passwd and /etc/group).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "builder/runtime.hpp"
#include "store/index.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

// -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp]
struct PortMapping {
  std::string host_ip = "127.0.0.1";
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
};
// Errors: malformed, ports outside 1..65535, a protocol other than tcp.
util::Result<PortMapping> parse_port_mapping(std::string_view text);

// -v HOSTDIR:CTRDIR[:ro|rw]
struct VolumeMount {
  std::string host_path;       // absolute (made absolute from the cwd)
  std::string container_path;  // absolute
  bool readonly = false;
};
util::Result<VolumeMount> parse_volume(std::string_view text);

// What `mkimage run` asked for (the CLI's flags).
struct RunRequest {
  std::string image;                      // reference as typed
  std::vector<std::string> command;       // after IMAGE
  std::optional<std::string> entrypoint;  // --entrypoint ("" = none)
  std::vector<std::string> env;           // -e K=V or K
  std::string workdir;                    // -w
  std::string user;                       // -u
  std::optional<NetworkMode> network;     // default: isolated (docker's bridge: outbound access, -p ports)
  std::vector<PortMapping> ports;
  std::vector<VolumeMount> volumes;
  std::string name;                       // "" = generated
  bool remove = false;                    // --rm
  bool interactive = false;               // -i
  bool tty = false;                       // -t
  bool detach = false;                    // -d
  bool init = false;                      // --init: tini as pid 1 (container_init_path())
};

// What `mkimage exec` asked for.
struct ExecRequest {
  std::vector<std::string> command;  // at least one element
  std::vector<std::string> env;      // -e K=V or K (the host's value)
  std::string workdir;               // -w ("" = the container's)
  std::string user;                  // -u ("" = the container's user)
  bool interactive = false;          // -i: our stdin, else /dev/null
  bool tty = false;                  // -t
  bool detach = false;               // -d
};

// The container's settings as stored in ContainerRecord::config (JSON).
struct ContainerSettings {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::string user;  // unresolved USER value
  NetworkMode network = NetworkMode::host;
  std::vector<PortMapping> ports;
  std::vector<VolumeMount> volumes;
  bool remove = false;
  bool interactive = false;
  bool tty = false;
  std::string stop_signal;  // image StopSignal ("" = SIGTERM)
  bool init = false;        // --init
};

// The init `run --init` puts at /sbin/docker-init in the container (docker's
// path), a static tini: /usr/bin/docker-init or /usr/bin/tini-static (the
// Debian package tini). Errors: neither exists.
util::Result<std::filesystem::path> container_init_path();
std::string settings_to_json(const ContainerSettings& s);
util::Result<ContainerSettings> settings_from_json(const std::string& text);

// The process and settings for `request` on `image` (docker's merge rules).
// Errors: no command (neither image nor request has one), bad -e.
util::Result<ContainerSettings> make_settings(const RunRequest& request, const store::Image& image);

// The runtime's id of container `id` (64 hex): "mkimage-" + its first 32 characters.
std::string runtime_container_id(const std::string& id);

// A signal as `docker kill -s` takes it: a name with or without SIG (any
// case: "KILL", "SIGTERM", "hup") or a number 1..64. nullopt: not a signal.
std::optional<int> parse_signal(const std::string& name);

// docker's container name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least).
bool valid_container_name(std::string_view name);

class ContainerManager {
public:
  ContainerManager(store::Store& store, RuntimeOptions runtime = {});

  // Records a new container (state "created", writable layer dir made).
  // Errors: no such image, name in use, bad settings.
  util::Result<store::ContainerRecord> create(const RunRequest& request);

  // Runs the container in this process until it exits (the monitor role):
  // mounts, forwards ports, runs, records the exit, applies --rm.
  // `attach`: stdio goes to this process's (and the log, unless tty); else
  // only to the log. Returns the exit code. Errors: already running, mount
  // or runtime failures, a -p port in use, an unknown -u user. A failure
  // before the process ran is recorded like docker's: the container exits
  // with start_failure_exit_code() (and is removed with --rm), and the message
  // is kept for start_detached() in start_error_path(id).
  util::Result<int> run_monitor(const std::string& id, bool attach, bool attach_stdin);

  // Starts a background monitor process (`mkimage --root ROOT __monitor ID`)
  // and waits until the container runs (or already exited). Errors: spawn
  // failure, already running, and every error run_monitor() had before the
  // container's process ran (its message).
  util::Result<void> start_detached(const std::string& id);

  // Sends the stop signal, waits `timeout_s` seconds, then SIGKILL; waits
  // for the monitor to record the exit. Stopping a stopped one is a no-op.
  util::Result<void> stop(const std::string& id, int timeout_s = 10);

  // `mkimage kill`: sends `signal` to the container's process. Errors: no
  // such container, "Container ID is not running", the runtime failed.
  util::Result<void> kill(const std::string& id_or_name, int signal);

  // Removes a container (its writable layer and record). A running one is
  // an error unless `force` (then it is killed first).
  util::Result<void> remove(const std::string& id_or_name, bool force);

  // `mkimage exec`: runs `request.command` in the running container
  // `id_or_name` (builder/container_exec.cpp). Returns its exit code (0 at
  // once with `detach`). Errors: no such container, "Container ID is not
  // running" (docker's words), an unknown -u user, bad -e, the runtime's
  // "OCI runtime exec failed: ..." when the process cannot start.
  util::Result<int> exec(const std::string& id_or_name, const ExecRequest& request);

  // The record, with a dead monitor's "running" turned into "exited".
  // nullopt if unknown (id, id prefix or name).
  util::Result<std::optional<store::ContainerRecord>> find(const std::string& id_or_name);
  util::Result<std::vector<store::ContainerRecord>> list();

  std::filesystem::path container_dir(const std::string& id) const;
  std::filesystem::path log_path(const std::string& id) const { return container_dir(id) / "log"; }
  // A detached container started with -i reads its stdin from this FIFO
  // while it runs (its monitor holds it open: no EOF, as docker's `run -di`);
  // `attach` writes into it (builder/stdin_relay.hpp).
  std::filesystem::path stdin_path(const std::string& id) const { return container_dir(id) / "stdin"; }
  // Where a detached monitor leaves the message of a failed start (outside
  // the container's directory, which --rm removes).
  std::filesystem::path start_error_path(const std::string& id) const;

  // `mkimage cp`: copies SRC to DST where exactly one side is `container`
  // (`to_container` tells which). Paths inside resolve within the rootfs.
  // Docker's rules: into an existing directory, else under the given name.
  // Errors: missing source, I/O.
  util::Result<void> copy(const std::string& container, const std::string& container_path,
                          const std::filesystem::path& host_path, bool to_container);

private:
  util::Result<std::vector<std::filesystem::path>> lowerdirs(const store::Digest& manifest);
  util::Result<int> run_monitor_steps(const std::string& id, bool attach, bool attach_stdin);
  store::Store& m_store;
  Runtime m_runtime;
};

}  // namespace mkimage::builder
