// --cache-to in a build (docs/remote-cache.md): every filesystem step's result
// is noted as it completes; after the outputs, remote hits whose layer is now in
// the store get local cache rows, and each --cache-to target is written:
// mode=min the steps of the final image's chain (the target stage and the stages
// it is built FROM), mode=max every stage's steps.
#include <set>

#include "util/json_text.hpp"
#include "builder/build_internal.hpp"
#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "remote_cache/exporter.hpp"

namespace mkimage::builder {

namespace {

// The target stage and the stages it is built FROM (mode=min).
std::set<int> final_chain(const BuildSession& s, int target) {
  std::set<int> out;
  int at = target;
  while (at >= 0 && out.insert(at).second) {
    int next = -1;
    for (const auto& st : s.plan.stages)
      if (st.index == at && st.base.kind == graph::StageBase::Kind::stage) next = st.base.stage;
    at = next;
  }
  return out;
}

int target_index(const BuildSession& s) {
  if (s.plan.target >= 0 || s.plan.stages.empty()) return s.plan.target;
  return s.plan.stages.back().index;
}

std::vector<remote_cache::Record> records_for(BuildSession& s, bool mode_max) {
  std::set<int> chain = final_chain(s, target_index(s));
  std::vector<remote_cache::Record> out;
  std::lock_guard lock(s.cache_steps_mutex);
  for (const auto& c : s.cache_steps)
    if (mode_max || chain.count(c.stage)) out.push_back(c.record);
  return out;
}

// Local cache rows for remote hits whose layer was fetched (or that have none):
// the next build on this machine hits without asking the source again.
void adopt_remote_hits(BuildSession& s) {
  std::vector<ExportStep> steps;
  {
    std::lock_guard lock(s.cache_steps_mutex);
    steps = s.cache_steps;
  }
  for (const auto& c : steps) {
    if (!c.remote_hit) continue;
    const auto& d = c.record.diff_id;
    if (d && !s.store->blobs().exists(d->digest)) continue;  // still only remote
    nlohmann::json result = nlohmann::json::object();
    result["diff_id"] = d ? nlohmann::json(d->digest.str()) : nlohmann::json(nullptr);
    result["created"] = c.record.created;
    store::CacheRecord rec;
    rec.key = c.record.key;
    rec.result = util::json_text(result);
    if (d) rec.refs.push_back(d->digest);
    auto t = store::Timestamp::parse(c.record.created);
    rec.created = t.ok() ? t->seconds : store::Timestamp::now().seconds;
    rec.last_used = store::Timestamp::now().seconds;
    (void)s.store->index().add_cache(rec);  // an existing row wins
  }
}

std::string target_name(const CacheSpec& spec) {
  if (spec.type == CacheType::local) return spec.dir.string();
  return spec.ref;
}

util::Result<remote_cache::ExportReport> export_one(BuildSession& s, const CacheSpec& spec,
                                                    const remote_cache::ExportInput& input) {
  if (spec.type == CacheType::local) return remote_cache::export_to_layout(*s.store, spec.dir, input);
  MKIMAGE_TRY(auto config, registry::RegistryConfig::load(s.store->root().dir()));
  auto creds = registry::CredentialStore::open_default();
  return remote_cache::export_to_registry(*s.store, config, creds, spec.ref, input);
}

}  // namespace

void note_cache_step(BuildSession& s, const graph::Stage& stage, const CacheKey& key,
                     const std::optional<store::DiffId>& diff_id, const store::Timestamp& created, bool remote_hit) {
  if (s.request.cache_to.empty() && !s.imported_cache) return;
  std::lock_guard lock(s.cache_steps_mutex);
  s.cache_steps.push_back(ExportStep{stage.index, remote_cache::Record{key.str(), diff_id, created.str()}, remote_hit});
}

std::optional<remote_cache::RecordSet> inline_records(BuildSession& s, const StageState& final_state) {
  bool wanted = false;
  for (const auto& spec : s.request.cache_to) wanted = wanted || spec.type == CacheType::inline_records;
  if (!wanted) return std::nullopt;
  std::set<std::string> in_image;
  for (const auto& l : final_state.layers) in_image.insert(l.diff_id.digest.str());
  remote_cache::RecordSet set;
  for (auto& r : records_for(s, false)) {
    if (r.diff_id && !in_image.count(r.diff_id->digest.str())) continue;  // its layer is not in the image
    set.records.push_back(std::move(r));
  }
  std::sort(set.records.begin(), set.records.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  set.records.erase(std::unique(set.records.begin(), set.records.end(),
                                [](const auto& a, const auto& b) { return a.key == b.key; }),
                    set.records.end());
  return set;
}

util::Result<void> export_caches(BuildSession& s, const StageState& /*final_state*/) {
  adopt_remote_hits(s);
  for (const auto& spec : s.request.cache_to) {
    if (spec.type == CacheType::inline_records) continue;  // in the image config (outputs.cpp)
    std::string name = target_name(spec);
    InternalStep step(s, spec.type == CacheType::local ? "exporting cache to " + name
                                                       : "exporting cache to registry " + name);
    remote_cache::ExportInput input;
    input.records = records_for(s, spec.mode_max);
    input.compression = spec.compression == Compression::zstd ? store::Compression::zstd : store::Compression::gzip;
    input.importer = s.imported_cache.get();
    if (spec.mounts) input.mounts = cache_mount_layers(s, spec.mounts_max_size);
    input.materialize = [&](const store::DiffId& d) {
      LayerRef l;
      l.diff_id = d;
      l.blob = d.digest;
      l.remote = true;
      return ensure_layers_local(s, {l});
    };
    input.log = [&](const std::string& line) { step.output(line); };
    step.output("preparing build cache for export");
    auto report = export_one(s, spec, input);
    if (report.ok()) {
      step.output(report->unchanged ? "cache is up to date: " + report->manifest.str()
                                    : std::to_string(report->uploaded) + " blobs written (" +
                                          std::to_string(report->bytes_uploaded) + " bytes), " +
                                          std::to_string(report->mounted) + " mounted");
      (void)step.finish(util::Result<void>{});
      continue;
    }
    std::string why = report.error().message;
    (void)step.finish(util::Result<void>{report.error()});
    if (!spec.ignore_error) return util::Error{"ERROR: failed to export cache: " + why};
    s.warn("failed to export cache (ignore-error=true): " + why);
  }
  return {};
}

}  // namespace mkimage::builder
