// config.json generation for builder/runtime.hpp (OCI runtime-spec 1.0.2,
// config.md and config-linux.md). The defaults mirror docker's and
// containerd's default spec (capabilities, masked and read-only paths).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "store/owner.hpp"
#include "util/json_text.hpp"
#include "builder/runtime.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using nlohmann::json;
using util::Error;
using util::Result;

Result<NetworkMode> parse_network_mode(std::string_view text) {
  if (text == "default" || text == "host" || text.empty()) return NetworkMode::host;
  if (text == "none") return NetworkMode::none;
  if (text == "private") return NetworkMode::private_;
  return Error{"unknown network mode \"" + std::string(text) + "\" (expected default, host, none or private)"};
}

std::string_view to_string(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::host: return "host";
    case NetworkMode::none: return "none";
    case NetworkMode::private_: return "private";
  }
  return "host";
}

std::vector<std::string> default_mount_destinations() {
  return {"/proc",       "/dev",           "/dev/pts",  "/dev/shm",  "/dev/mqueue",
          "/sys",        "/sys/fs/cgroup", "/etc/hosts", "/etc/resolv.conf"};
}

std::string new_container_id() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  char buf[64];
  // the owner's pid and start time (store/owner.hpp): Runtime::remove_orphans
  std::snprintf(buf, sizeof buf, "mkimage-%s-%u-%08x", store::owner_tag().c_str(), counter++,
                static_cast<unsigned>(rd()));
  return buf;
}

namespace {

const std::vector<std::string> k_capabilities = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",           "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",  "CAP_SETFCAP",          "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",            "CAP_SYS_CHROOT", "CAP_KILL",         "CAP_AUDIT_WRITE"};

json mount(const std::string& dest, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return json{{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

std::string hosts_text(const ContainerSpec& spec) {
  std::string out = "127.0.0.1\tlocalhost";
  if (!spec.hostname.empty()) out += " " + spec.hostname;
  out += "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& line : spec.extra_hosts) out += line + "\n";
  return out;
}

Result<void> write_text(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return util::sys_error("write", path.string());
  f << text;
  f.close();
  if (!f) return util::sys_error("write", path.string());
  ::chmod(path.c_str(), mode);
  return {};
}

}  // namespace

std::string make_runtime_config(const ContainerSpec& spec, const fs::path& bundle_dir) {
  const auto& p = spec.process;
  std::vector<std::string> env = p.env;
  bool has_path = false;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) has_path = true;
  if (!has_path) env.insert(env.begin(), std::string("PATH=") + k_default_path);

  // docker's 1048576, capped by our own hard limit (raising it needs
  // CAP_SYS_RESOURCE in the host's user namespace, which a sandbox may lack).
  std::uint64_t nofile = 1048576;
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < nofile) nofile = rl.rlim_max;
  json process = {
      {"terminal", p.terminal},
      {"user", {{"uid", p.uid}, {"gid", p.gid}}},
      {"args", p.args},
      {"env", env},
      {"cwd", p.cwd.empty() ? "/" : p.cwd},
      {"capabilities",
       {{"bounding", k_capabilities},
        {"effective", k_capabilities},
        {"permitted", k_capabilities},
        {"inheritable", json::array()},
        {"ambient", json::array()}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", nofile}, {"soft", nofile}}})},
      {"noNewPrivileges", false},
  };
  if (!p.additional_gids.empty()) process["user"]["additionalGids"] = p.additional_gids;

  json mounts = json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  mounts.push_back(mount("/etc/hosts", "bind", (bundle_dir / "hosts").string(), {"rbind", "ro"}));
  mounts.push_back(mount("/etc/resolv.conf", "bind", (bundle_dir / "resolv.conf").string(), {"rbind", "ro"}));
  for (const auto& m : spec.mounts) mounts.push_back(mount(m.destination, m.type, m.source, m.options));

  json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (spec.network != NetworkMode::host) namespaces.push_back({{"type", "network"}});

  json linux_ = {
      {"namespaces", namespaces},
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };

  json config = {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", fs::absolute(spec.rootfs).string()}, {"readonly", spec.readonly_rootfs}}},
      {"hostname", spec.hostname},
      {"mounts", mounts},
      {"linux", linux_},
  };
  return util::json_text(config, 2);
}

Result<void> write_bundle(const ContainerSpec& spec, const fs::path& bundle_dir) {
  std::error_code ec;
  fs::create_directories(bundle_dir, ec);
  if (ec) return Error{"create directory \"" + bundle_dir.string() + "\": " + ec.message()};
  MKIMAGE_TRY_VOID(write_text(bundle_dir / "hosts", hosts_text(spec)));
  // A copy of the host's resolv.conf: the bind source stays stable and the
  // container cannot reach the host's file.
  std::string resolv;
  {
    std::ifstream f("/etc/resolv.conf", std::ios::binary);
    if (f) resolv.assign(std::istreambuf_iterator<char>(f), {});
  }
  MKIMAGE_TRY_VOID(write_text(bundle_dir / "resolv.conf", resolv));
  MKIMAGE_TRY_VOID(write_text(bundle_dir / "config.json", make_runtime_config(spec, bundle_dir), 0600));
  return {};
}

}  // namespace mkimage::builder
