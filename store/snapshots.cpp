#include "store/snapshots.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include "util/random.hpp"

#include "store/layer_apply.hpp"
#include "store/lease.hpp"
#include "store/owner.hpp"
#include "store/snapshot_verify.hpp"
#include "store/store.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

std::string random_suffix() {
  const char* hex = "0123456789abcdef";
  std::string s;
  auto v = util::random_u64();
  for (int i = 0; i < 12; ++i) s += hex[(v >> (4 * i)) & 15];
  return s;
}

Result<void> ensure_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return Error{"mkdir \"" + p.string() + "\": " + ec.message()};
  return {};
}

}  // namespace

fs::path snapshot_path(const Store& store, const ChainId& chain) {
  return store.root().snapshots_dir() / chain.digest.hex();
}

std::string snapshot_rel(const ChainId& chain) { return "snapshots/" + chain.digest.hex(); }

fs::path unsynced_marker(const fs::path& snapshot_dir) { return fs::path(snapshot_dir.string() + ".unsynced"); }

Result<void> mark_unsynced(const fs::path& snapshot_dir) {
  fs::path marker = unsynced_marker(snapshot_dir);
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return util::sys_error("create", marker.string());
  std::string id = boot_id() + "\n";
  ssize_t n = ::write(fd, id.data(), id.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(id.size())) return util::sys_error("write", marker.string(), n < 0 ? err : EIO);
  return {};
}

bool unsynced_from_another_boot(const fs::path& snapshot_dir) {
  fs::path marker = unsynced_marker(snapshot_dir);
  int fd = ::open(marker.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno != ENOENT;  // unreadable: not trusted
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  // An empty or torn marker (its data was not synced either) is another boot's.
  std::string id = boot_id();
  return id.empty() || n != static_cast<ssize_t>(id.size() + 1) || std::string_view(buf, id.size()) != id;
}

namespace {

// A snapshot marked unsynced by an earlier boot: kept (marker removed) when it
// still matches its blob, else removed so that it is unpacked again.
Result<bool> recheck_after_reboot(Store& store, const fs::path& path, const Digest& blob) {
  MKIMAGE_TRY(auto problems, verify_snapshot(store.blobs().path(blob), path, 1));
  if (problems.empty()) {
    ::unlink(unsynced_marker(path).c_str());
    return true;
  }
  fs::path trash = store.root().snapshots_dir() / (".trash-" + owner_tag() + "-" + random_suffix().substr(0, 6));
  if (::rename(path.c_str(), trash.c_str()) != 0) return util::sys_error("rename", path.string());
  MKIMAGE_TRY_VOID(remove_tree(trash));
  return false;
}

}  // namespace

Result<void> remove_tree(const fs::path& dir) {
  std::error_code ec;
  // std::filesystem::remove_all does not follow symlinks; make read-only
  // directories writable first so a non-root caller can empty them.
  auto st = fs::symlink_status(dir, ec);
  if (ec || !fs::exists(st)) return {};
  if (fs::is_directory(st)) {
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    ::chmod(dir.c_str(), 0700);
  }
  fs::remove_all(dir, ec);
  if (ec) return Error{"remove \"" + dir.string() + "\": " + ec.message()};
  return {};
}

Result<fs::path> ensure_snapshot(Store& store, const ChainId& chain) {
  fs::path path = snapshot_path(store, chain);
  std::error_code ec;
  MKIMAGE_TRY(auto row, store.index().get_layer(chain));
  if (!row) return Error{"no layer with chain_id " + chain.digest.str() + " in the store"};
  bool present = fs::is_directory(fs::symlink_status(path, ec));
  if (present && unsynced_from_another_boot(path) && store.blobs().exists(row->blob)) {
    MKIMAGE_TRY(present, recheck_after_reboot(store, path, row->blob));
  }
  if (present) {
    if (!row->snapshot || *row->snapshot != snapshot_rel(chain)) {
      MKIMAGE_TRY_VOID(store.index().set_snapshot(chain, snapshot_rel(chain)));
    }
    return path;
  }
  if (!store.blobs().exists(row->blob)) {
    return Error{"layer " + row->diff_id.digest.str() + ": blob " + row->blob.str() + " is missing"};
  }
  MKIMAGE_TRY_VOID(ensure_dir(store.root().snapshots_dir()));
  MKIMAGE_TRY_VOID(mark_unsynced(path));  // the unpack writes without syncs
  auto applied = apply_layer(store.blobs().path(row->blob), path, ApplyMode::snapshot);
  if (!applied) {
    // another process may have won the race to the same snapshot
    if (!fs::is_directory(fs::symlink_status(path, ec)) || fs::is_empty(path, ec)) {
      if (!fs::exists(fs::symlink_status(path, ec))) ::unlink(unsynced_marker(path).c_str());  // nothing to mark
      return applied.error();
    }
  }
  MKIMAGE_TRY_VOID(store.index().set_snapshot(chain, snapshot_rel(chain)));
  return path;
}

Result<fs::path> adopt_snapshot(Store& store, const ChainId& chain, const fs::path& upperdir) {
  fs::path path = snapshot_path(store, chain);
  MKIMAGE_TRY_VOID(ensure_dir(store.root().snapshots_dir()));
  std::error_code ec;
  bool exists = fs::exists(fs::symlink_status(path, ec));
  if (!exists) MKIMAGE_TRY_VOID(mark_unsynced(path));
  if (!exists && ::rename(upperdir.c_str(), path.c_str()) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) return util::sys_error("rename \"" + upperdir.string() + "\" to", path.string());
    exists = true;
  }
  if (exists) MKIMAGE_TRY_VOID(remove_tree(upperdir));
  MKIMAGE_TRY_VOID(store.index().set_snapshot(chain, snapshot_rel(chain)));
  return path;
}

Result<std::vector<ChainId>> list_snapshots(const Store& store) {
  std::vector<ChainId> out;
  std::error_code ec;
  fs::path dir = store.root().snapshots_dir();
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto d = Digest::from_hex(it->path().filename().string());
    if (d.ok() && it->is_directory(ec)) out.push_back(ChainId{*d});
  }
  if (ec) return Error{"list \"" + dir.string() + "\": " + ec.message()};
  std::sort(out.begin(), out.end(), [](const ChainId& a, const ChainId& b) { return a.digest < b.digest; });
  return out;
}

Result<void> remove_snapshot(Store& store, const ChainId& chain) {
  fs::path path = snapshot_path(store, chain);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) {
    // owner-tagged (store/owner.hpp): a trash a killed process left is swept
    fs::path trash = store.root().snapshots_dir() / (".trash-" + owner_tag() + "-" + random_suffix().substr(0, 6));
    if (::rename(path.c_str(), trash.c_str()) != 0) return util::sys_error("rename", path.string());
    MKIMAGE_TRY_VOID(remove_tree(trash));
  }
  ::unlink(unsynced_marker(path).c_str());
  MKIMAGE_TRY(auto row, store.index().get_layer(chain));
  if (row && row->snapshot) MKIMAGE_TRY_VOID(store.index().set_snapshot(chain, std::nullopt));
  return {};
}

}  // namespace mkimage::store
