// Internal to the builder: the state shared by the stages of one build
// (builder/build.cpp, scheduler.cpp, stage_runner.cpp, ops_*.cpp, layers.cpp,
// outputs.cpp). Not a public header.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/cache_key.hpp"
#include "builder/content_hash.hpp"
#include "builder/context.hpp"
#include "builder/image_config.hpp"
#include "builder/miss_explain.hpp"
#include "builder/run_mounts.hpp"
#include "builder/runtime.hpp"
#include "builder/scheduler.hpp"
#include "builder/snapshotter.hpp"
#include "builder/ssh_agent.hpp"
#include "graph/plan.hpp"
#include "mkimage/build.hpp"
#include "remote_cache/exporter.hpp"
#include "remote_cache/importer.hpp"
#include "store/store.hpp"

namespace mkimage::builder {

// A step result as a --cache-to export sees it (builder/cache_export.cpp).
struct ExportStep {
  int stage = 0;  // Dockerfile index of the stage
  remote_cache::Record record;
  bool remote_hit = false;  // from a --cache-from source (its local row waits for the layer)
};

// One layer of a rootfs being built, bottom first in StageState::layers.
struct LayerRef {
  store::DiffId diff_id;
  store::ChainId chain_id;
  store::Digest blob;      // the uncompressed tar blob (= diff_id for our layers)
  std::int64_t size = 0;   // bytes
  store::MediaType media_type = store::MediaType::of(store::media_types::oci_layer);
  // A remote cache hit's layer: the blob may be only in a --cache-from source
  // until ensure_layers_local() fetches it.
  bool remote = false;
};

// The result of the steps so far in one stage.
struct StageState {
  CacheKey key;
  ConfigState config;
  std::vector<LayerRef> layers;
  bool any_miss = false;  // some step of this stage (or its base) executed
  // `created` of the last history entry with a layer (or of the base image):
  // metadata history entries reuse it, so a fully cached rebuild gives the same config.
  std::optional<store::Timestamp> last_created;
  // The tagged fields of the keys since the last filesystem step, for miss reasons.
  StepChain chain;
};

// EventSink calls from several stage threads, one at a time.
class SerialSink {
public:
  explicit SerialSink(EventSink& sink) : m_sink(sink) {}
  template <typename F>
  void call(F&& f) {
    std::lock_guard lock(m_mutex);
    f(m_sink);
  }

private:
  EventSink& m_sink;
  std::mutex m_mutex;
};

// A step as numbered before the build starts (BuildKit's "#N [stage i/n]").
struct StepSlot {
  StepInfo info;
  bool visible = false;  // has a progress number
  int end_line = 0;      // last Dockerfile line of the instruction
};

// What a reference (FROM, COPY --from, RUN --mount from=) names once named
// contexts are taken into account (resolve_source).
struct ResolvedSource {
  enum class Kind { image, scratch, directory };
  Kind kind = Kind::image;
  std::string context;                      // the named context that answered; "" = an image reference
  std::optional<store::Image> image;        // Kind::image
  const BuildContext* directory = nullptr;  // Kind::directory (owned by the session)
};

struct BuildSession {
  BuildSession(const BuildRequest& r, EventSink& s) : request(r), sink(s) {}

  const BuildRequest& request;
  SerialSink sink;
  // Shared with the build history recorder: one index connection per build
  // (opening one reads the schema, and the first open of a process the WAL).
  std::shared_ptr<store::Store> store;
  graph::Plan plan;
  std::string dockerfile_name = "Dockerfile";
  std::optional<BuildContext> context;
  std::unique_ptr<StatCache> stat_cache;
  std::unique_ptr<Snapshotter> snapshotter;
  std::unique_ptr<Runtime> runtime;
  std::map<std::string, SecretSource> secrets;
  std::optional<std::int64_t> source_date_epoch;
  // ROOT/tmp/build-<owner>-XXXXXX, removed at the end. Named when the build
  // starts, made by the first step that needs scratch space (every user makes
  // it with create_directories): a build whose steps are all cached never
  // creates it, nor pays the directory's creation and removal in the journal.
  std::filesystem::path work_dir;
  // A name unique within this build for scratch under work_dir: "<prefix>-<n>".
  std::string scratch_name(const std::string& prefix) { return prefix + "-" + std::to_string(scratch_counter++); }
  std::atomic<unsigned> scratch_counter{0};

  // Numbered steps: key (stage index, step index); step index -1 = the FROM.
  std::map<std::pair<int, int>, StepSlot> slots;
  std::atomic<int> first_free_number{1};  // stages may resolve images (and show steps) at once

  // Images named by the build (FROM, COPY --from, RUN --mount from=), by
  // reference text, as builder/image_resolver.cpp resolved them; and why the
  // ones that could not be resolved failed (so a failed pull is not repeated).
  std::mutex base_images_mutex;
  std::map<std::string, store::Image> base_images;
  std::map<std::string, util::Error> image_errors;

  // --build-context: the named contexts by normalised name (named_context.cpp),
  // and what each became once a reference reached it (loaded once, under
  // named_mutex; a failure is kept and repeated).
  std::map<std::string, NamedContext> named_contexts;
  std::mutex named_mutex;
  std::map<std::string, util::Result<ResolvedSource>> named_loaded;
  std::map<std::string, std::unique_ptr<BuildContext>> named_dirs;
  // --ssh: the agents RUN --mount=type=ssh forwards (ssh_agent.hpp).
  std::unique_ptr<SshAgents> ssh_agents;

  // Results of finished stages (Dockerfile index → state).
  std::mutex results_mutex;
  std::condition_variable results_cv;
  std::map<int, StageState> stage_results;
  std::atomic<bool> cancelled{false};
  // What bounds concurrent work (builder/scheduler.hpp): CPU-bound hashing and
  // layer commits by the cores (BuildRequest::jobs), RUN processes by
  // max-parallelism. Null = no bound.
  std::unique_ptr<ResourceLimit> cpu_limit;
  std::unique_ptr<ResourceLimit> run_limit;

  // --cache-from: the imported records (null without sources); --cache-to:
  // every filesystem step's result, in completion order; the cache mount ids RUN used.
  std::unique_ptr<remote_cache::Importer> imported_cache;
  std::mutex cache_steps_mutex;
  std::vector<ExportStep> cache_steps;
  std::map<std::string, std::filesystem::path> cache_mounts;  // id → data directory, of every RUN reached
  std::set<std::string> cache_mounts_restored;                // ids already considered for a restore
  // Why remote hits' layers could not be fetched in this pass (build.cpp retries).
  std::mutex cache_failures_mutex;
  std::vector<std::string> cache_failures;

  std::mutex outcomes_mutex;
  std::vector<StepOutcome> outcomes;
  std::vector<std::string> warnings;

  bool no_cache_for(const graph::Stage& stage) const;
  // Shows "WARNING: text" now and lists it in BuildResult::warnings.
  void warn(const std::string& text);
  void record(const StepInfo& info, CacheOutcome outcome, double elapsed);
};

using SteadyClock = std::chrono::steady_clock;
inline double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// build.cpp: what a build and a dry run share: the request's checks, the
// Dockerfile, SOURCE_DATE_EPOCH, the store (a build's lease; none for a dry
// run), the context and the plan, with the build checks (returned).
util::Result<std::vector<CheckWarning>> prepare_build(BuildSession& session);
// build.cpp: the plan's warnings and unused build args into session.warnings.
void collect_plan_warnings(BuildSession& session);
// build.cpp: numbers the steps for progress (BuildKit's "#N [stage i/n]") into session.slots.
void number_steps(BuildSession& session);
// dry_run.cpp: `--dry-run`: the build graph's keys (graph/graph.hpp) and every
// step's predicted outcome (graph/predict.hpp) through EventSink::step_predicted;
// nothing executes and nothing is written to the store.
util::Result<BuildResult> dry_run(const BuildRequest& request, EventSink& sink);

// build.cpp: true for the platforms mkimage builds for, the host's: "linux/amd64"
// and its spellings ("linux/x86_64", "linux/amd64/v1"; case-insensitive).
bool is_host_platform(std::string_view platform);

// scheduler.cpp: runs every stage of the plan, each as soon as its base stage
// is built (independent stages at once; steps bounded by session.cpu_limit and
// session.run_limit). Returns the first error.
util::Result<void> run_stages(BuildSession& session);

// stage_runner.cpp: runs one stage; its result goes to session.stage_results.
util::Result<StageState> run_stage(BuildSession& session, const graph::Stage& stage);
// Waits for a stage's result (it runs on another thread or already ran).
util::Result<StageState> wait_for_stage(BuildSession& session, int stage_index);

// The one image resolver of a build (builder/image_resolver.cpp): answers every
// image reference — FROM, COPY --from=<image>, RUN --mount from=<image>, ONBUILD
// bases — from the store, pulling from the registry when the store lacks the
// image or BuildRequest::pull asks to re-resolve a tag. Cache keys use the
// resolved image's manifest digest, never the reference text. Errors: BuildKit's
// "failed to resolve source metadata for REF: why". A dry run never pulls: an
// image the store lacks is then the error k_not_in_store_prefix + REF + "…".
util::Result<store::Image> resolve_image(BuildSession& session, const std::string& reference);
inline constexpr const char* k_not_in_store_prefix = "not in the store: ";
// build_checks.cpp: runs the build checks (parser/checks) over `ast`: every
// stage for BuildRequest::check, else the stages of `plan` (none when the plan
// failed: only the checks of the text then). Each warning goes to the sink and
// into `checks`. Errors: bad check options; "lint violation found for rules: …"
// when `error=true` and a check fired.
util::Result<void> run_build_checks(BuildSession& session, const parser::Ast& ast, const std::string& text,
                                    const util::Result<graph::Plan>& plan, std::vector<CheckWarning>& checks);
// named_context.cpp: the named context `reference` names ("alpine",
// "docker.io/library/alpine:latest" → "alpine"), if --build-context gave one.
// "scratch" and "context" never name one (as in BuildKit).
std::optional<std::string> find_named_context(const BuildSession& session, const std::string& reference);
// named_context.cpp: loads named context `name` (once; later calls get the same answer).
util::Result<ResolvedSource> load_named_context(BuildSession& session, const std::string& name);
// named_context.cpp: every directory context exists (buildx checks them before
// the build). Errors: "failed to get build context NAME: stat DIR: …".
util::Result<void> check_named_directories(BuildSession& session);
// image_resolver.cpp: every reference goes through here: a named context when
// --build-context gave one for it, else resolve_image().
util::Result<ResolvedSource> resolve_source(BuildSession& session, const std::string& reference);
// Shows a finished "[internal] NAME" step (build.cpp).
void internal_step(BuildSession& session, const std::string& name);

// An "[internal] NAME" step that takes time (a pull, a push): started on
// construction; output() adds lines to it; finish() ends it as done, or as
// failed with the error's message. Unfinished at destruction = failed.
class InternalStep {
public:
  InternalStep(BuildSession& session, const std::string& name, const std::string& label = "[internal]");
  ~InternalStep();
  InternalStep(const InternalStep&) = delete;
  InternalStep& operator=(const InternalStep&) = delete;
  void output(const std::string& line);
  // Passes `r` through after reporting it.
  template <class T>
  util::Result<T> finish(util::Result<T> r) {
    end(r.ok() ? nullptr : &r.error());
    return r;
  }

private:
  void end(const util::Error* error);
  BuildSession& m_s;
  StepInfo m_info;
  SteadyClock::time_point m_t0;
  bool m_done = false;
};

// ---- filesystem steps (stage_runner.cpp) ------------------------------------
// What an op does with the mounted rootfs on a cache miss.
struct FsStepIo {
  ActiveSnapshot* snapshot = nullptr;        // rootfs(), record_mount_points()
  std::vector<std::string> excludes;          // extra paths never to put in the layer
  std::function<void(std::string_view)> output;  // step output (whole lines)
};
using FsExecutor = std::function<util::Result<void>(FsStepIo& io)>;

// Runs one filesystem-changing step with the cache: lookup `key` (unless
// no-cache), else prepare a snapshot over `state`'s layers, run `exec`, commit
// the upperdir as a layer (none if it is empty), adopt the upperdir as the
// layer's snapshot and record the cache row. Updates `state` (key, layers,
// history with `created_by`). Reports progress for `slot`. `on_miss`
// (optional) is called once the step is known to run, before the snapshot is
// prepared: for work that can go on meanwhile (a RUN's network starting).
util::Result<void> run_fs_step(BuildSession& session, const graph::Stage& stage, StageState& state,
                               const StepSlot& slot, const CacheKey& key,
                               const std::vector<std::pair<std::string, std::string>>& key_fields,
                               const std::string& created_by, const FsExecutor& exec,
                               const std::function<void()>& on_miss = {});

// ---- cache_import.cpp / cache_export.cpp: --cache-from and --cache-to ----------
// Reads every --cache-from source into session.imported_cache ("[internal]
// importing cache manifest from NAME" each); a source that cannot be read is a
// warning, never an error.
void import_caches(BuildSession& session);
// A remote hit for `key` on top of `state`, applied (layer, history, the
// --cache-to note, info.cache_source) when a source has it; false when none does.
util::Result<bool> apply_remote_hit(BuildSession& session, const graph::Stage& stage, StageState& state,
                                    StepInfo& info, const CacheKey& key, const std::string& created_by);
// Fetches the remote layers among `layers` the store lacks (in parallel). A layer
// that cannot be fetched is an error, and its reason goes to session.cache_failures.
util::Result<void> ensure_layers_local(BuildSession& session, const std::vector<LayerRef>& layers);
// A cache mount about to be used: remembered for `mounts=true` exports, and
// filled from a --cache-from source that exported it when `data` is new or empty.
// A restore that fails is a warning (the RUN starts with an empty cache).
util::Result<void> restore_cache_mount(BuildSession& session, const std::string& id,
                                       const std::filesystem::path& data, bool fresh);
// Notes the cache mounts of a RUN step (cached or not) for `mounts=true`.
void note_cache_mounts(BuildSession& session, const std::vector<parser::MountSpec>& mounts);
// `mounts=true`: every cache mount this build used as an uncompressed tar layer
// in the store (a mount over `max_size` bytes is left out with a warning).
std::vector<remote_cache::MountLayer> cache_mount_layers(BuildSession& session, std::int64_t max_size);
// Records a step result for --cache-to.
void note_cache_step(BuildSession& session, const graph::Stage& stage, const CacheKey& key,
                     const std::optional<store::DiffId>& diff_id, const store::Timestamp& created, bool remote_hit);
// After the outputs: local cache rows for remote hits whose layer is now here,
// then every --cache-to target. Errors: an export failing without ignore-error.
util::Result<void> export_caches(BuildSession& session, const StageState& final_state);

// builder/cache_gc.cpp: after a build, ends its lease and bounds the store
// (request.cache_max_size, else cache.max-size of the store's configuration)
// with the cache GC (store/gc.hpp). Never fails the build: a GC error is a
// warning in `result.warnings` and on the sink.
void bound_cache_after_build(BuildSession& session, BuildResult& result);
// type=inline: the records to put into the final image config (nullopt when no
// --cache-to asks for inline records).
std::optional<remote_cache::RecordSet> inline_records(BuildSession& session, const StageState& final_state);

// ---- layers.cpp: snapshots and layer commits --------------------------------
// The layers of a stored image, bottom first: diff_ids from its config, chain_ids
// computed from them, blob, size and media type from its manifest (the store
// checks on load that both list the same number of layers).
std::vector<LayerRef> image_layer_refs(const store::Image& image);
// The snapshot directories of `layers`, top first (as overlay lowerdirs);
// unpacks a layer whose snapshot is missing.
util::Result<std::vector<std::filesystem::path>> lowerdirs_for(BuildSession& session,
                                                              const std::vector<LayerRef>& layers);
// Writes the upperdir as a layer blob (an empty layer when it holds no change, as
// BuildKit; the optional is always set), registers
// it on top of `parent` and moves the upperdir to the layer's snapshot directory.
util::Result<std::optional<LayerRef>> commit_upperdir(BuildSession& session, const std::filesystem::path& upperdir,
                                                      const std::vector<std::string>& excludes,
                                                      const std::vector<LayerRef>& parent);
// The layer for a cached diff_id on top of `parent`, if the store still has it.
util::Result<std::optional<LayerRef>> find_layer(BuildSession& session, const std::vector<LayerRef>& parent,
                                                 const store::DiffId& diff_id);
// Mounts the rootfs of `layers` read-only at a new directory under the build's
// work dir (an empty directory for no layers). The returned guard unmounts and
// removes it.
struct ReadonlyRootfs {
  std::filesystem::path path;
  bool mounted = false;
  bool owned = false;  // path is ours to remove
  ~ReadonlyRootfs();
};
util::Result<std::unique_ptr<ReadonlyRootfs>> mount_rootfs_readonly(BuildSession& session,
                                                                    const std::vector<LayerRef>& layers);

// ---- outputs.cpp ----------------------------------------------------------------
// Stores the final image (config with --label values, manifest), tags it and
// writes every --output. Fills result.image_id, manifest_digest, tags.
util::Result<void> write_outputs(BuildSession& session, const StageState& final_state, BuildResult& result);

// ---- ops (ops_meta.cpp, ops_run.cpp, ops_copy.cpp) ------------------------------
// Applies a metadata instruction to `state` (config and key). Returns false
// when `step` is not a metadata instruction.
util::Result<bool> apply_metadata(BuildSession& session, StageState& state, const graph::Step& step);
util::Result<void> op_run(BuildSession& session, const graph::Stage& stage, StageState& state,
                           const graph::Step& step, const StepSlot& slot);
util::Result<void> op_copy(BuildSession& session, const graph::Stage& stage, StageState& state,
                            const graph::Step& step, const StepSlot& slot);
// A stage whose base is a directory named by --build-context: the directory's
// files (its .dockerignore applied, owners 0:0) as one layer on the empty
// rootfs in `state`, keyed by their content like `COPY . /`.
util::Result<void> op_directory_base(BuildSession& session, const graph::Stage& stage, StageState& state,
                                     const StepSlot& slot, const BuildContext& dir, const std::string& name);
util::Result<void> op_workdir(BuildSession& session, const graph::Stage& stage, StageState& state,
                               const graph::Step& step, const StepSlot& slot);

// "Dockerfile:LINE" excerpt like BuildKit's error report: the instruction's lines
// with ">>>" markers and two lines of context.
std::string dockerfile_excerpt(const BuildSession& session, const parser::SourceRange& range);

}  // namespace mkimage::builder

namespace mkimage::builder {
// export.cpp: writes one non-image --output (oci, docker, tar, local) of `image`.
util::Result<void> export_output(BuildSession& session, const store::Image& image, const StageState& final_state,
                                 const OutputSpec& output);
}  // namespace mkimage::builder
