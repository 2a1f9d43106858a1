// `mkimage store check`: re-hash every blob and cross-check the index; with
// --deep also compare every snapshot directory with its layer blob.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "store/layer_apply.hpp"
#include "store/snapshot_verify.hpp"
#include "store/snapshots.hpp"
#include "store/store.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

// ROOT/gc.lock held exclusively while orphaned blobs are deleted (as a prune does).
class GcLock {
public:
  explicit GcLock(const fs::path& path) {
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd >= 0) {
      while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~GcLock() {
    if (m_fd >= 0) ::close(m_fd);
  }
  GcLock(const GcLock&) = delete;
  GcLock& operator=(const GcLock&) = delete;
  bool ok() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

// Seconds since `p` was last modified; 0 if it cannot be read (treated as new).
std::int64_t age_of(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(std::time(nullptr)) - static_cast<std::int64_t>(st.st_mtim.tv_sec);
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

util::Result<CheckReport> Store::check(Repair repair, CheckDepth depth) {
  CheckReport report;
  MKIMAGE_TRY(std::vector<Digest> on_disk, m_blobs.list());
  std::set<Digest> files(on_disk.begin(), on_disk.end());
  MKIMAGE_TRY(auto blob_rows, m_index->list_blobs());
  std::set<Digest> known;
  for (const auto& b : blob_rows) known.insert(b.digest);

  // Everything any row needs: blob rows, image references, layers, compressed copies, cache refs.
  std::set<Digest> needed = known;
  MKIMAGE_TRY(auto images, m_index->list_images());
  for (const auto& img : images) {
    needed.insert(img.manifest);
    MKIMAGE_TRY(auto blobs, m_index->image_blobs(img.manifest));
    needed.insert(blobs.begin(), blobs.end());
  }
  MKIMAGE_TRY(auto cache, m_index->list_cache());
  for (const auto& c : cache) needed.insert(c.refs.begin(), c.refs.end());

  std::set<Digest> corrupt;
  for (const auto& d : on_disk) {
    MKIMAGE_TRY(bool good, m_blobs.verify(d));
    ++report.checked;
    if (!good) {
      report.corrupt.push_back(d);
      corrupt.insert(d);
    }
    if (!needed.count(d)) report.orphaned.push_back(d);
  }
  for (const auto& d : needed) {
    if (!files.count(d)) report.missing.push_back(d);
  }

  if (repair == Repair::yes && !report.missing.empty()) {
    std::set<Digest> missing(report.missing.begin(), report.missing.end());
    MKIMAGE_TRY_VOID(m_index->transaction([&]() -> util::Result<void> {
      for (const auto& img : images) {
        MKIMAGE_TRY(auto blobs, m_index->image_blobs(img.manifest));
        bool broken = missing.count(img.manifest) > 0;
        for (const auto& b : blobs) broken = broken || missing.count(b) > 0;
        if (!broken) continue;
        MKIMAGE_TRY(auto tags, m_index->tags_of(img.manifest));
        for (const auto& t : tags) report.repaired.push_back("untagged " + t.familiar());
        MKIMAGE_TRY_VOID(m_index->delete_image(img.manifest));  // tags cascade
        report.repaired.push_back("dropped image " + img.manifest.str());
      }
      for (const auto& c : cache) {
        bool broken = false;
        for (const auto& r : c.refs) broken = broken || missing.count(r) > 0;
        if (!broken) continue;
        MKIMAGE_TRY_VOID(m_index->delete_cache(c.key));
        report.repaired.push_back("dropped cache entry " + c.key);
      }
      for (const auto& d : missing) {
        if (!known.count(d)) continue;
        MKIMAGE_TRY_VOID(m_index->delete_blob(d));  // layer and compressed rows cascade
        report.repaired.push_back("dropped blob " + d.str());
      }
      return {};
    }));
    MKIMAGE_TRY_VOID(write_index_json());
  }

  if (repair == Repair::yes && !report.orphaned.empty()) {
    GcLock gc(m_root.gc_lock_file());
    if (!gc.ok()) return util::sys_error("open", m_root.gc_lock_file().string());
    // Under the lock, a blob some row names now (written meanwhile) is no orphan.
    MKIMAGE_TRY(auto rows_now, m_index->list_blobs());
    std::set<Digest> known_now;
    for (const auto& b : rows_now) known_now.insert(b.digest);
    for (const auto& d : report.orphaned) {
      if (known_now.count(d)) continue;
      MKIMAGE_TRY(bool referenced, m_index->blob_referenced(d));
      if (referenced) continue;
      if (age_of(m_blobs.path(d)) < k_orphan_grace_seconds) {
        report.repaired.push_back("kept orphaned blob " + d.str() + " (written in the last " +
                                  std::to_string(k_orphan_grace_seconds / 60) + " minutes: a running build may own it)");
        continue;
      }
      MKIMAGE_TRY_VOID(m_blobs.remove(d));
      report.repaired.push_back("removed orphaned blob " + d.str());
    }
  }

  if (depth != CheckDepth::deep) return report;

  // Snapshots: each directory against its layer; entries no row names are stale.
  MKIMAGE_TRY(auto layers, m_index->list_layers());
  std::map<std::string, LayerRecord> by_hex;
  for (const auto& l : layers) by_hex.emplace(l.chain_id.digest.hex(), l);
  fs::path dir = m_root.snapshots_dir();
  std::vector<std::string> names;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return util::Error{"list \"" + dir.string() + "\": " + ec.message()};
  }
  std::sort(names.begin(), names.end());
  std::set<std::string> removed;
  for (const auto& name : names) {
    fs::path path = dir / name;
    if (name.ends_with(".unsynced")) {
      // A snapshot's unsynced marker (store/snapshots.hpp). One whose snapshot
      // is gone (a deletion stopped between the two) is harmless: removed on repair.
      fs::path snapshot = dir / name.substr(0, name.size() - std::string_view(".unsynced").size());
      if (repair == Repair::yes && !fs::exists(fs::symlink_status(snapshot, ec))) ::unlink(path.c_str());
      continue;
    }
    bool is_dir = fs::is_directory(fs::symlink_status(path, ec));
    auto row = by_hex.find(name);
    if (row != by_hex.end() && is_dir) {
      const LayerRecord& l = row->second;
      if (!files.count(l.blob) || corrupt.count(l.blob)) {
        // nothing trustworthy to compare with; the blob is reported already
        continue;
      }
      ++report.snapshots_checked;
      MKIMAGE_TRY(auto problems, verify_snapshot(m_blobs.path(l.blob), path));
      if (problems.empty()) continue;
      report.bad_snapshots.push_back(name + ": " + join_problems(problems));
      if (repair == Repair::yes) {
        MKIMAGE_TRY_VOID(remove_snapshot(*this, l.chain_id));
        removed.insert(name);
        report.repaired.push_back("removed corrupt snapshot " + name + " (re-made from its layer on next use)");
      }
      continue;
    }
    // Staging (.tmp-*) and trash (.trash-*) directories of a running process
    // are young; old ones are leftovers of a crash.
    bool leftover = name.starts_with(".tmp-") || name.starts_with(".trash-");
    if (leftover && age_of(path) < k_orphan_grace_seconds) continue;
    std::string why = leftover ? "a leftover of an interrupted unpack"
                      : row != by_hex.end() ? "not a directory"
                                            : "no layer in the index";
    report.stale.push_back("snapshots/" + name + " (" + why + ")");
    if (repair == Repair::yes) {
      // rename aside first, so that a half-removed tree never looks like a snapshot
      fs::path trash = name.starts_with(".trash-") ? path : dir / (".trash-check-" + name.substr(0, 24));
      if (trash != path && ::rename(path.c_str(), trash.c_str()) != 0) {
        return util::sys_error("rename", path.string());
      }
      MKIMAGE_TRY_VOID(remove_tree(trash));
      report.repaired.push_back("removed stale snapshots/" + name);
    }
  }
  // Rows naming a snapshot directory that is gone: harmless (it is re-made), but stale.
  for (const auto& l : layers) {
    if (!l.snapshot || removed.count(l.chain_id.digest.hex())) continue;
    if (fs::is_directory(fs::symlink_status(m_root.dir() / *l.snapshot, ec))) continue;
    report.stale.push_back("layer " + l.chain_id.digest.str() + " names " + *l.snapshot + ", which does not exist");
    if (repair == Repair::yes) {
      MKIMAGE_TRY_VOID(m_index->set_snapshot(l.chain_id, std::nullopt));
      report.repaired.push_back("cleared the snapshot of layer " + l.chain_id.digest.str());
    }
  }
  return report;
}

}  // namespace mkimage::store
