// `mkimage store check`: re-hash every blob and cross-check the index.
#include <set>

#include "store/store.hpp"

namespace mkimage::store {

util::Result<CheckReport> Store::check(Repair repair) {
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

  for (const auto& d : on_disk) {
    MKIMAGE_TRY(bool good, m_blobs.verify(d));
    ++report.checked;
    if (!good) report.corrupt.push_back(d);
    if (!needed.count(d)) report.orphaned.push_back(d);
  }
  for (const auto& d : needed) {
    if (!files.count(d)) report.missing.push_back(d);
  }
  if (repair == Repair::no || report.missing.empty()) return report;

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
  return report;
}

}  // namespace mkimage::store
