#include "builder/snapshotter.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>

#include "builder/interrupt.hpp"
#include "builder/snapshotter_copy.hpp"
#include "store/blob_store.hpp"
#include "store/owner.hpp"

namespace mkimage::builder {
namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

constexpr size_t k_max_lowers = 500;  // overlayfs OVL_MAX_STACK

Result<void> make_dir(const fs::path& p, mode_t mode) {
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) return util::sys_error("mkdir", p.string());
  return {};
}

// Does `path` (absolute container path) exist in `root`, resolving symlinks
// inside the root (openat2 RESOLVE_IN_ROOT), without following the last one?
bool exists_in_root(const fs::path& root, const std::string& path) {
  int rootfd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return false;
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) {
    close(rootfd);
    return true;
  }
  open_how how{};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
  bool ok = fd >= 0;
  if (fd < 0 && errno == ENOSYS) {
    struct stat st;
    ok = ::lstat((root / rel).c_str(), &st) == 0;
  }
  if (fd >= 0) close(static_cast<int>(fd));
  close(rootfd);
  return ok;
}

bool is_opaque(const fs::path& p) {
  char v[4] = {};
  ssize_t n = lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n > 0 && v[0] == 'y';
}

bool dir_is_empty(const fs::path& p) {
  std::error_code ec;
  return fs::is_empty(p, ec) && !ec;
}

std::atomic<int> g_mode{-1};  // -1 unknown, 0 overlay, 1 copy

}  // namespace

Result<void> unmount_path(const fs::path& target) {
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) return {};
  if (errno == EINVAL || errno == ENOENT) return {};  // not a mount point
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return {};
  return util::sys_error("umount", target.string());
}

void remove_tree(const fs::path& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlink(dir.c_str());
    return;
  }
  nftw(
      dir.c_str(),
      [](const char* path, const struct stat* sb, int type, struct FTW*) -> int {
        if (type == FTW_DP || type == FTW_D || type == FTW_DNR) {
          ::rmdir(path);
        } else {
          (void)sb;
          ::unlink(path);
        }
        return 0;
      },
      64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

Result<void> mount_overlay(const std::vector<fs::path>& lowerdirs, const fs::path& upperdir, const fs::path& workdir,
                           const fs::path& target, UpperDurability durability) {
  if (lowerdirs.empty()) return Error{"overlay mount of \"" + target.string() + "\": no lowerdir"};
  if (lowerdirs.size() > k_max_lowers)
    return Error{"overlay mount of \"" + target.string() + "\": " + std::to_string(lowerdirs.size()) +
                 " lowerdirs (at most " + std::to_string(k_max_lowers) + ")"};
  // The lowers stay open until the mount is done; the child names them by number.
  struct OpenLowers {
    std::vector<int> fds;
    ~OpenLowers() {
      for (int fd : fds) ::close(fd);
    }
  } open_lowers;
  std::string lower_opt;
  for (size_t i = 0; i < lowerdirs.size(); ++i) {
    fs::path abs = fs::absolute(lowerdirs[i]);
    int fd = ::open(abs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return util::sys_error("lowerdir", abs.string());
    open_lowers.fds.push_back(fd);
    if (i) lower_opt += ':';
    lower_opt += std::to_string(fd);
  }
  std::string base = "lowerdir=" + lower_opt;
  if (!upperdir.empty())
    base += ",upperdir=" + fs::absolute(upperdir).string() + ",workdir=" + fs::absolute(workdir).string();
  // Explicit features where the kernel knows them: no index (lowers are shared
  // by many mounts), no redirect_dir/metacopy (the upperdir must hold whole
  // files and copied directories, which is what a layer is made from).
  std::vector<std::string> candidates = {base + ",index=off,redirect_dir=off,metacopy=off", base};
  if (durability != UpperDurability::kept && !upperdir.empty()) {
    candidates.insert(candidates.begin(), candidates[0] + ",volatile");
  }
  std::string abs_target = fs::absolute(target).string();
  int last_err = 0;
  for (const auto& data : candidates) {
    if (data.size() >= 4096) return Error{"overlay mount of \"" + target.string() + "\": mount options too long"};
    // vfork: the child only changes directory, mounts and exits; copying the
    // page tables of a many-threaded build process (fork) costs more than the mount.
    const char* target_c = abs_target.c_str();
    const char* data_c = data.c_str();
    pid_t pid = vfork();
    if (pid < 0) return util::sys_error("fork", "overlay mount");
    if (pid == 0) {
      if (chdir("/proc/self/fd") != 0) _exit(errno);
      if (mount("overlay", target_c, "overlay", 0, data_c) != 0) _exit(errno);
      _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
    if (rc == 0) return {};
    last_err = rc;
    if (rc != EINVAL) break;
  }
  return util::sys_error("mount overlay", target.string(), last_err);
}

// --- ActiveSnapshot ---

ActiveSnapshot::~ActiveSnapshot() {
  if (m_keep) {
    if (m_mounted) (void)unmount();
  } else {
    discard();
  }
  unregister_cleanup(m_cleanup_id);
}

Result<void> ActiveSnapshot::unmount() {
  if (!m_mounted) return {};
  if (m_mode == SnapshotMode::overlay) MKIMAGE_TRY_VOID(unmount_path(m_merged));
  m_mounted = false;
  return {};
}

void ActiveSnapshot::record_mount_points(const std::vector<std::string>& destinations) {
  std::set<std::string> created(m_created.begin(), m_created.end());
  for (const auto& dest : destinations) {
    fs::path p = fs::path(dest).lexically_normal();
    std::string acc;
    for (const auto& part : p) {
      if (part == "/" || part.empty()) continue;
      acc += "/" + part.string();
      if (created.count(acc)) continue;
      if (!exists_in_root(m_merged, acc)) created.insert(acc);
    }
  }
  m_created.assign(created.begin(), created.end());
}

Result<fs::path> ActiveSnapshot::finish() {
  if (m_finished) return m_upper;
  MKIMAGE_TRY_VOID(unmount());
  if (m_mode == SnapshotMode::copy) MKIMAGE_TRY_VOID(copy_snapshot_diff(m_merged, m_dir / "base", m_upper));
  m_finished = true;

  // Deepest first, so a created file goes before its created parent.
  std::vector<std::string> paths = m_created;
  std::sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) {
    auto da = std::count(a.begin(), a.end(), '/'), db = std::count(b.begin(), b.end(), '/');
    return da != db ? da > db : a > b;
  });
  std::set<std::string> created(m_created.begin(), m_created.end());
  std::set<std::string> parents;
  for (const auto& c : paths) {
    fs::path up = m_upper / c.substr(1);
    struct stat st;
    if (::lstat(up.c_str(), &st) == 0) {
      if (S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(up.c_str());
      else if (S_ISDIR(st.st_mode) && !is_opaque(up) && dir_is_empty(up)) ::rmdir(up.c_str());
    }
    auto slash = c.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      std::string parent = c.substr(0, slash);
      if (!created.count(parent)) parents.insert(parent);
    }
  }
  // Parents that existed in a lower: remove the copied-up directory when
  // nothing in it changed (empty, not opaque, same mode and owner as the
  // lower that provides it), deepest first.
  std::vector<std::string> plist(parents.begin(), parents.end());
  std::sort(plist.begin(), plist.end(), [](const auto& a, const auto& b) {
    return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
  });
  for (const auto& p : plist) {
    fs::path up = m_upper / p.substr(1);
    struct stat st;
    if (::lstat(up.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || is_opaque(up) || !dir_is_empty(up)) continue;
    for (const auto& lower : m_lowers) {
      struct stat lst;
      if (::lstat((lower / p.substr(1)).c_str(), &lst) != 0) continue;
      if (S_ISDIR(lst.st_mode) && lst.st_mode == st.st_mode && lst.st_uid == st.st_uid && lst.st_gid == st.st_gid)
        ::rmdir(up.c_str());
      break;
    }
  }
  return m_upper;
}

void ActiveSnapshot::discard() {
  if (m_dir.empty()) return;
  if (m_mounted && !unmount()) {
    // Still mounted: never recurse into it.
    return;
  }
  remove_tree(m_dir);
  m_dir.clear();
}

// --- Snapshotter ---

Snapshotter::Snapshotter(fs::path temp_dir) : m_temp_dir(std::move(temp_dir)) {}
Snapshotter::Snapshotter(fs::path temp_dir, SnapshotMode forced) : m_temp_dir(std::move(temp_dir)), m_forced(forced) {}

std::optional<SnapshotMode> Snapshotter::known_mode() const {
  if (m_forced) return *m_forced;
  int m = g_mode.load();
  if (m >= 0) return m == 0 ? SnapshotMode::overlay : SnapshotMode::copy;
  const char* env = std::getenv("MKIMAGE_SNAPSHOTTER");
  if (env && std::string(env) == "copy") {
    g_mode = 1;
    return SnapshotMode::copy;
  }
  return std::nullopt;
}

SnapshotMode Snapshotter::mode() {
  if (auto known = known_mode()) return *known;
  return probe();
}

SnapshotMode Snapshotter::probe() {
  std::error_code ec;
  fs::create_directories(m_temp_dir, ec);
  bool ok = false;
  {
    // One section: an interrupt between the mount and the unmount would exit
    // with the probe still mounted. Owner-tagged name: a kill -9 here leaves
    // what the next Store::open sweeps (store/owner.hpp).
    UninterruptibleScope section;
    std::string tmpl = store::temp_template(m_temp_dir, "probe");
    fs::path probe = ::mkdtemp(tmpl.data()) ? fs::path(tmpl) : fs::path();
    ok = !probe.empty() && make_dir(probe / "lower", 0755).ok() && make_dir(probe / "upper", 0755).ok() &&
         make_dir(probe / "work", 0755).ok() && make_dir(probe / "merged", 0755).ok() &&
         mount_overlay({probe / "lower"}, probe / "upper", probe / "work", probe / "merged",
                       UpperDurability::discarded)
             .ok();
    if (ok) (void)unmount_path(probe / "merged");
    if (!probe.empty()) remove_tree(probe);
  }
  set_mode(ok ? SnapshotMode::overlay : SnapshotMode::copy);
  return g_mode.load() == 0 ? SnapshotMode::overlay : SnapshotMode::copy;
}

void Snapshotter::set_mode(SnapshotMode m) {
  int expected = -1;
  if (g_mode.compare_exchange_strong(expected, m == SnapshotMode::overlay ? 0 : 1) && m == SnapshotMode::copy) {
    std::cerr << "warning: overlayfs cannot be mounted under " << m_temp_dir.string()
              << "; falling back to copying snapshots (slower)\n";
  }
}

Result<std::unique_ptr<ActiveSnapshot>> Snapshotter::prepare(const std::vector<fs::path>& lowerdirs) {
  std::error_code ec;
  fs::create_directories(m_temp_dir, ec);
  if (ec) return Error{"create directory \"" + m_temp_dir.string() + "\": " + ec.message()};
  ::chmod(m_temp_dir.c_str(), 0700);
  // One section from the first directory to m_keep=false: an interrupt before
  // the cleanup action is registered, or before it may remove the directory,
  // would leave the snapshot directory behind. A kill -9 leaves it (and its
  // merged mount) to the next Store::open: the name carries this process's
  // pid and start time (store/owner.hpp).
  UninterruptibleScope section;
  std::string tmpl = store::temp_template(m_temp_dir, "snap");
  if (!::mkdtemp(tmpl.data())) return util::sys_error("mkdtemp", tmpl);
  fs::path dir = tmpl;
  auto snap = prepare_in(dir, lowerdirs, UpperDurability::unsynced);
  if (!snap) {
    // prepare_in's snapshot is gone (unmounted); its directory is ours
    if (!store::mounts_under(dir).empty()) return snap.error();  // never recurse into a mount
    remove_tree(dir);
    return snap.error();
  }
  (*snap)->m_keep = false;
  return snap;
}

Result<std::unique_ptr<ActiveSnapshot>> Snapshotter::prepare_in(const fs::path& dir, const std::vector<fs::path>& lowerdirs,
                                                                UpperDurability durability) {
  if (lowerdirs.size() > k_max_lowers)
    return Error{"max depth exceeded: too many layers: " + std::to_string(lowerdirs.size()) + " (overlayfs stacks at most " +
                 std::to_string(k_max_lowers) + ")"};
  // Until a mount has worked, the first snapshot's own mount is the test of
  // overlayfs (no separate probe mount: its directories cost a mkdir and an
  // rmdir each on every build); only when it fails is the probe run, to tell
  // "overlayfs does not work here" (copy fallback) from this mount's own error.
  const std::optional<SnapshotMode> known = known_mode();
  SnapshotMode m = known ? *known : SnapshotMode::overlay;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"create directory \"" + dir.string() + "\": " + ec.message()};
  std::unique_ptr<ActiveSnapshot> snap(new ActiveSnapshot());
  snap->m_keep = true;
  snap->m_dir = dir;
  snap->m_upper = dir / "upper";
  snap->m_work = dir / "work";
  snap->m_merged = dir / "merged";
  snap->m_mode = m;
  for (const auto& l : lowerdirs) snap->m_lowers.push_back(fs::absolute(l));
  MKIMAGE_TRY_VOID(make_dir(snap->m_upper, 0755));
  MKIMAGE_TRY_VOID(make_dir(snap->m_merged, 0755));
  std::vector<fs::path> lowers = snap->m_lowers;
  ActiveSnapshot* raw = snap.get();
  fs::path merged = snap->m_merged;
  UninterruptibleScope section;  // the mount and its cleanup action come as a pair
  snap->m_cleanup_id = register_cleanup([raw, merged] {
    (void)unmount_path(merged);
    if (!raw->m_keep) remove_tree(raw->m_dir);
  });
  // No lowers (a scratch base) and an upperdir nobody mounts again: the rootfs
  // is the upperdir itself, bind-mounted (as containerd's overlay snapshotter
  // does for a snapshot without parents). Every file the step writes then
  // skips overlayfs (a 100,000-file COPY: a third of its CPU was overlay's
  // create and write paths, and its unmount), and nothing differs in the
  // upperdir: with nothing below, overlayfs writes no whiteout, opaque or
  // copy-up there. A `kept` upper (`mkimage run`) stays an overlay: its
  // unmount's sync is what makes it durable.
  if (m == SnapshotMode::overlay && snap->m_lowers.empty() && durability != UpperDurability::kept &&
      ::mount(snap->m_upper.c_str(), snap->m_merged.c_str(), nullptr, MS_BIND, nullptr) == 0) {
    snap->m_mounted = true;
    return snap;
  }
  if (lowers.empty()) {
    MKIMAGE_TRY_VOID(make_dir(dir / "empty", 0755));
    lowers.push_back(dir / "empty");
  }
  if (m == SnapshotMode::overlay) {
    MKIMAGE_TRY_VOID(make_dir(snap->m_work, 0700));
    auto mounted = mount_overlay(lowers, snap->m_upper, snap->m_work, snap->m_merged, durability);
    if (mounted.ok() && !known) set_mode(SnapshotMode::overlay);
    if (!mounted.ok() && (known || probe() == SnapshotMode::overlay)) return mounted.error();
    if (!mounted.ok()) {
      // overlayfs does not work here: this snapshot is a copy like the ones after it.
      m = snap->m_mode = SnapshotMode::copy;
      remove_tree(snap->m_work);
    }
  }
  if (m == SnapshotMode::copy) {
    MKIMAGE_TRY_VOID(copy_snapshot_prepare(snap->m_lowers, snap->m_upper, dir / "base", snap->m_merged));
  }
  snap->m_mounted = true;
  return snap;
}

Result<void> Snapshotter::mount_readonly(const std::vector<fs::path>& lowerdirs, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target, ec);
  if (ec) return Error{"create directory \"" + target.string() + "\": " + ec.message()};
  if (lowerdirs.empty()) return {};
  if (lowerdirs.size() == 1) {
    if (::mount(lowerdirs[0].c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return util::sys_error("bind mount", lowerdirs[0].string());
    if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, nullptr) != 0) {
      int e = errno;
      (void)unmount_path(target);
      return util::sys_error("remount read-only", target.string(), e);
    }
    return {};
  }
  return mount_overlay(lowerdirs, {}, {}, target);
}

}  // namespace mkimage::builder
