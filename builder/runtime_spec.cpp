// config.json generation for builder/runtime.hpp (OCI runtime-spec 1.0.2,
// config.md and config-linux.md). The defaults mirror docker's and
// containerd's default spec (capabilities, masked and read-only paths).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "store/owner.hpp"
#include "util/json_text.hpp"
#include "builder/runtime.hpp"
#include "builder/seccomp_profile.hpp"
#include "util/random.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using nlohmann::json;
using util::Error;
using util::Result;

Result<NetworkMode> parse_network_mode(std::string_view text) {
  if (text == "default" || text == "bridge" || text == "isolated" || text.empty()) return NetworkMode::isolated;
  if (text == "host") return NetworkMode::host;
  if (text == "none") return NetworkMode::none;
  if (text == "private") return NetworkMode::private_;
  return Error{"unknown network mode \"" + std::string(text) + "\" (expected bridge, host, none or private)"};
}

std::string_view to_string(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::host: return "host";
    case NetworkMode::none: return "none";
    case NetworkMode::private_: return "private";
    case NetworkMode::isolated: return "isolated";
  }
  return "host";
}

std::vector<std::string> default_mount_destinations() {
  return {"/proc",       "/dev",           "/dev/pts",  "/dev/shm",  "/dev/mqueue",
          "/sys",        "/sys/fs/cgroup", "/etc/hosts", "/etc/resolv.conf"};
}

std::string new_container_id() {
  static std::atomic<unsigned> counter{0};
  char buf[64];
  // the owner's pid and start time (store/owner.hpp): Runtime::remove_orphans
  std::snprintf(buf, sizeof buf, "mkimage-%s-%u-%08x", store::owner_tag().c_str(), counter++,
                static_cast<unsigned>(util::random_u64()));
  return buf;
}

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> k = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",  "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",       "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE",            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  return k;
}

namespace {

// Every capability up to CAP_CHECKPOINT_RESTORE (40) that our own bounding
// set holds (a runtime cannot grant more): RUN --security=insecure.
const std::vector<std::string>& all_capabilities() {
  static const std::vector<std::string> all = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
      "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
      "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
      "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  static const std::vector<std::string> held = [] {
    std::uint64_t bounding = ~std::uint64_t{0};
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("CapBnd:", 0) == 0) bounding = std::strtoull(line.c_str() + 7, nullptr, 16);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (bounding & (std::uint64_t{1} << i)) out.push_back(all[i]);
    return out;
  }();
  return held;
}

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

std::string make_runtime_config(const ContainerSpec& spec, const fs::path& bundle_dir, const std::string& seccomp_json) {
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
  const auto& caps = spec.insecure ? all_capabilities() : default_capabilities();
  // --security=insecure: /sys and the cgroup tree writable (docker --privileged).
  const char* sys_access = spec.insecure ? "rw" : "ro";
  json process = {
      {"terminal", p.terminal},
      {"user", {{"uid", p.uid}, {"gid", p.gid}}},
      {"args", p.args},
      {"env", env},
      {"cwd", p.cwd.empty() ? "/" : p.cwd},
      {"capabilities",
       {{"bounding", caps},
        {"effective", caps},
        {"permitted", caps},
        {"inheritable", json::array()},
        {"ambient", json::array()}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", nofile}, {"soft", nofile}}})},
      {"noNewPrivileges", spec.no_new_privileges && !spec.insecure},
  };
  if (!p.additional_gids.empty()) process["user"]["additionalGids"] = p.additional_gids;

  json mounts = json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", sys_access}));
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", sys_access}));
  mounts.push_back(mount("/etc/hosts", "bind", (bundle_dir / "hosts").string(), {"rbind", "ro"}));
  mounts.push_back(mount("/etc/resolv.conf", "bind", (bundle_dir / "resolv.conf").string(), {"rbind", "ro"}));
  for (const auto& m : spec.mounts) mounts.push_back(mount(m.destination, m.type, m.source, m.options));

  json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (!spec.netns_path.empty()) namespaces.push_back({{"type", "network"}, {"path", spec.netns_path}});
  else if (spec.network != NetworkMode::host) namespaces.push_back({{"type", "network"}});

  json linux_ = {
      {"namespaces", namespaces},
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
  };
  if (!spec.insecure) {
    linux_["maskedPaths"] = {"/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
                             "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                             "/proc/scsi",          "/sys/firmware"};
    linux_["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }
  if (!seccomp_json.empty()) linux_["seccomp"] = json::parse(seccomp_json);

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
  // A copy of the host's resolv.conf (or the private network's): the bind
  // source stays stable and the container cannot reach the host's file.
  std::string resolv;
  if (spec.resolv_conf) {
    resolv = *spec.resolv_conf;
  } else {
    std::ifstream f("/etc/resolv.conf", std::ios::binary);
    if (f) resolv.assign(std::istreambuf_iterator<char>(f), {});
  }
  MKIMAGE_TRY_VOID(write_text(bundle_dir / "resolv.conf", resolv));
  std::string seccomp;
  if (!spec.insecure) {
    MKIMAGE_TRY(json profile, default_seccomp(default_capabilities()));
    seccomp = profile.dump();
  }
  MKIMAGE_TRY_VOID(write_text(bundle_dir / "config.json", make_runtime_config(spec, bundle_dir, seccomp), 0600));
  return {};
}

}  // namespace mkimage::builder
