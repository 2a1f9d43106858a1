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

// What the index needs and what is on disk, read once for every phase.
struct BlobView {
  std::set<Digest> files;   // blobs on disk
  std::set<Digest> known;   // blobs with an index row
  std::set<Digest> needed;  // everything any row names
  std::set<Digest> corrupt;
  std::vector<ImageRecord> images;
  std::vector<CacheRecord> cache;
};

// Re-hashes every blob on disk; fills checked/corrupt/orphaned/missing.
util::Result<BlobView> check_blobs(Store& store, CheckReport& report) {
  BlobView v;
  MKIMAGE_TRY(std::vector<Digest> on_disk, store.blobs().list());
  v.files.insert(on_disk.begin(), on_disk.end());
  MKIMAGE_TRY(auto blob_rows, store.index().list_blobs());
  for (const auto& b : blob_rows) v.known.insert(b.digest);

  // Everything any row needs: blob rows, image references, layers, compressed copies, cache refs.
  v.needed = v.known;
  MKIMAGE_TRY(v.images, store.index().list_images());
  for (const auto& img : v.images) {
    v.needed.insert(img.manifest);
    MKIMAGE_TRY(auto blobs, store.index().image_blobs(img.manifest));
    v.needed.insert(blobs.begin(), blobs.end());
  }
  MKIMAGE_TRY(v.cache, store.index().list_cache());
  for (const auto& c : v.cache) v.needed.insert(c.refs.begin(), c.refs.end());

  for (const auto& d : on_disk) {
    MKIMAGE_TRY(bool good, store.blobs().verify(d));
    ++report.checked;
    if (!good) {
      report.corrupt.push_back(d);
      v.corrupt.insert(d);
    }
    if (!v.needed.count(d)) report.orphaned.push_back(d);
  }
  for (const auto& d : v.needed) {
    if (!v.files.count(d)) report.missing.push_back(d);
  }
  return v;
}

// Drops the images, cache entries and blob rows that name a missing blob.
util::Result<void> repair_missing(Store& store, const BlobView& v, CheckReport& report) {
  std::set<Digest> missing(report.missing.begin(), report.missing.end());
  Index& index = store.index();
  MKIMAGE_TRY_VOID(index.transaction([&]() -> util::Result<void> {
    for (const auto& img : v.images) {
      MKIMAGE_TRY(auto blobs, index.image_blobs(img.manifest));
      bool broken = missing.count(img.manifest) > 0;
      for (const auto& b : blobs) broken = broken || missing.count(b) > 0;
      if (!broken) continue;
      MKIMAGE_TRY(auto tags, index.tags_of(img.manifest));
      for (const auto& t : tags) report.repaired.push_back("untagged " + t.familiar());
      MKIMAGE_TRY_VOID(index.delete_image(img.manifest));  // tags cascade
      report.repaired.push_back("dropped image " + img.manifest.str());
    }
    for (const auto& c : v.cache) {
      bool broken = false;
      for (const auto& r : c.refs) broken = broken || missing.count(r) > 0;
      if (!broken) continue;
      MKIMAGE_TRY_VOID(index.delete_cache(c.key));
      report.repaired.push_back("dropped cache entry " + c.key);
    }
    for (const auto& d : missing) {
      if (!v.known.count(d)) continue;
      MKIMAGE_TRY_VOID(index.delete_blob(d));  // layer and compressed rows cascade
      report.repaired.push_back("dropped blob " + d.str());
    }
    return {};
  }));
  return store.write_index_json();
}

// Removes orphaned blobs under ROOT/gc.lock, as a prune does; young ones stay.
util::Result<void> remove_orphans(Store& store, CheckReport& report) {
  GcLock gc(store.root().gc_lock_file());
  if (!gc.ok()) return util::sys_error("open", store.root().gc_lock_file().string());
  // Under the lock, a blob some row names now (written meanwhile) is no orphan.
  MKIMAGE_TRY(auto rows_now, store.index().list_blobs());
  std::set<Digest> known_now;
  for (const auto& b : rows_now) known_now.insert(b.digest);
  for (const auto& d : report.orphaned) {
    if (known_now.count(d)) continue;
    MKIMAGE_TRY(bool referenced, store.index().blob_referenced(d));
    if (referenced) continue;
    if (age_of(store.blobs().path(d)) < Store::k_orphan_grace_seconds) {
      report.repaired.push_back("kept orphaned blob " + d.str() + " (written in the last " +
                                std::to_string(Store::k_orphan_grace_seconds / 60) +
                                " minutes: a running build may own it)");
      continue;
    }
    MKIMAGE_TRY_VOID(store.blobs().remove(d));
    report.repaired.push_back("removed orphaned blob " + d.str());
  }
  return {};
}

// The names in ROOT/snapshots, sorted.
util::Result<std::vector<std::string>> snapshot_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return util::Error{"list \"" + dir.string() + "\": " + ec.message()};
  }
  std::sort(names.begin(), names.end());
  return names;
}

// --deep: each snapshot directory against its layer blob; entries no row names are stale.
util::Result<void> check_snapshots(Store& store, const BlobView& v, Repair repair, CheckReport& report) {
  MKIMAGE_TRY(auto layers, store.index().list_layers());
  std::map<std::string, LayerRecord> by_hex;
  for (const auto& l : layers) by_hex.emplace(l.chain_id.digest.hex(), l);
  fs::path dir = store.root().snapshots_dir();
  MKIMAGE_TRY(auto names, snapshot_names(dir));
  std::error_code ec;
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
      if (!v.files.count(l.blob) || v.corrupt.count(l.blob)) {
        // nothing trustworthy to compare with; the blob is reported already
        continue;
      }
      ++report.snapshots_checked;
      MKIMAGE_TRY(auto problems, verify_snapshot(store.blobs().path(l.blob), path));
      if (problems.empty()) continue;
      report.bad_snapshots.push_back(name + ": " + join_problems(problems));
      if (repair == Repair::yes) {
        MKIMAGE_TRY_VOID(remove_snapshot(store, l.chain_id));
        removed.insert(name);
        report.repaired.push_back("removed corrupt snapshot " + name + " (re-made from its layer on next use)");
      }
      continue;
    }
    // Staging (.tmp-*) and trash (.trash-*) directories of a running process
    // are young; old ones are leftovers of a crash.
    bool leftover = name.starts_with(".tmp-") || name.starts_with(".trash-");
    if (leftover && age_of(path) < Store::k_orphan_grace_seconds) continue;
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
    if (fs::is_directory(fs::symlink_status(store.root().dir() / *l.snapshot, ec))) continue;
    report.stale.push_back("layer " + l.chain_id.digest.str() + " names " + *l.snapshot + ", which does not exist");
    if (repair == Repair::yes) {
      MKIMAGE_TRY_VOID(store.index().set_snapshot(l.chain_id, std::nullopt));
      report.repaired.push_back("cleared the snapshot of layer " + l.chain_id.digest.str());
    }
  }
  return {};
}

}  // namespace

util::Result<CheckReport> Store::check(Repair repair, CheckDepth depth) {
  CheckReport report;
  MKIMAGE_TRY(BlobView view, check_blobs(*this, report));
  if (repair == Repair::yes && !report.missing.empty()) MKIMAGE_TRY_VOID(repair_missing(*this, view, report));
  if (repair == Repair::yes && !report.orphaned.empty()) MKIMAGE_TRY_VOID(remove_orphans(*this, report));
  if (depth == CheckDepth::deep) MKIMAGE_TRY_VOID(check_snapshots(*this, view, repair, report));
  return report;
}

}  // namespace mkimage::store
