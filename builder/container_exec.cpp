// `mkimage exec` (builder/container.hpp ContainerManager::exec): another
// process in a running container, as `docker exec` starts it — the
// container's environment with -e on top, its working directory unless -w,
// its user unless -u (resolved in the container's own /etc/passwd and
// /etc/group, read through /proc/<init pid>/root), the same capabilities,
// seccomp profile and namespaces.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "builder/container.hpp"
#include "builder/user_db.hpp"
#include "util/fd.hpp"
#include "util/random.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

// -e values as docker takes them: K=V, or K for the host's value (skipped when unset).
Result<std::vector<std::string>> exec_env(const std::vector<std::string>& given) {
  std::vector<std::string> env;
  for (const auto& e : given) {
    if (e.empty() || e[0] == '=') return Error{"invalid -e \"" + e + "\""};
    if (e.find('=') != std::string::npos) {
      env.push_back(e);
    } else if (const char* v = std::getenv(e.c_str())) {
      env.push_back(e + "=" + v);
    }
  }
  return env;
}

std::string random_hex() {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(util::random_u64()));
  return buf;
}

}  // namespace

Result<int> ContainerManager::exec(const std::string& id_or_name, const ExecRequest& request) {
  if (request.command.empty()) return Error{"exec needs a command"};
  MKIMAGE_TRY(auto found, find(id_or_name));
  if (!found) return Error{"No such container: " + id_or_name};
  const store::ContainerRecord& rec = *found;
  std::string runtime_id = runtime_container_id(rec.id);
  std::optional<int> init = rec.state == "running" ? m_runtime.init_pid(runtime_id) : std::nullopt;
  if (!init) return Error{"Container " + rec.id + " is not running"};
  MKIMAGE_TRY(auto settings, settings_from_json(rec.config));

  ProcessSpec process;
  process.args = request.command;
  MKIMAGE_TRY(process.env, exec_env(request.env));
  process.cwd = request.workdir;
  if (!process.cwd.empty() && process.cwd[0] != '/')
    return Error{"the working directory \"" + process.cwd + "\" is not absolute"};
  process.terminal = request.tty;
  fs::path rootfs = "/proc/" + std::to_string(*init) + "/root";
  MKIMAGE_TRY(ExecUser user, resolve_exec_user(rootfs, request.user.empty() ? settings.user : request.user));
  process.uid = user.uid;
  process.gid = user.gid;
  process.additional_gids = user.additional_gids;

  util::Fd devnull;
  int stdin_fd = -1;  // ours
  if (request.tty) {
    stdin_fd = request.interactive ? 0 : -1;  // the terminal is copied here; without -i, no input
  } else if (!request.interactive) {
    devnull.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    stdin_fd = devnull.fd;
  }
  fs::path log = container_dir(rec.id) / ("exec-" + random_hex() + ".log");
  auto code = m_runtime.exec(runtime_id, process, stdin_fd, request.detach, log);
  std::error_code ec;
  fs::remove(log, ec);
  return code;
}

}  // namespace mkimage::builder
