// mkimage::build() (include/mkimage/build.hpp): reads the Dockerfile, plans it
// (graph/plan.hpp), opens the store and the build context, numbers the steps
// for progress, runs the stages (scheduler.cpp) and writes the outputs.
#include <fstream>
#include <sstream>
#include <utility>

#include <sys/stat.h>

#include "builder/build_internal.hpp"
#include "builder/build_history.hpp"
#include "builder/interrupt.hpp"
#include "builder/scheduler.hpp"
#include "builder/stat_cache_index.hpp"
#include "util/random.hpp"
#include "store/store_config.hpp"
#include "parser/text.hpp"

namespace mkimage {

using namespace builder;
namespace fs = std::filesystem;

util::Result<OutputSpec> parse_output_spec(std::string_view text) {
  OutputSpec out;
  std::string type;
  bool saw_kv = false;
  std::string s(text);
  std::stringstream ss(s);
  std::string field;
  while (std::getline(ss, field, ',')) {
    auto eq = field.find('=');
    if (eq == std::string::npos) {
      if (!saw_kv && out.dest.empty() && s.find('=') == std::string::npos) {
        out.type = OutputType::local;  // `-o DIR`: docker's shorthand
        out.dest = field;
        return out;
      }
      return util::Error{"invalid output field \"" + field + "\": want key=value"};
    }
    saw_kv = true;
    std::string k = field.substr(0, eq), v = field.substr(eq + 1);
    if (k == "type") type = v;
    else if (k == "dest") out.dest = v;
    else if (k == "compression") {
      if (v == "gzip") out.compression = Compression::gzip;
      else if (v == "zstd") out.compression = Compression::zstd;
      else return util::Error{"output compression must be gzip or zstd, not \"" + v + "\""};
    } else if (k == "name") {
      out.names.push_back(v);
    } else if (k == "push") {
      if (v == "true" || v == "1") out.push = true;
      else if (v == "false" || v == "0") out.push = false;
      else return util::Error{"output push must be true or false, not \"" + v + "\""};
    } else if (k == "oci-mediatypes") continue;
    else return util::Error{"unknown output key \"" + k + "\""};
  }
  if (type.empty() || type == "image") out.type = OutputType::image;
  else if (type == "oci") out.type = OutputType::oci;
  else if (type == "docker") out.type = OutputType::docker;
  else if (type == "tar") out.type = OutputType::tar;
  else if (type == "local") out.type = OutputType::local;
  else return util::Error{"unknown output type \"" + type + "\" (want image, oci, docker, tar or local)"};
  if (out.type != OutputType::image && out.dest.empty())
    return util::Error{"output type " + type + " needs dest=PATH"};
  if (out.type == OutputType::local && out.dest == "-") return util::Error{"output type local needs a directory"};
  return out;
}

util::Result<BuildSecret> parse_secret_spec(std::string_view text) {
  BuildSecret sec;
  std::string type;
  std::string s(text);
  std::stringstream ss(s);
  std::string field;
  while (std::getline(ss, field, ',')) {
    auto eq = field.find('=');
    if (eq == std::string::npos) return util::Error{"invalid secret field \"" + field + "\": want key=value"};
    std::string k = field.substr(0, eq), v = field.substr(eq + 1);
    if (k == "id") sec.id = v;
    else if (k == "src" || k == "source") sec.src = v;
    else if (k == "env") sec.env = v;
    else if (k == "type") type = v;
    else return util::Error{"unknown secret key \"" + k + "\""};
  }
  if (type == "env" && sec.env.empty() && !sec.src.empty()) {
    sec.env = sec.src.string();
    sec.src.clear();
  }
  if (sec.id.empty()) {
    if (!sec.src.empty()) sec.id = sec.src.filename().string();
    else if (!sec.env.empty()) sec.id = sec.env;
    else return util::Error{"secret needs id="};
  }
  if (sec.src.empty() && sec.env.empty()) {
    // docker: `--secret id=X` alone reads the environment variable X when set.
    sec.env = sec.id;
  }
  if (!sec.src.empty() && !sec.env.empty()) return util::Error{"secret " + sec.id + ": give src= or env=, not both"};
  return sec;
}

namespace {

util::Result<std::string> read_text_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return util::sys_error("open", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// RUN, COPY/ADD and WORKDIR: counted in a stage's step total.
bool is_fs_step(const graph::Step& step) {
  return std::holds_alternative<parser::RunInstruction>(step.instruction) ||
         std::holds_alternative<parser::CopyInstruction>(step.instruction) ||
         std::holds_alternative<parser::WorkdirInstruction>(step.instruction);
}

// The counted steps that are shown with a number: all but WORKDIR / (no mkdir).
bool is_shown_step(const graph::Step& step) {
  if (const auto* w = std::get_if<parser::WorkdirInstruction>(&step.instruction)) {
    return (w->resolved.empty() ? w->path : w->resolved) != "/";
  }
  return is_fs_step(step);
}

// BuildKit's step numbering (dockerfile2llb cmdTotal / prefixCommand):
// "#N [stage i/n] INSTRUCTION". FROM an image is 1/n (FROM scratch or another
// stage is not a step); RUN, COPY/ADD and WORKDIR count; every ONBUILD trigger
// counts in n, though only the filesystem ones are shown; metadata instructions
// have no number. The index is padded to the width of n ("[ 3/12]").
}  // namespace

void builder::number_steps(BuildSession& s) {
  int n = s.first_free_number;
  bool multi = s.plan.stages.size() > 1;
  for (const auto& stage : s.plan.stages) {
    std::string name = !stage.name.empty() ? stage.name : (multi || stage.index > 0 ? stage.display_name() : "");
    // FROM an image or a named context is a step (BuildKit: a base that is not scratch and not a stage).
    const bool from_image = stage.base.kind == graph::StageBase::Kind::image ||
                            stage.base.kind == graph::StageBase::Kind::context;
    int total = from_image ? 1 : 0;
    for (const auto& step : stage.steps)
      if (is_fs_step(step) || step.from_onbuild) ++total;
    const std::size_t width = std::to_string(total).size();
    auto label = [&](int i) {
      std::string idx = std::to_string(i);
      if (idx.size() < width) idx.insert(0, width - idx.size(), ' ');
      return "[" + (name.empty() ? "" : name + " ") + idx + "/" + std::to_string(total) + "]";
    };
    StepSlot from;
    from.info.stage = stage.name;
    from.info.stage_index = stage.index;
    from.info.index = 1;
    from.info.count = total;
    from.info.label = label(1);
    from.info.name = stage.original.empty() ? "FROM " + stage.from.image : stage.original;
    from.info.line = stage.range.start_line;
    from.end_line = stage.range.end_line;
    from.visible = from_image;
    if (from.visible) {
      from.info.name = "FROM " + stage.base.image;
      from.info.number = n++;
    }
    s.slots[{stage.index, -1}] = from;
    int i = from_image ? 1 : 0;
    for (std::size_t k = 0; k < stage.steps.size(); ++k) {
      const auto& step = stage.steps[k];
      StepSlot slot;
      slot.info.stage = stage.name;
      slot.info.stage_index = stage.index;
      slot.info.name = step.original;
      slot.info.line = step.range.start_line;
      slot.end_line = step.range.end_line;
      slot.info.count = total;
      if (is_shown_step(step)) {
        slot.visible = true;
        slot.info.index = ++i;
        slot.info.label = label(i);
        slot.info.number = n++;
      }
      s.slots[{stage.index, static_cast<int>(k)}] = slot;
    }
  }
  s.first_free_number = n;
}

namespace {

// --ssh: the agents RUN --mount=type=ssh forwards, ready before the first step
// (key files get an ssh-agent of the build's own, stopped with the session).
util::Result<void> start_ssh_agents(BuildSession& s) {
  if (s.request.ssh.empty()) return {};
  auto agents = SshAgents::start(s.request.ssh);
  if (!agents.ok()) return util::Error{"failed to set up --ssh: " + agents.error().message};
  s.ssh_agents = std::move(*agents);
  return {};
}

// The bounds of concurrent work (builder/scheduler.hpp): CPU-bound steps by
// BuildRequest::jobs (the cores), RUN steps by max-parallelism: the request's,
// else the store configuration's builder.max-parallelism, else the default. A
// configuration that cannot be read is a warning here (the cache GC after the
// build reports it too).
void set_limits(BuildSession& s) {
  s.cpu_limit = std::make_unique<ResourceLimit>(cpu_bound(s.request.jobs));
  unsigned runs = s.request.max_parallelism;
  if (!runs) {
    auto config = store::load_store_config(s.store->root().dir());
    if (config.ok() && config->max_parallelism) runs = *config->max_parallelism;
    if (!config.ok()) s.warn(config.error().message + " (max-parallelism: the default is used)");
  }
  s.run_limit = std::make_unique<ResourceLimit>(run_bound(runs));
}

// The stages, then the outputs: one pass over the plan.
util::Result<const StageState*> build_pass(BuildSession& s, BuildResult& result) {
  MKIMAGE_TRY_VOID(run_stages(s));
  if (interrupted()) return util::Error{"interrupted"};
  auto final_it = s.stage_results.find(s.plan.target);
  if (final_it == s.stage_results.end()) {
    if (s.plan.stages.empty()) return util::Error{"the Dockerfile has no stage to build"};
    final_it = s.stage_results.find(s.plan.stages.back().index);
    if (final_it == s.stage_results.end()) return util::Error{"internal error: the target stage was not built"};
  }
  MKIMAGE_TRY_VOID(write_outputs(s, final_it->second, result));
  return &final_it->second;
}

// Why a remote hit's layer was not fetched in the last pass (empty: none failed).
std::vector<std::string> take_cache_failures(BuildSession& s) {
  std::lock_guard lock(s.cache_failures_mutex);
  return std::exchange(s.cache_failures, {});
}

// Forgets what a pass did (stage results, step outcomes, --cache-to notes).
void reset_pass(BuildSession& s) {
  s.stage_results.clear();
  s.cancelled = false;
  {
    std::lock_guard lock(s.cache_steps_mutex);
    s.cache_steps.clear();
  }
  std::lock_guard lock(s.outcomes_mutex);
  s.outcomes.clear();
}

// Runs the build passes. A remote cache hit is taken on its record alone and its
// layer fetched only when a later step or an output needs it (lazy import), so a
// layer that turns out missing, corrupt or of another diff_id is found when
// steps after it have been built on the hit. Such a layer is dropped by the
// importer and the whole build runs again: the steps that led to the layer miss
// and execute, every step already done is a local cache hit now, and the
// remote hits whose layers were good stay hits. Fetching eagerly at hit time
// would be simpler but would fetch the layers of fully cached builder stages
// nothing needs; retrying only the failing stage would not do when the layer
// came from another stage (FROM stage, COPY --from). Each pass drops at least
// one layer; after a few passes the imported cache is not used at all.
util::Result<const StageState*> build_passes(BuildSession& s, BuildResult& result) {
  for (int pass = 1;; ++pass) {
    result = BuildResult{};
    auto r = build_pass(s, result);
    std::vector<std::string> failures = take_cache_failures(s);
    if (r.ok() || failures.empty() || interrupted()) return r;
    for (const auto& why : failures) s.warn("cache layer not used: " + why + "; building its steps instead");
    reset_pass(s);
    if (pass >= 4 && s.imported_cache) {
      s.warn("the imported cache is not used for the rest of this build");
      s.imported_cache.reset();
    }
  }
}

}  // namespace

void builder::internal_step(BuildSession& s, const std::string& name) {
  StepInfo info;
  info.number = s.first_free_number++;
  info.label = "[internal]";
  info.name = name;
  s.sink.call([&](EventSink& k) {
    k.step_started(info);
    k.step_done(info, 0);
  });
}

builder::InternalStep::InternalStep(BuildSession& s, const std::string& name, const std::string& label)
    : m_s(s), m_t0(SteadyClock::now()) {
  m_info.number = s.first_free_number++;
  m_info.label = label;
  m_info.name = name;
  s.sink.call([&](EventSink& k) { k.step_started(m_info); });
}

builder::InternalStep::~InternalStep() {
  if (!m_done) {
    util::Error e{"interrupted"};
    end(&e);
  }
}

void builder::InternalStep::output(const std::string& line) {
  double t = seconds_since(m_t0);
  m_s.sink.call([&](EventSink& k) { k.step_output(m_info, line, t); });
}

void builder::InternalStep::end(const util::Error* error) {
  if (m_done) return;
  m_done = true;
  double t = seconds_since(m_t0);
  m_s.sink.call([&](EventSink& k) {
    if (error) k.step_error(m_info, error->message, t);
    else k.step_done(m_info, t);
  });
}

bool builder::is_host_platform(std::string_view platform) {
  std::string p = parser::ascii_lower(platform);
  return p == "linux/amd64" || p == "linux/x86_64" || p == "linux/x86-64" || p == "linux/amd64/v1";
}

namespace {

// The store of the build. A dry run on a root that does not exist yet creates
// nothing there: it reads an empty store made in a temporary directory (removed
// with the session's work dir guard below), where every step misses.
util::Result<std::unique_ptr<store::Store>> open_build_store(BuildSession& s) {
  if (!s.request.dry_run) return store::Store::open_default(s.request.store_root.string());
  MKIMAGE_TRY(fs::path root, store::default_root(s.request.store_root.string()));
  std::error_code ec;
  if (fs::exists(root, ec)) return store::Store::open(root);
  std::string tmpl = (fs::temp_directory_path(ec) / "mkimage-dry-run.XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return util::sys_error("mkdtemp", tmpl);
  s.work_dir = buf.data();
  return store::Store::open(s.work_dir / "root");
}

// The request's own checks, then the Dockerfile (its "[internal] load build
// definition" step) and SOURCE_DATE_EPOCH. Returns the Dockerfile's text.
util::Result<std::string> read_definition(BuildSession& s, std::optional<fs::path>& dockerfile_path) {
  const BuildRequest& req = s.request;
  if (!req.platform.empty() && !is_host_platform(req.platform)) {
    return util::Error{"platform \"" + req.platform + "\" is not supported: mkimage builds only for the host (linux/amd64)"};
  }
  if (req.network != "default" && req.network != "none" && req.network != "host")
    return util::Error{"network mode \"" + req.network + "\" is not supported (want default, none or host)"};
  for (const auto& a : req.allow)
    if (a != "security.insecure" && a != "network.host") return util::Error{"invalid entitlement: " + a};

  // The Dockerfile.
  std::string text;
  if (req.dockerfile_bytes) {
    text = *req.dockerfile_bytes;
  } else {
    fs::path p = req.dockerfile_path.empty() ? req.context_dir / "Dockerfile" : req.dockerfile_path;
    auto t = read_text_file(p);
    if (!t.ok() && p.filename() == "Dockerfile") {
      // BuildKit (dockerui) also accepts the lowercase spelling (moby/moby#10858).
      auto lower = read_text_file(p.parent_path() / "dockerfile");
      if (lower.ok()) t = std::move(lower);
    }
    if (!t.ok()) return util::Error{"failed to read the Dockerfile: " + t.error().message};
    text = std::move(*t);
    dockerfile_path = p;
    if (!req.dockerfile_path.empty()) s.dockerfile_name = req.dockerfile_path.string();
  }
  s.first_free_number = 1;
  internal_step(s, "load build definition from " + (dockerfile_path ? dockerfile_path->filename().string() : std::string("Dockerfile")));

  // SOURCE_DATE_EPOCH: the request, else the build arg.
  s.source_date_epoch = req.source_date_epoch;
  if (!s.source_date_epoch) {
    auto it = req.build_args.find("SOURCE_DATE_EPOCH");
    if (it != req.build_args.end() && !it->second.empty()) {
      try {
        s.source_date_epoch = std::stoll(it->second);
      } catch (...) {
        return util::Error{"SOURCE_DATE_EPOCH must be a number of seconds, not \"" + it->second + "\""};
      }
    }
  }

  return text;
}

}  // namespace

util::Result<std::vector<CheckWarning>> builder::prepare_build(BuildSession& s) {
  const BuildRequest& req = s.request;
  std::optional<fs::path> dockerfile_path;
  MKIMAGE_TRY(std::string text, read_definition(s, dockerfile_path));
  // Store and context.
  if (!s.store) {
    MKIMAGE_TRY(s.store, open_build_store(s));
  }
  // Everything the build resolves or creates is held from now until the store
  // closes with the session (a crashed build's lease is dead: store/lease.hpp),
  // so a concurrent `image prune` or `rmi` cannot remove it. A dry run creates
  // nothing and writes no lease.
  // (The build history recorder starts it with its own row when it opened the store.)
  if (!req.dry_run && !s.store->has_lease()) MKIMAGE_TRY_VOID(s.store->begin_lease("build"));
  MKIMAGE_TRY(BuildContext ctx, BuildContext::open_directory(req.context_dir, dockerfile_path));
  s.context.emplace(std::move(ctx));
  internal_step(s, "load .dockerignore");

  // Plan.
  graph::PlanOptions opts;
  opts.file = s.dockerfile_name;
  opts.target = req.target;
  opts.build_args = req.build_args;
  std::string resolve_error;
  for (const auto& nc : req.named_contexts) s.named_contexts[nc.name] = nc;  // the last of a name counts
  MKIMAGE_TRY_VOID(check_named_directories(s));
  if (!req.dry_run) MKIMAGE_TRY_VOID(start_ssh_agents(s));  // before the plan pulls base images: a bad --ssh fails at once
  if (!s.named_contexts.empty()) {
    opts.named_context = [&s](const std::string& ref) { return find_named_context(s, ref); };
  }
  opts.resolve_base_image = [&s](const std::string& ref) -> std::optional<graph::BaseImageInfo> {
    auto src = resolve_source(s, ref);  // an error is kept and reported by the FROM step
    if (!src.ok()) return std::nullopt;
    graph::BaseImageInfo info;
    if (src->kind != ResolvedSource::Kind::image) return info;  // an empty config
    const auto& c = src->image->config.config;
    info.env = c.env;
    info.onbuild = c.on_build;
    info.working_dir = c.working_dir;
    info.user = c.user;
    info.shell = c.shell;
    return info;
  };
  MKIMAGE_TRY(parser::Ast ast, parser::parse_dockerfile(text, opts.file));
  auto planned = graph::make_plan(ast, opts);
  // Build checks (docs/checks.md): their warnings come before a Dockerfile error.
  std::vector<CheckWarning> checks;
  auto checked = run_build_checks(s, ast, text, planned, checks);
  if (!planned.ok()) return util::Error{planned.error().message};
  MKIMAGE_TRY_VOID(checked);
  s.plan = std::move(*planned);
  return checks;
}

void builder::collect_plan_warnings(BuildSession& s) {
  for (const auto& w : s.plan.warnings) {
    if (w.rule == "NoEmptyContinuation") continue;  // a build check (reported above)
    std::string msg = "WARNING: " + (w.rule.empty() ? "" : w.rule + ": ") + w.message +
                      (w.line ? " (line " + std::to_string(w.line) + ")" : "");
    s.warnings.push_back(msg);
  }
  for (const auto& a : s.plan.unused_build_args)
    s.warnings.push_back("WARNING: build arg " + a + " was given but no ARG declares it");
}

namespace {

// ROOT/tmp/build-<owner>-XXXXXX with the X's random (as mkdtemp), not created:
// the steps that need it create it (BuildSession::work_dir). The owner tag
// (pid and start time) keeps it apart from other processes' and lets
// Store::open remove it once the process is gone.
fs::path unique_work_dir(const fs::path& tmp) {
  static const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string name = store::temp_template(tmp, "build");
  std::uint64_t v = util::random_u64();
  for (std::size_t i = name.size() - 6; i < name.size(); ++i, v /= 62) name[i] = alphabet[v % 62];
  return name;
}

// `opened`: the store when the caller has opened it already (the build history
// recorder's), else the build opens it.
util::Result<BuildResult> run_build(const BuildRequest& req, EventSink& sink,
                                    std::shared_ptr<store::Store> opened = nullptr) {
  install_interrupt_handlers();
  BuildSession s(req, sink);
  s.store = std::move(opened);
  MKIMAGE_TRY(std::vector<CheckWarning> checks, prepare_build(s));
  if (req.check) {
    BuildResult result;
    result.checks = std::move(checks);
    return result;
  }
  collect_plan_warnings(s);

  // Builder machinery under ROOT/tmp.
  s.stat_cache = std::make_unique<IndexStatCache>(s.store->index());
  fs::path tmp = s.store->root().tmp_dir();
  s.work_dir = unique_work_dir(tmp);
  struct RemoveWork {
    fs::path p;
    ~RemoveWork() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remove_work{s.work_dir};
  CleanupGuard work_guard([p = s.work_dir] {
    std::error_code ec;
    fs::remove_all(p, ec);
  });
  s.snapshotter = std::make_unique<Snapshotter>(tmp / "active");
  RuntimeOptions ro;
  ro.runtime = req.runtime.empty() ? "runc" : req.runtime;
  s.runtime = std::make_unique<Runtime>(ro);
  // Containers of killed builds still running (their work dirs and mounts
  // went with Store::open's sweep).
  s.runtime->remove_orphans();
  for (const auto& sec : req.secrets) {
    SecretSource src;
    src.file = sec.src;
    src.env = sec.env;
    s.secrets[sec.id] = src;
  }

  internal_step(s, "load build context");
  number_steps(s);
  for (const auto& w : s.warnings) s.sink.call([&](EventSink& k) { k.message(w); });
  set_limits(s);

  import_caches(s);
  BuildResult result;
  MKIMAGE_TRY(const StageState* final_state, build_passes(s, result));
  MKIMAGE_TRY_VOID(export_caches(s, *final_state));
  {
    std::lock_guard lock(s.outcomes_mutex);
    result.steps = s.outcomes;
  }
  std::sort(result.steps.begin(), result.steps.end(),
            [](const StepOutcome& a, const StepOutcome& b) { return a.step.number < b.step.number; });
  result.warnings = s.warnings;
  result.checks = std::move(checks);
  bound_cache_after_build(s, result);
  return result;
}

}  // namespace

// Every build but a --check or a --dry-run is recorded in the build history
// (builder/build_history.hpp): the recorder sees every event on its way to `sink`.
util::Result<BuildResult> build(const BuildRequest& req, EventSink& sink) {
  if (req.check) return run_build(req, sink);
  if (req.dry_run) return builder::dry_run(req, sink);  // writes nothing, so records no history
  builder::BuildHistoryRecorder recorder(req, sink);
  auto result = run_build(req, recorder, recorder.store());
  recorder.finish(result);
  if (result.ok()) result->build_ref = recorder.id();
  return result;
}

}  // namespace mkimage
