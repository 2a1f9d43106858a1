// RUN: the command in the OCI runtime on a snapshot of the stage's rootfs
// (builder/runtime.hpp, snapshotter.hpp, run_mounts.hpp). Key inputs:
// docs/cache-keys.md "RUN".
#include <algorithm>
#include <fstream>
#include <sstream>

#include "builder/build_internal.hpp"
#include "builder/copy.hpp"
#include "builder/private_network.hpp"
#include "builder/user_db.hpp"
#include "graph/key_inputs.hpp"

namespace mkimage::builder {

namespace {

RunMountSpec to_run_mount(const parser::MountSpec& m) {
  RunMountSpec r;
  switch (m.type) {
    case parser::MountSpec::Type::bind: r.type = RunMountSpec::Type::bind; break;
    case parser::MountSpec::Type::cache: r.type = RunMountSpec::Type::cache; break;
    case parser::MountSpec::Type::tmpfs: r.type = RunMountSpec::Type::tmpfs; break;
    case parser::MountSpec::Type::secret: r.type = RunMountSpec::Type::secret; break;
    case parser::MountSpec::Type::ssh: r.type = RunMountSpec::Type::ssh; break;
  }
  r.target = m.target;
  r.source = m.source;
  r.from = m.from_stage >= 0 ? "stage:" + std::to_string(m.from_stage) : m.from;
  r.id = m.id;
  r.readonly = m.read_only;
  r.rw = !m.read_only;
  if (m.sharing == "private") r.sharing = RunMountSpec::Sharing::private_;
  else if (m.sharing == "locked") r.sharing = RunMountSpec::Sharing::locked;
  r.uid = m.uid;
  r.gid = m.gid;
  r.mode = m.mode;
  r.size = m.size ? static_cast<std::uint64_t>(*m.size) : 0;
  r.required = m.required;
  r.env = m.env;
  return r;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// The content digest of `source` ("" = the whole tree) in `tree`, as COPY would
// select it.
util::Result<store::Digest> mounted_content_digest(BuildSession& s, const SourceTree& tree, const std::string& source) {
  CopyOp op;
  op.sources = {source.empty() ? "." : source};
  op.dest = "/";
  PlanOptions po;
  po.scratch_dir = s.work_dir;
  po.allow_network = false;
  if (tree.origin == SourceTree::Origin::context) po.preload = s.stat_cache.get();
  auto cpu = acquire_from(s.cpu_limit.get());  // the walk and the hashing: CPU-bound
  MKIMAGE_TRY(CopyPlan plan, plan_copy(op, tree, po));
  return copy_content_digest(plan, tree.origin == SourceTree::Origin::context ? s.stat_cache.get() : nullptr);
}

// Canonical key text of one mount; a stage source is named by its key, a
// context source by the content digest of what is mounted; secrets by id and
// target only.
util::Result<std::string> mount_key(BuildSession& s, const parser::MountSpec& m) {
  if (!graph::mount_keys_source(m)) return graph::mount_key_text(m, "");
  std::string source;
  const BuildContext* dir = &*s.context;
  if (m.from_stage >= 0 && m.type == parser::MountSpec::Type::bind) {
    // BuildKit keys a bind mount of a stage by the content it mounts (the
    // mount writes nothing back), so a source stage that re-ran to the same
    // files does not make this step miss.
    MKIMAGE_TRY(StageState src, wait_for_stage(s, m.from_stage));
    MKIMAGE_TRY(std::unique_ptr<ReadonlyRootfs> ro, mount_rootfs_readonly(s, src.layers));
    auto d = mounted_content_digest(s, SourceTree{ro->path, SourceTree::Origin::rootfs, nullptr}, m.source);
    // A source that cannot be hashed (missing, a link out of the stage) keys on
    // the stage and fails when mounted, with the mount's own error.
    source = d.ok() ? "stage-content:" + d->str() : "stage:" + src.key.str();
    dir = nullptr;
  } else if (m.from_stage >= 0) {
    MKIMAGE_TRY(StageState src, wait_for_stage(s, m.from_stage));
    source = "stage:" + src.key.str();
    dir = nullptr;
  } else if (!m.from.empty()) {
    MKIMAGE_TRY(ResolvedSource src, resolve_source(s, m.from));
    dir = src.directory;
    if (src.kind == ResolvedSource::Kind::image) source = "image:" + src.image->manifest_descriptor.digest.str();
    else if (src.kind == ResolvedSource::Kind::scratch) source = "image:scratch";
  }
  if (dir) {
    // The build context or a directory context: the content of what is mounted.
    SourceTree src{dir->root(), SourceTree::Origin::context, &dir->filter()};
    MKIMAGE_TRY(store::Digest d, mounted_content_digest(s, src, m.source));
    source = "context:" + d.str();
  }
  return graph::mount_key_text(m, source);
}

// The build context as RUN --mount=type=bind (no from=) shows it: the mounted
// sources copied, as COPY would copy them, into `dir` — .dockerignore applied,
// owners 0:0, the context directory 0755 — so the command sees exactly what
// the key hashed (the raw context would show ignored files and host owners).
// `from` names the directory: "" = the build context, else a --build-context
// directory (`context`), whose mounts are those with that `from`.
util::Result<std::filesystem::path> context_view(BuildSession& s, const BuildContext& context, const std::string& from,
                                                 const std::vector<parser::MountSpec>& mounts,
                                                 const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return dir;  // made for an earlier mount of this RUN
  std::filesystem::create_directories(dir, ec);
  if (ec) return util::sys_error("mkdir", dir.string(), ec.value());
  for (const auto& m : mounts) {
    if (m.type == parser::MountSpec::Type::cache && from.empty()) continue;
    if (m.type != parser::MountSpec::Type::bind && m.type != parser::MountSpec::Type::cache) continue;
    if (m.from_stage >= 0 || m.from != from) continue;
    std::string source = m.source;
    while (!source.empty() && source.front() == '/') source.erase(0, 1);
    CopyOp op;
    op.sources = {source.empty() ? "." : source};
    op.dest = "/" + source;
    SourceTree src{context.root(), SourceTree::Origin::context, &context.filter()};
    PlanOptions po;
    po.scratch_dir = s.work_dir;
    po.allow_network = false;
    MKIMAGE_TRY(CopyPlan plan, plan_copy(op, src, po));
    // The view is only ever a read-only bind or a discarded overlay's lower:
    // files already owned 0:0 are linked, not copied (a 1 GiB bind-mounted
    // tar costs no copy and no 1 GiB writeback).
    DestTree view{dir, "/", {}};
    view.link_equal_files = true;
    MKIMAGE_TRY(CopyStats stats, execute_copy(plan, view));
    (void)stats;
  }
  return dir;
}

}  // namespace

util::Result<void> op_run(BuildSession& s, const graph::Stage& stage, StageState& state, const graph::Step& step,
                          const StepSlot& slot) {
  const auto& run = std::get<parser::RunInstruction>(step.instruction);
  RunKeyInputs in = graph::run_key_inputs(step, s.request.network);
  // BuildKit's entitlement check (solver/llbsolver ValidateEntitlements).
  if (run.security == parser::SecurityMode::insecure &&
      std::find(s.request.allow.begin(), s.request.allow.end(), "security.insecure") == s.request.allow.end())
    return util::Error{dockerfile_excerpt(s, step.range) + "ERROR: security.insecure is not allowed"};
  for (const auto& m : run.mounts) {
    auto mk = mount_key(s, m);
    if (!mk.ok()) return util::Error{dockerfile_excerpt(s, step.range) + "ERROR: RUN --mount: " + mk.error().message};
    in.mounts.push_back(*mk);
  }
  KeyHasher h;
  CacheKey key = key_for_run(h, state.key, in);

  const std::string network = in.network;
  // The private network starts (slirp4netns, ~3 ms to be ready) while the
  // snapshot is mounted and the bundle written; the runtime waits for it.
  std::optional<util::Result<std::unique_ptr<PrivateNetwork>>> early_net;
  auto start_network = [&] {
    auto mode = parse_network_mode(network);
    if (mode.ok() && *mode == NetworkMode::isolated) early_net = PrivateNetwork::start();
  };
  FsExecutor exec = [&](FsStepIo& io) -> util::Result<void> {
    const auto& rootfs = io.snapshot->rootfs();
    MKIMAGE_TRY(ExecUser user, resolve_exec_user(rootfs, step.user));
    // "default" is a private network namespace with outbound access
    // (builder/private_network.hpp), as BuildKit's steps get.
    MKIMAGE_TRY(NetworkMode net, parse_network_mode(network));

    std::filesystem::path scratch = s.work_dir / ("run-" + new_container_id());
    std::error_code ec;
    std::filesystem::create_directories(scratch, ec);
    if (ec) return util::sys_error("mkdir", scratch.string(), ec.value());
    struct RemoveDir {
      std::filesystem::path p;
      ~RemoveDir() {
        std::error_code e;
        std::filesystem::remove_all(p, e);
      }
    } remove_scratch{scratch};

    std::vector<RunMountSpec> specs;
    for (const auto& m : run.mounts) specs.push_back(to_run_mount(m));
    RunMountContext mctx;
    mctx.cache_root = s.store->root().dir() / "cache-mounts";
    mctx.scratch_dir = scratch / "mounts";
    std::filesystem::create_directories(mctx.scratch_dir, ec);
    mctx.secrets = s.secrets;
    mctx.ssh_agents = s.ssh_agents.get();
    mctx.on_cache_mount = [&s](const std::string& id, const std::filesystem::path& data, bool fresh) {
      return restore_cache_mount(s, id, data, fresh);
    };
    mctx.resolve_from = [&s, &run, &scratch](const std::string& from) -> util::Result<std::vector<std::filesystem::path>> {
      if (from.empty()) {
        MKIMAGE_TRY(auto view, context_view(s, *s.context, "", run.mounts, scratch / "context"));
        return std::vector<std::filesystem::path>{view};
      }
      std::vector<LayerRef> layers;
      if (from.rfind("stage:", 0) == 0) {
        MKIMAGE_TRY(StageState src, wait_for_stage(s, std::stoi(from.substr(6))));
        layers = src.layers;
      } else {
        auto img = resolve_source(s, from);
        if (!img.ok()) return util::Error{"RUN --mount from=" + from + ": no such stage, and " + img.error().message};
        if (img->kind == ResolvedSource::Kind::directory) {
          std::string tag = "context-" + std::to_string(std::hash<std::string>{}(from));
          MKIMAGE_TRY(auto view, context_view(s, *img->directory, from, run.mounts, scratch / tag));
          return std::vector<std::filesystem::path>{view};
        }
        if (img->kind == ResolvedSource::Kind::image) layers = image_layer_refs(*img->image);
      }
      if (layers.empty()) {
        // An empty rootfs: an empty directory.
        static std::mutex mu;
        std::lock_guard g(mu);
        auto empty = s.work_dir / "empty-rootfs";
        std::error_code e;
        std::filesystem::create_directories(empty, e);
        return std::vector<std::filesystem::path>{empty};
      }
      return lowerdirs_for(s, layers);
    };
    MKIMAGE_TRY(PreparedMounts mounts, prepare_run_mounts(specs, mctx));

    ContainerSpec spec;
    spec.rootfs = rootfs;
    spec.process.args = run.argv;
    spec.process.env = step.env;
    spec.process.env.insert(spec.process.env.end(), step.proxy_env.begin(), step.proxy_env.end());
    spec.process.env.insert(spec.process.env.end(), mounts.env.begin(), mounts.env.end());
    // BuildKit: SSH_AUTH_SOCK names the first ssh mount unless the step sets it.
    for (const auto& m : run.mounts) {
      if (m.type != parser::MountSpec::Type::ssh) continue;
      bool set = false;
      for (const auto& e : spec.process.env) set |= e.rfind("SSH_AUTH_SOCK=", 0) == 0;
      if (!set) spec.process.env.push_back("SSH_AUTH_SOCK=" + m.target);
      break;
    }
    spec.process.cwd = step.workdir.empty() ? "/" : step.workdir;
    spec.process.uid = user.uid;
    spec.process.gid = user.gid;
    spec.process.additional_gids = user.additional_gids;
    spec.network = net;
    spec.no_new_privileges = true;
    spec.insecure = run.security == parser::SecurityMode::insecure;
    spec.mounts = mounts.mounts;
    if (run.script) {
      auto script = scratch / "script";
      {
        std::ofstream f(script, std::ios::binary);
        f << run.script->content;
        if (!f) return util::sys_error("write", script.string());
      }
      std::filesystem::permissions(script, std::filesystem::perms(0755), ec);
      spec.mounts.push_back(OciMount{"/dev/pipes/" + run.script->name, "bind", script.string(), {"rbind", "ro"}});
    }
    std::vector<std::string> destinations = default_mount_destinations();
    for (const auto& m : spec.mounts) destinations.push_back(m.destination);
    io.snapshot->record_mount_points(destinations);
    io.excludes.insert(io.excludes.end(), mounts.secret_targets.begin(), mounts.secret_targets.end());

    RunIo rio;
    rio.on_output = [&](std::string_view chunk, bool) { io.output(chunk); };
    // One of max-parallelism RUN processes (builder/scheduler.hpp), held while
    // the process runs: a process that sleeps or waits holds no core.
    auto slot = acquire_from(s.run_limit.get());
    PrivateNetwork* started = nullptr;
    if (early_net) {
      if (!early_net->ok()) return early_net->error();
      started = early_net->value().get();
    }
    MKIMAGE_TRY(int code, s.runtime->run(spec, scratch / "bundle", rio, {}, {}, started));
    slot.release();
    if (code != 0) {
      return util::Error{"process \"" + join(run.argv, " ") +
                         "\" did not complete successfully: exit code: " + std::to_string(code)};
    }
    return {};
  };
  note_cache_mounts(s, run.mounts);
  return run_fs_step(s, stage, state, slot, key, h.fields(), step.created_by, exec, start_network);
}

}  // namespace mkimage::builder
