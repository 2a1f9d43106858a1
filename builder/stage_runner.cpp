// Runs one stage: FROM, then every step (metadata in memory, filesystem steps
// through the cache and the snapshotter). See builder/build_internal.hpp.
#include <nlohmann/json.hpp>

#include <deque>
#include <sstream>

#include "util/json_text.hpp"
#include "builder/build_internal.hpp"
#include "builder/interrupt.hpp"

namespace mkimage::builder {

using nlohmann::json;

bool BuildSession::no_cache_for(const graph::Stage& stage) const {
  if (request.no_cache) return true;
  for (const auto& f : request.no_cache_filter) {
    std::string lower = f;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == stage.name || lower == std::to_string(stage.index) || lower == stage.display_name()) return true;
  }
  return false;
}

void BuildSession::warn(const std::string& text) {
  std::string w = "WARNING: " + text;
  sink.call([&](EventSink& k) { k.message(w); });
  std::lock_guard lock(outcomes_mutex);
  warnings.push_back(w);
}

void BuildSession::record(const StepInfo& info, CacheOutcome outcome, double elapsed) {
  std::lock_guard lock(outcomes_mutex);
  outcomes.push_back(StepOutcome{info, outcome, elapsed});
}

std::string dockerfile_excerpt(const BuildSession& s, const parser::SourceRange& range) {
  const auto& lines = s.plan.source_lines;
  std::ostringstream out;
  int first = std::max(1, range.start_line - 2);
  int last = std::min(static_cast<int>(lines.size()), std::max(range.end_line, range.start_line) + 2);
  out << s.dockerfile_name << ":" << range.start_line;
  if (range.end_line > range.start_line) out << "-" << range.end_line;
  out << "\n--------------------\n";
  for (int l = first; l <= last; ++l) {
    bool hit = l >= range.start_line && l <= std::max(range.end_line, range.start_line);
    char num[16];
    std::snprintf(num, sizeof num, "%4d", l);
    out << (hit ? " >>>" : "    ") << num << " | " << lines[l - 1] << "\n";
  }
  out << "--------------------\n";
  return out.str();
}

util::Result<StageState> wait_for_stage(BuildSession& s, int stage_index) {
  std::unique_lock lock(s.results_mutex);
  s.results_cv.wait(lock, [&] { return s.stage_results.count(stage_index) || s.cancelled.load(); });
  auto it = s.stage_results.find(stage_index);
  if (it == s.stage_results.end()) return util::Error{"build cancelled"};
  return it->second;
}

namespace {

// Splits a stream of chunks into lines for EventSink::step_output.
class LineSplitter {
public:
  explicit LineSplitter(std::function<void(std::string_view)> out) : m_out(std::move(out)) {}
  void feed(std::string_view chunk) {
    for (char c : chunk) {
      if (c == '\n') {
        flush_line();
      } else if (c != '\r') {
        m_buf.push_back(c);
      }
    }
  }
  void finish() {
    if (!m_buf.empty()) flush_line();
  }

private:
  void flush_line() {
    m_out(m_buf);
    m_buf.clear();
  }
  std::function<void(std::string_view)> m_out;
  std::string m_buf;
};

// A stored step result that can be used on top of `state`: its layer (none for
// a step that changed no file), diff_id and history time.
struct CachedResult {
  std::optional<LayerRef> layer;
  std::optional<store::DiffId> diff_id;
  store::Timestamp created;
};

// nullopt when the record is unusable (bad JSON, or its layer is gone).
util::Result<std::optional<CachedResult>> cached_result(BuildSession& s, const StageState& state,
                                                        const store::CacheRecord& rec) {
  json j = json::parse(rec.result, nullptr, false);
  if (!j.is_object()) return std::optional<CachedResult>{};
  CachedResult r;
  r.created = created_time(s.source_date_epoch);
  if (j.contains("diff_id") && j["diff_id"].is_string()) {
    auto d = store::Digest::parse(j["diff_id"].get<std::string>());
    if (!d.ok()) return std::optional<CachedResult>{};
    r.diff_id = store::DiffId{*d};
    MKIMAGE_TRY(r.layer, find_layer(s, state.layers, *r.diff_id));
    if (!r.layer) return std::optional<CachedResult>{};  // the layer is gone: execute again
  }
  if (j.contains("created") && j["created"].is_string()) {
    auto t = store::Timestamp::parse(j["created"].get<std::string>());
    if (t.ok()) r.created = *t;
  }
  return std::optional<CachedResult>{std::move(r)};
}

std::string tail_text(const std::deque<std::string>& tail) {
  std::string s;
  for (const auto& l : tail) s += l + "\n";
  return s;
}

}  // namespace

util::Result<void> run_fs_step(BuildSession& s, const graph::Stage& stage, StageState& state, const StepSlot& slot,
                               const CacheKey& key, const std::vector<std::pair<std::string, std::string>>& fields,
                               const std::string& created_by, const FsExecutor& exec,
                               const std::function<void()>& on_miss) {
  StepInfo info = slot.info;
  info.cache_key = key.str();
  if (s.request.explain_cache) s.sink.call([&](EventSink& k) { k.explain(info, fields); });
  auto t0 = SteadyClock::now();
  StepChain::FileLister lister;
  StepInputs inputs = take_step_inputs(state.chain, info.name, fields, lister);

  bool lookup = !s.no_cache_for(stage);
  MissFlags why;
  why.no_cache = s.request.no_cache;
  why.no_cache_filter = !lookup && !s.request.no_cache;
  why.parent_ran = state.chain.parent_ran;
  if (lookup) {
    MKIMAGE_TRY(auto rec, s.store->index().get_cache(key.str()));
    if (rec) {
      MKIMAGE_TRY(std::optional<CachedResult> cached, cached_result(s, state, *rec));
      why.layer_gone = !cached;
      if (cached) {
        state.chain.parent_ran = false;
        if (cached->layer) state.layers.push_back(*cached->layer);
        state.config.add_history(created_by, cached->created, cached->diff_id);
        state.key = key;
        state.last_created = cached->created;
        note_cache_step(s, stage, key, cached->diff_id, cached->created, false);
        s.sink.call([&](EventSink& k) {
          k.step_started(info);
          k.step_cached(info);
        });
        s.record(info, CacheOutcome::hit, 0);
        return {};
      }
    }
    MKIMAGE_TRY(bool remote, apply_remote_hit(s, stage, state, info, key, created_by));
    if (remote) {
      state.chain.parent_ran = false;
      s.sink.call([&](EventSink& k) {
        k.step_started(info);
        k.step_cached(info);
      });
      s.record(info, CacheOutcome::hit, 0);
      return {};
    }
  }

  // Miss: execute on a fresh snapshot.
  if (on_miss) on_miss();
  load_step_files(inputs, lister);
  info.miss_reason = explain_miss(s, stage, slot, key, inputs, why);
  s.sink.call([&](EventSink& k) { k.step_started(info); });
  std::deque<std::string> tail;
  auto fail = [&](const util::Error& e) -> util::Error {
    double t = seconds_since(t0);
    std::string first = e.message;
    std::ostringstream msg;
    msg << "------\n > " << info.label << " " << info.name << ":\n" << tail_text(tail) << "------\n";
    msg << dockerfile_excerpt(s, parser::SourceRange{info.line, 0, slot.end_line, 0});
    msg << "ERROR: failed to solve: " << first;
    s.sink.call([&](EventSink& k) { k.step_error(info, first, t); });
    s.record(info, CacheOutcome::miss, t);
    return util::Error{msg.str()};
  };

  auto lowers = lowerdirs_for(s, state.layers);
  if (!lowers.ok()) return fail(lowers.error());
  auto snap = s.snapshotter->prepare(*lowers);
  if (!snap.ok()) return fail(snap.error());
  ActiveSnapshot& snapshot = **snap;

  FsStepIo io;
  io.snapshot = &snapshot;
  LineSplitter lines([&](std::string_view line) {
    tail.emplace_back(line);
    if (tail.size() > 10) tail.pop_front();
    double t = seconds_since(t0);
    s.sink.call([&](EventSink& k) { k.step_output(info, line, t); });
  });
  io.output = [&](std::string_view chunk) { lines.feed(chunk); };
  auto r = exec(io);
  lines.finish();
  // From here to the cache row, one section: an interrupt during the step
  // (which may already be removing the upperdir) stops the build here, and one
  // that comes later waits until the layer and its cache row are complete.
  UninterruptibleScope section;
  if (!r.ok()) {
    snapshot.discard();
    return fail(r.error());
  }
  auto upper = snapshot.finish();
  if (!upper.ok()) {
    snapshot.discard();
    return fail(upper.error());
  }
  std::vector<std::string> excludes = snapshot.runtime_created();
  excludes.insert(excludes.end(), io.excludes.begin(), io.excludes.end());
  auto layer = commit_upperdir(s, *upper, excludes, state.layers);
  if (!layer.ok()) {
    snapshot.discard();
    return fail(layer.error());
  }
  snapshot.discard();  // the upperdir, if committed, was moved to the layer's snapshot

  store::Timestamp created = created_time(s.source_date_epoch);
  json result = json::object();
  result["diff_id"] = *layer ? json((*layer)->diff_id.digest.str()) : json(nullptr);
  result["created"] = created.str();
  store::CacheRecord rec;
  rec.key = key.str();
  rec.result = util::json_text(result);
  if (*layer) rec.refs.push_back((*layer)->blob);
  // When the entry was made and last used, for `cache ls` and the GC's LRU
  // order (the history's `created` above may be SOURCE_DATE_EPOCH).
  rec.created = store::Timestamp::now().seconds;
  rec.last_used = rec.created;
  rec.step = info.label + " " + info.name;
  std::optional<LayerRef> own = *layer;
  std::optional<store::DiffId> diff_id = own ? std::optional<store::DiffId>(own->diff_id) : std::nullopt;
  std::optional<CachedResult> adopted;
  if (lookup) {
    // Another build (or a parallel stage of this one) may have stored this
    // step meanwhile: its result wins, so every image built from this key,
    // and a cached rebuild of it, gets the same layer and history time.
    MKIMAGE_TRY(auto stored, s.store->index().add_cache(rec));
    if (stored) {
      MKIMAGE_TRY(adopted, cached_result(s, state, *stored));
      if (!adopted) MKIMAGE_TRY_VOID(s.store->index().put_cache(rec));  // unusable: replaced
    }
  } else {
    MKIMAGE_TRY_VOID(s.store->index().put_cache(rec));
  }
  if (adopted) {
    own = adopted->layer;
    diff_id = adopted->diff_id;
    created = adopted->created;
  }

  record_step_inputs(s, stage, slot, key, inputs);
  state.chain.parent_ran = true;

  if (own) state.layers.push_back(*own);
  state.config.add_history(created_by, created, diff_id);
  note_cache_step(s, stage, key, diff_id, created, false);
  state.key = key;
  state.last_created = created;
  state.any_miss = true;
  double t = seconds_since(t0);
  s.sink.call([&](EventSink& k) { k.step_done(info, t); });
  s.record(info, s.no_cache_for(stage) ? CacheOutcome::uncached : CacheOutcome::miss, t);
  return {};
}

util::Result<StageState> run_stage(BuildSession& s, const graph::Stage& stage) {
  StageState st;
  const std::string platform = "linux/amd64";
  KeyHasher h;
  const StepSlot& from_slot = s.slots.at({stage.index, -1});
  if (!stage.base.platform.empty() && !is_host_platform(stage.base.platform)) {
    return util::Error{dockerfile_excerpt(s, stage.range) + "ERROR: platform \"" + stage.base.platform +
                       "\" is not supported: mkimage builds only for the host (linux/amd64)"};
  }
  const BuildContext* directory_base = nullptr;
  switch (stage.base.kind) {
    case graph::StageBase::Kind::scratch:
      st.config = ConfigState::scratch();
      st.key = key_for_from(h, "scratch", platform, s.source_date_epoch);
      break;
    case graph::StageBase::Kind::image:
    case graph::StageBase::Kind::context: {
      auto resolved = resolve_source(s, stage.base.image);
      if (!resolved.ok()) return util::Error{dockerfile_excerpt(s, stage.range) + "ERROR: " + resolved.error().message};
      if (resolved->kind != ResolvedSource::Kind::image) {
        // An empty image, or a directory context's files on an empty rootfs.
        st.config = ConfigState::scratch();
        st.key = key_for_from(h, "scratch", platform, s.source_date_epoch);
        if (resolved->kind == ResolvedSource::Kind::directory) directory_base = resolved->directory;
        break;
      }
      const store::Image& img = *resolved->image;
      st.config = ConfigState::from_base(img.config);
      st.layers = image_layer_refs(img);
      if (img.config.created) st.last_created = *img.config.created;
      st.key = key_for_from(h, img.manifest_descriptor.digest.str(), platform, s.source_date_epoch);
      break;
    }
    case graph::StageBase::Kind::stage: {
      MKIMAGE_TRY(StageState base, wait_for_stage(s, stage.base.stage));
      st.config = ConfigState::from_stage(base.config);
      st.layers = base.layers;
      st.last_created = base.last_created;
      st.key = key_for_from(h, "stage:" + base.key.str(), platform, s.source_date_epoch);
      break;
    }
  }
  st.chain.start(from_slot.info.name, h.fields());
  if (directory_base) {
    MKIMAGE_TRY_VOID(op_directory_base(s, stage, st, from_slot, *directory_base, stage.base.image));
  } else if (from_slot.visible) {
    StepInfo info = from_slot.info;
    info.cache_key = st.key.str();
    s.sink.call([&](EventSink& k) {
      k.step_started(info);
      if (s.request.explain_cache) k.explain(info, h.fields());
      k.step_done(info, 0);
    });
    s.record(info, CacheOutcome::hit, 0);
  }

  for (std::size_t i = 0; i < stage.steps.size(); ++i) {
    if (s.cancelled) return util::Error{"build cancelled"};
    const graph::Step& step = stage.steps[i];
    const StepSlot& slot = s.slots.at({stage.index, static_cast<int>(i)});
    MKIMAGE_TRY(bool meta, apply_metadata(s, st, step));
    if (meta) continue;
    if (std::holds_alternative<parser::RunInstruction>(step.instruction)) {
      MKIMAGE_TRY_VOID(op_run(s, stage, st, step, slot));
    } else if (std::holds_alternative<parser::CopyInstruction>(step.instruction)) {
      MKIMAGE_TRY_VOID(op_copy(s, stage, st, step, slot));
    } else if (std::holds_alternative<parser::WorkdirInstruction>(step.instruction)) {
      MKIMAGE_TRY_VOID(op_workdir(s, stage, st, step, slot));
    } else {
      return util::Error{dockerfile_excerpt(s, step.range) + "ERROR: unsupported instruction " + step.keyword};
    }
  }
  {
    std::lock_guard lock(s.results_mutex);
    s.stage_results[stage.index] = st;
  }
  s.results_cv.notify_all();
  return st;
}

}  // namespace mkimage::builder
