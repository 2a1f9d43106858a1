#include "builder/graph_sources.hpp"

#include <nlohmann/json.hpp>

#include "builder/copy.hpp"
#include "builder/stat_cache_index.hpp"

namespace mkimage::builder {

namespace {

// The index's stat cache, read only: a dry run hashes what changed and keeps nothing.
class ReadOnlyStatCache : public StatCache {
public:
  explicit ReadOnlyStatCache(store::Index& index) : m_inner(index) {}
  util::Result<std::optional<StatCacheEntry>> lookup(const std::string& path, const StatKey& key) override {
    return m_inner.lookup(path, key);
  }
  util::Result<void> record(const std::string&, const StatKey&, const StatCacheEntry&) override { return {}; }
  util::Result<void> preload(const std::string& dir) override { return m_inner.preload(dir); }

private:
  IndexStatCache m_inner;
};

PlanOptions read_only_plan_options(const BuildSession& s, StatCache* stats) {
  PlanOptions po;
  po.preload = stats;
  po.scratch_dir = s.work_dir;  // unused: nothing is downloaded
  po.allow_network = false;  // (an ADD of a URL has no key before the build: graph/graph.cpp)
  return po;
}

}  // namespace

util::Result<graph::ResolvedRef> SessionImageSources::resolve(const std::string& reference) {
  graph::ResolvedRef out;
  auto src = resolve_source(m_s, reference);
  if (!src.ok()) {
    const std::string& m = src.error().message;
    if (!m.starts_with(k_not_in_store_prefix) && !m.starts_with("--pull:")) return src.error();
    out.kind = graph::ResolvedRef::Kind::unknown;
    out.why = m;
    return out;
  }
  switch (src->kind) {
    case ResolvedSource::Kind::image:
      out.manifest_digest = src->image->manifest_descriptor.digest.str();
      break;
    case ResolvedSource::Kind::scratch: out.kind = graph::ResolvedRef::Kind::scratch; break;
    case ResolvedSource::Kind::directory:
      out.kind = graph::ResolvedRef::Kind::directory;
      out.directory = src->context;
      break;
  }
  return out;
}

SessionContextDigests::SessionContextDigests(BuildSession& s)
    : m_s(s), m_stats(std::make_unique<ReadOnlyStatCache>(s.store->index())) {}

util::Result<const BuildContext*> SessionContextDigests::directory(const std::string& name) {
  if (name.empty()) return &*m_s.context;
  MKIMAGE_TRY(ResolvedSource src, load_named_context(m_s, name));
  if (!src.directory) return util::Error{"build context " + name + " is not a directory"};
  return src.directory;
}

util::Result<std::string> SessionContextDigests::copy_digest(const std::string& name,
                                                             const parser::CopyInstruction& copy) {
  MKIMAGE_TRY(const BuildContext* dir, directory(name));
  SourceTree tree{dir->root(), SourceTree::Origin::context, &dir->filter()};
  MKIMAGE_TRY(CopyPlan plan, plan_copy(make_copy_op(copy), tree, read_only_plan_options(m_s, m_stats.get())));
  FileListing files;
  MKIMAGE_TRY(store::Digest d, copy_content_digest(plan, m_stats.get(), nullptr, &files));
  m_listings.emplace(d.str(), std::move(files));
  return d.str();
}

const FileListing* SessionContextDigests::listing(const std::string& digest) const {
  auto it = m_listings.find(digest);
  return it == m_listings.end() ? nullptr : &it->second;
}

util::Result<std::string> SessionContextDigests::mount_digest(const std::string& name, const std::string& source) {
  MKIMAGE_TRY(const BuildContext* dir, directory(name));
  SourceTree tree{dir->root(), SourceTree::Origin::context, &dir->filter()};
  CopyOp op;
  op.sources = {source.empty() ? "." : source};
  op.dest.assign(1, '/');
  MKIMAGE_TRY(CopyPlan plan, plan_copy(op, tree, read_only_plan_options(m_s, m_stats.get())));
  MKIMAGE_TRY(store::Digest d, copy_content_digest(plan, m_stats.get()));
  return d.str();
}

util::Result<bool> StoreCacheLookup::usable(const graph::CacheKey& key) {
  MKIMAGE_TRY(auto rec, m_store.index().peek_cache(key.str()));
  if (!rec) return false;
  // As the build's lookup (stage_runner.cpp cached_result): a record that does
  // not parse, or whose layer is gone, is executed again.
  auto j = nlohmann::json::parse(rec->result, nullptr, false);
  if (!j.is_object()) return false;
  if (!j.contains("diff_id") || !j["diff_id"].is_string()) return true;  // a step that changed no file
  auto d = store::Digest::parse(j["diff_id"].get<std::string>());
  if (!d.ok()) return false;
  MKIMAGE_TRY(auto layer, m_store.index().find_layer_by_diff_id(store::DiffId{*d}));
  return layer && m_store.blobs().exists(layer->blob);
}

}  // namespace mkimage::builder
