#include "store/gc.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "store/root_lock.hpp"
#include "store/snapshots.hpp"
#include "store/store.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

// The model as a graph of layer blobs.
struct Graph {
  std::map<Digest, const BlobRecord*> blob;
  std::map<Digest, const LayerRecord*> layer;                   // by chain_id
  std::map<Digest, std::vector<const LayerRecord*>> layers_of;  // blob → its stack positions
  std::map<Digest, std::vector<const LayerRecord*>> children;   // chain_id → layers on top
  std::map<Digest, std::vector<const CacheRecord*>> entries;    // blob → entries keeping it
  std::map<Digest, std::vector<Digest>> copies;                 // layer blob → compressed copies
  std::set<Digest> copy_blobs;
  std::set<Digest> pinned;                   // needed by an image, held by a running build
  std::map<Digest, std::set<Digest>> below;  // blob → blobs below it in some stack
  std::map<Digest, int> above_alive;         // blob → kept blobs stacked on it

  explicit Graph(const UsageModel& m) {
    for (const auto& b : m.blobs) blob[b.digest] = &b;
    for (const auto& l : m.layers) {
      layer[l.chain_id.digest] = &l;
      layers_of[l.blob].push_back(&l);
    }
    for (const auto& l : m.layers)
      if (l.parent) children[l.parent->digest].push_back(&l);
    for (const auto& c : m.cache) {
      if (!c.refs.empty()) entries[c.refs.front()].push_back(&c);
      // Further refs of an entry (none today) stay while it does.
      for (std::size_t i = 1; i < c.refs.size(); ++i) pinned.insert(c.refs[i]);
    }
    for (const auto& c : m.compressed) {
      copies[c.diff_id.digest].push_back(c.descriptor.digest);
      copy_blobs.insert(c.descriptor.digest);
    }
    for (const auto& [manifest, blobs] : m.images) pinned.insert(blobs.begin(), blobs.end());
    pinned.insert(m.leased.begin(), m.leased.end());
    for (const auto& l : m.layers) {
      std::set<const LayerRecord*> seen;
      for (const LayerRecord* p = parent_of(&l); p && seen.insert(p).second; p = parent_of(p))
        if (p->blob != l.blob) below[l.blob].insert(p->blob);
    }
    for (const auto& [b, under] : below)
      if (alive(b))
        for (const auto& u : under) ++above_alive[u];
  }
  const LayerRecord* parent_of(const LayerRecord* l) const {
    if (!l || !l->parent) return nullptr;
    auto it = layer.find(l->parent->digest);
    return it == layer.end() ? nullptr : it->second;
  }
  bool alive(const Digest& b) const { return pinned.count(b) || entries.count(b); }
};

// Removal order: unreferenced blobs first, then least recently used, oldest, by digest.
using Priority = std::tuple<int, std::int64_t, std::int64_t, Digest>;

class Planner {
public:
  Planner(const UsageModel& m, const GcPolicy& p) : m_model(m), m_policy(p), m_graph(m) {
    m_plan.bytes_before = model_bytes(m);
    m_total = m_plan.bytes_before;
  }

  GcPlan run() {
    for (const auto& b : m_model.blobs) push_if_leaf(b.digest);
    std::vector<const DownloadRecord*> downloads = eligible_downloads();
    auto next_download = downloads.begin();
    while (!m_queue.empty() || next_download != downloads.end()) {
      if (m_policy.keep_bytes && m_total <= *m_policy.keep_bytes) break;
      // unreferenced blobs first, then whichever leaf was used least recently
      bool download_first = next_download != downloads.end() &&
                            (m_queue.empty() || (std::get<0>(*m_queue.begin()) != 0 &&
                                                 (*next_download)->last_used < std::get<1>(*m_queue.begin())));
      if (download_first) {
        m_plan.downloads.push_back((*next_download)->name);
        m_total -= (*next_download)->bytes;
        ++next_download;
        continue;
      }
      auto first = m_queue.begin();
      Digest b = std::get<3>(*first);
      m_queue.erase(first);
      if (!m_removed.count(b)) remove(b);
    }
    if (!m_policy.keep_bytes) remove_rows_only();
    m_plan.bytes_after = m_total;
    return std::move(m_plan);
  }

private:
  // Downloads not used within the grace time (nor since `--filter until`),
  // least recently used first.
  std::vector<const DownloadRecord*> eligible_downloads() const {
    std::vector<const DownloadRecord*> out;
    for (const auto& d : m_model.downloads) {
      if (d.last_used >= m_model.now - m_policy.orphan_grace_s) continue;
      if (m_policy.unused_before && d.last_used >= *m_policy.unused_before) continue;
      out.push_back(&d);
    }
    std::sort(out.begin(), out.end(), [](const DownloadRecord* a, const DownloadRecord* b) {
      return std::tie(a->last_used, a->name) < std::tie(b->last_used, b->name);
    });
    return out;
  }

  bool unused_long_enough(const CacheRecord& c) const {
    return !m_policy.unused_before || c.last_used < *m_policy.unused_before;
  }

  // An unreferenced blob row: no entry, image or build keeps it, it is no
  // compressed copy of a kept layer, and it is older than the grace time.
  bool garbage(const Digest& b, const BlobRecord& row) const {
    if (m_graph.copy_blobs.count(b)) {
      for (const auto& c : m_model.compressed)
        if (c.descriptor.digest == b && (m_graph.alive(c.diff_id.digest) && !m_removed.count(c.diff_id.digest)))
          return false;
    }
    return row.added < m_model.now - m_policy.orphan_grace_s;
  }

  void push_if_leaf(const Digest& b) {
    auto row = m_graph.blob.find(b);
    if (row == m_graph.blob.end() || m_removed.count(b) || m_graph.pinned.count(b)) return;
    auto above = m_graph.above_alive.find(b);
    if (above != m_graph.above_alive.end() && above->second > 0) return;
    auto e = m_graph.entries.find(b);
    if (e == m_graph.entries.end()) {
      if (garbage(b, *row->second)) m_queue.insert({0, row->second->added, row->second->added, b});
      return;
    }
    std::int64_t last_used = 0;
    std::int64_t created = INT64_MAX;
    for (const CacheRecord* c : e->second) {
      if (!unused_long_enough(*c)) return;
      last_used = std::max(last_used, c->last_used);
      created = std::min(created, c->created);
    }
    m_queue.insert({1, last_used, created, b});
  }

  void remove_blob(const Digest& b) {
    auto row = m_graph.blob.find(b);
    if (row == m_graph.blob.end() || !m_removed.insert(b).second) return;
    m_plan.blobs.push_back(b);
    m_total -= row->second->size;
  }

  // The layer rows of `b` and every layer stacked on them go with the blob.
  void remove_layers(const Digest& b) {
    auto of = m_graph.layers_of.find(b);
    if (of == m_graph.layers_of.end()) return;
    std::vector<const LayerRecord*> todo(of->second.begin(), of->second.end());
    while (!todo.empty()) {
      const LayerRecord* l = todo.back();
      todo.pop_back();
      if (!m_removed_layers.insert(l->chain_id.digest).second) continue;
      m_plan.layers.push_back(l->chain_id);
      m_total -= l->snapshot_size.value_or(0);
      auto ch = m_graph.children.find(l->chain_id.digest);
      if (ch != m_graph.children.end()) todo.insert(todo.end(), ch->second.begin(), ch->second.end());
    }
  }

  void remove(const Digest& b) {
    bool was_alive = m_graph.alive(b);
    auto e = m_graph.entries.find(b);
    if (e != m_graph.entries.end()) {
      for (const CacheRecord* c : e->second) m_plan.keys.push_back(c->key);
      m_graph.entries.erase(e);
    }
    remove_blob(b);
    auto copies = m_graph.copies.find(b);
    if (copies != m_graph.copies.end())
      for (const auto& c : copies->second)
        if (!m_graph.pinned.count(c)) remove_blob(c);
    remove_layers(b);
    if (!was_alive) return;
    auto under = m_graph.below.find(b);
    if (under == m_graph.below.end()) return;
    for (const auto& u : under->second)
      if (--m_graph.above_alive[u] == 0) push_if_leaf(u);
  }

  // Without a bound: entries that keep no layer, and with `all` the entries
  // whose layer an image needs (not a running build), go as rows.
  void remove_rows_only() {
    std::set<std::string> planned(m_plan.keys.begin(), m_plan.keys.end());
    for (const auto& c : m_model.cache) {
      if (planned.count(c.key) || !unused_long_enough(c)) continue;
      bool drop = c.refs.empty();
      if (!drop && m_policy.all) {
        drop = std::all_of(c.refs.begin(), c.refs.end(), [&](const Digest& d) {
          return !m_model.leased.count(d) && m_graph.pinned.count(d);
        });
      }
      if (drop) m_plan.keys.push_back(c.key);
    }
  }

  const UsageModel& m_model;
  const GcPolicy& m_policy;
  Graph m_graph;
  GcPlan m_plan;
  std::int64_t m_total = 0;
  std::set<Priority> m_queue;
  std::set<Digest> m_removed;
  std::set<Digest> m_removed_layers;
};

// Deletes the plan's rows in one transaction; returns the blobs whose rows
// went. A blob an image or entry recorded meanwhile uses, or a live lease
// holds, stays.
util::Result<std::vector<Digest>> delete_rows(Store& store, const GcPlan& plan, const std::set<std::string>& leased) {
  Index& idx = store.index();
  std::vector<Digest> gone;
  MKIMAGE_TRY_VOID(idx.transaction([&]() -> util::Result<void> {
    gone.clear();
    for (const auto& k : plan.keys) MKIMAGE_TRY_VOID(idx.delete_cache(k));
    for (const auto& b : plan.blobs) {
      if (leased.count(b.str())) continue;
      MKIMAGE_TRY(bool used, idx.blob_referenced(b));
      if (used) continue;
      MKIMAGE_TRY_VOID(idx.delete_blob(b));  // cascades to its layers and those above them
      gone.push_back(b);
    }
    return {};
  }));
  return gone;
}

}  // namespace

GcPlan plan_gc(const UsageModel& model, const GcPolicy& policy) { return Planner(model, policy).run(); }

util::Result<GcReport> collect_garbage(Store& store, const GcPolicy& policy) {
  (void)store.index().flush_hits();  // this process's hits count in the LRU order (best effort)
  MKIMAGE_TRY_VOID(measure_snapshots(store));
  RootLock gc(store.root().gc_lock_file(), LOCK_EX);
  if (!gc.ok()) return util::sys_error("open", store.root().gc_lock_file().string());
  MKIMAGE_TRY(std::set<std::string> leased, store.live_leased_refs());
  MKIMAGE_TRY(UsageModel model, read_usage_model(store, leased));
  GcPlan plan = plan_gc(model, policy);
  GcReport report;
  report.bytes_before = plan.bytes_before;
  report.bytes_after = plan.bytes_before;
  for (const auto& name : plan.downloads) {
    report.reclaimed += remove_download(store.root().url_cache_dir(), name);
    report.downloads.push_back(name);
  }
  report.bytes_after = report.bytes_before - report.reclaimed;
  if (plan.keys.empty() && plan.blobs.empty()) return report;
  MKIMAGE_TRY(std::vector<Digest> gone, delete_rows(store, plan, leased));
  report.deleted = plan.keys;
  // Files after rows: snapshots of every layer row that went (the cascade may
  // reach stacks the plan did not list), then the blobs.
  MKIMAGE_TRY(auto now, store.index().list_layers());
  std::set<Digest> remaining;
  for (const auto& l : now) remaining.insert(l.chain_id.digest);
  for (const auto& l : model.layers) {
    if (remaining.count(l.chain_id.digest) || !l.snapshot) continue;
    fs::path dir = store.root().dir() / *l.snapshot;
    std::int64_t bytes = l.snapshot_size ? *l.snapshot_size : dir_bytes(dir);
    std::error_code ec;
    if (!fs::exists(dir, ec)) continue;
    MKIMAGE_TRY_VOID(remove_tree(dir));
    ::unlink(unsynced_marker(dir).c_str());
    report.reclaimed += bytes;
  }
  for (const auto& b : gone) {
    auto size = store.blobs().size(b);
    MKIMAGE_TRY_VOID(store.blobs().remove(b));
    if (size) report.reclaimed += *size;
  }
  report.bytes_after = report.bytes_before - report.reclaimed;
  return report;
}

}  // namespace mkimage::store
