#include "builder/run_mounts.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "builder/fs_resolve.hpp"
#include "builder/interrupt.hpp"
#include "builder/snapshotter.hpp"
#include "builder/snapshotter_copy.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

struct PreparedMounts::Cleanup {
  std::vector<fs::path> host_mounts;  // unmounted in reverse order
  std::vector<int> lock_fds;
  std::vector<fs::path> temp_paths;   // removed after unmounting
  std::vector<std::unique_ptr<SshForward>> ssh_forwards;
  CleanupGuard guard;

  void run() {
    ssh_forwards.clear();
    for (auto it = host_mounts.rbegin(); it != host_mounts.rend(); ++it) (void)unmount_path(*it);
    host_mounts.clear();
    for (int fd : lock_fds) ::close(fd);
    lock_fds.clear();
    for (const auto& p : temp_paths) remove_tree(p);
    temp_paths.clear();
  }
  ~Cleanup() { run(); }
};

PreparedMounts::~PreparedMounts() = default;
PreparedMounts::PreparedMounts(PreparedMounts&&) noexcept = default;
PreparedMounts& PreparedMounts::operator=(PreparedMounts&&) noexcept = default;

fs::path cache_mount_dir(const fs::path& cache_root, const std::string& id) {
  std::string out;
  const char* hex = "0123456789ABCDEF";
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (out.empty() || out == "." || out == "..") out = "%" + out;
  return cache_root / out;
}

namespace {

// "/a/../b" → "b"; errors when the path climbs out of its root.
Result<fs::path> inside_path(const std::string& path) {
  fs::path p = fs::path("/" + path).lexically_normal();
  fs::path rel = p.lexically_relative("/");
  if (rel.empty() || rel == ".") return fs::path{};
  if (*rel.begin() == "..") return Error{"path \"" + path + "\" is outside of its root"};
  return rel;
}

// Host path of `rel` inside `root` (a stage's rootfs or the build context),
// symlinks resolved inside it as BuildKit does (an absolute link target is
// relative to `root`, ".." stops at it; never a host path). Errors name `rel`
// only, never a host path.
Result<fs::path> resolve_inside(const fs::path& root, const fs::path& rel, const std::string& what) {
  auto r = resolve_in_root(root, "/" + rel.string(), FollowFinal::yes);
  if (!r) return Error{what + ": \"" + rel.string() + "\": " + r.error().message};
  struct stat st;
  if (::stat(r->c_str(), &st) != 0) return Error{what + ": \"" + rel.string() + "\" not found"};
  return *r;
}

Result<void> make_owned_dir(const fs::path& dir, const RunMountSpec& spec) {
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), spec.mode.value_or(0755)) == 0) {
    ::chown(dir.c_str(), spec.uid.value_or(0), spec.gid.value_or(0));
    ::chmod(dir.c_str(), spec.mode.value_or(0755));
  } else if (errno != EEXIST) {
    return util::sys_error("mkdir", dir.string());
  }
  return {};
}

}  // namespace

Result<PreparedMounts> prepare_run_mounts(const std::vector<RunMountSpec>& specs, const RunMountContext& ctx) {
  PreparedMounts out;
  out.cleanup = std::make_unique<PreparedMounts::Cleanup>();
  auto* cl = out.cleanup.get();
  cl->guard = CleanupGuard([cl] { cl->run(); });
  if (!specs.empty()) {
    std::error_code ec;
    fs::create_directories(ctx.scratch_dir, ec);
    if (ec) return Error{"create directory \"" + ctx.scratch_dir.string() + "\": " + ec.message()};
    ::chmod(ctx.scratch_dir.c_str(), 0700);
  }
  int n = 0;
  for (const auto& spec : specs) {
    ++n;
    fs::path scratch = ctx.scratch_dir / ("m" + std::to_string(n));
    switch (spec.type) {
      case RunMountSpec::Type::ssh: {
        std::string id = spec.id.empty() ? "default" : spec.id;
        const fs::path* agent = ctx.ssh_agents ? ctx.ssh_agents->socket(id) : nullptr;
        if (!agent) {
          if (spec.required) return Error{"no SSH key \"" + id + "\" forwarded from the client"};
          break;  // optional: left out
        }
        fs::path sock = scratch.string() + ".sock";
        MKIMAGE_TRY(auto fwd, SshForward::start(*agent, sock, spec.uid.value_or(0), spec.gid.value_or(0),
                                                spec.mode.value_or(0600)));
        cl->ssh_forwards.push_back(std::move(fwd));
        out.mounts.push_back({spec.target, "bind", sock.string(), {"rbind", "nosuid", "nodev", "noexec"}});
        out.secret_targets.push_back(spec.target);
        out.ssh_targets.push_back(spec.target);
        break;
      }

      case RunMountSpec::Type::tmpfs: {
        if (spec.target.empty()) return Error{"RUN --mount=type=tmpfs needs a target"};
        std::vector<std::string> opts = {"nosuid", "nodev", "mode=1777"};
        if (spec.size > 0) opts.push_back("size=" + std::to_string(spec.size));
        out.mounts.push_back({spec.target, "tmpfs", "tmpfs", opts});
        break;
      }

      case RunMountSpec::Type::cache: {
        if (spec.target.empty()) return Error{"RUN --mount=type=cache needs a target"};
        std::string id = spec.id.empty() ? spec.target : spec.id;
        fs::path dir = cache_mount_dir(ctx.cache_root, id);
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) return Error{"create directory \"" + dir.string() + "\": " + ec.message()};
        int lock = ::open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0) return util::sys_error("open", (dir / "lock").string());
        cl->lock_fds.push_back(lock);
        fs::path data = dir / "data";
        switch (spec.sharing) {
          case RunMountSpec::Sharing::locked:
            while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
            }
            break;
          case RunMountSpec::Sharing::shared:
            while (::flock(lock, LOCK_SH) != 0 && errno == EINTR) {
            }
            break;
          case RunMountSpec::Sharing::private_:
            if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
              data = scratch;  // in use: a fresh directory, discarded afterwards
              cl->temp_paths.push_back(scratch);
            }
            break;
        }
        struct stat st;
        bool fresh = ::lstat(data.c_str(), &st) != 0;
        MKIMAGE_TRY_VOID(make_owned_dir(data, spec));
        if (fresh && !spec.from.empty() && ctx.resolve_from) {
          // Seed a new cache from `from`/`source` (BuildKit: the cache's base).
          MKIMAGE_TRY(auto lowers, ctx.resolve_from(spec.from));
          fs::path seed = ctx.scratch_dir / ("seed" + std::to_string(n));
          MKIMAGE_TRY_VOID(Snapshotter::mount_readonly(lowers, seed));
          cl->host_mounts.push_back(seed);
          MKIMAGE_TRY(auto rel, inside_path(spec.source));
          MKIMAGE_TRY(auto src, resolve_inside(seed, rel, "cache mount source"));
          for (const auto& e : fs::directory_iterator(src)) MKIMAGE_TRY_VOID(copy_tree(e.path(), data / e.path().filename()));
        }
        if (ctx.on_cache_mount && data != scratch) MKIMAGE_TRY_VOID(ctx.on_cache_mount(id, data, fresh));
        std::vector<std::string> opts = {"rbind", spec.readonly ? "ro" : "rw"};
        out.mounts.push_back({spec.target, "bind", data.string(), opts});
        break;
      }

      case RunMountSpec::Type::secret: {
        std::string id = spec.id;
        if (id.empty() && !spec.target.empty()) id = fs::path(spec.target).filename().string();
        if (id.empty()) return Error{"RUN --mount=type=secret needs an id or a target"};
        auto it = ctx.secrets.find(id);
        std::string value;
        bool found = false;
        if (it != ctx.secrets.end()) {
          if (!it->second.env.empty()) {
            if (const char* v = std::getenv(it->second.env.c_str())) {
              value = v;
              found = true;
            }
          } else {
            std::ifstream f(it->second.file, std::ios::binary);
            if (!f) return util::sys_error("read secret", it->second.file.string());
            value.assign(std::istreambuf_iterator<char>(f), {});
            found = true;
          }
        }
        if (!found) {
          if (spec.required) return Error{"secret " + id + ": not found (required; pass --secret id=" + id + ",src=PATH)"};
          break;
        }
        if (!spec.env.empty()) out.env.push_back(spec.env + "=" + value);
        if (spec.env.empty() || !spec.target.empty()) {
          std::string target = spec.target.empty() ? "/run/secrets/" + id : spec.target;
          fs::path file = scratch;
          int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
          if (fd < 0) return util::sys_error("create", file.string());
          cl->temp_paths.push_back(file);
          bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
          ::close(fd);
          if (!ok) return util::sys_error("write", file.string());
          ::chown(file.c_str(), spec.uid.value_or(0), spec.gid.value_or(0));
          ::chmod(file.c_str(), spec.mode.value_or(0400));
          out.mounts.push_back({target, "bind", file.string(), {"rbind", "ro", "nosuid", "nodev", "noexec"}});
          out.secret_targets.push_back(target);
        }
        break;
      }

      case RunMountSpec::Type::bind: {
        if (spec.target.empty()) return Error{"RUN --mount=type=bind needs a target"};
        if (!ctx.resolve_from) return Error{"RUN --mount=type=bind: no build context"};
        MKIMAGE_TRY(auto lowers, ctx.resolve_from(spec.from));
        MKIMAGE_TRY(auto rel, inside_path(spec.source));
        fs::path tree;
        if (spec.rw) {
          fs::path upper = scratch.string() + "-upper", work = scratch.string() + "-work";
          for (const auto& d : {upper, work}) {
            std::error_code ec;
            fs::create_directories(d, ec);
            cl->temp_paths.push_back(d);
          }
          std::error_code ec;
          fs::create_directories(scratch, ec);
          cl->temp_paths.push_back(scratch);
          std::vector<fs::path> ls = lowers;
          if (ls.empty()) {
            fs::create_directories(scratch.string() + "-empty", ec);
            cl->temp_paths.push_back(scratch.string() + "-empty");
            ls.push_back(scratch.string() + "-empty");
          }
          auto r = mount_overlay(ls, upper, work, scratch, UpperDurability::discarded);
          if (!r) return r.error();
          cl->host_mounts.push_back(scratch);
          tree = scratch;
        } else if (lowers.size() == 1) {
          tree = lowers[0];
        } else {
          MKIMAGE_TRY_VOID(Snapshotter::mount_readonly(lowers, scratch));
          cl->host_mounts.push_back(scratch);
          cl->temp_paths.push_back(scratch);
          tree = scratch;
        }
        MKIMAGE_TRY(auto src, resolve_inside(tree, rel, "RUN --mount=type=bind source"));
        std::vector<std::string> opts = {"rbind", spec.rw ? "rw" : "ro"};
        out.mounts.push_back({spec.target, "bind", src.string(), opts});
        break;
      }
    }
  }
  return out;
}

}  // namespace mkimage::builder
