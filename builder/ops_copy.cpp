// COPY, ADD and WORKDIR: filesystem steps that write into the mounted rootfs
// (builder/copy.hpp, fs_resolve.hpp). Key inputs: docs/cache-keys.md.
#include "builder/build_internal.hpp"
#include "builder/copy.hpp"
#include "builder/fs_resolve.hpp"
#include "builder/user_db.hpp"
#include "graph/key_inputs.hpp"

namespace mkimage::builder {

namespace {

// COPY --from=REF naming no stage: an image, or a named context (an image, an
// empty image, or a directory).
util::Result<ResolvedSource> copy_source(BuildSession& s, const std::string& ref) {
  auto src = resolve_source(s, ref);
  if (!src.ok()) return util::Error{"COPY --from=" + ref + ": no stage of that name, and " + src.error().message};
  return src;
}

// A directory (the main context or a named one) as COPY's source tree.
SourceTree directory_tree(const BuildContext& dir) {
  return SourceTree{dir.root(), SourceTree::Origin::context, &dir.filter()};
}

// The file list of `plan`'s selection, made again when the step misses (the
// stat cache answers for every file the first pass hashed).
StepChain::FileLister file_lister(BuildSession& s, const CopyPlan& plan) {
  return [&s, &plan]() -> util::Result<FileListing> {
    FileListing files;
    MKIMAGE_TRY_VOID(copy_content_digest(plan, s.stat_cache.get(), nullptr, &files));
    return files;
  };
}

}  // namespace

util::Result<void> op_copy(BuildSession& s, const graph::Stage& stage, StageState& state, const graph::Step& step,
                           const StepSlot& slot) {
  const auto& c = std::get<parser::CopyInstruction>(step.instruction);
  CopyOp op = make_copy_op(c);

  CopyKeyInputs in = graph::copy_key_inputs(step);

  PlanOptions po;
  po.scratch_dir = s.work_dir / s.scratch_name("copy");  // made by the first download
  po.url_cache_dir = s.store->root().url_cache_dir();
  struct RemoveDir {
    std::filesystem::path p;
    ~RemoveDir() {
      std::error_code e;
      std::filesystem::remove_all(p, e);
    }
  } remove_scratch{po.scratch_dir};

  std::optional<CopyPlan> plan;
  std::vector<LayerRef> source_layers;
  bool from_tree = false;
  if (c.from_stage >= 0) {
    MKIMAGE_TRY(StageState src, wait_for_stage(s, c.from_stage));
    in.from = "stage:" + src.key.str();
    source_layers = src.layers;
    from_tree = true;
  }
  const BuildContext* directory = s.context ? &*s.context : nullptr;
  if (c.from_stage < 0 && (!c.from_image.empty() || !c.from.empty())) {
    std::string ref = c.from_image.empty() ? c.from : c.from_image;
    auto src = copy_source(s, ref);
    if (!src.ok()) return util::Error{dockerfile_excerpt(s, step.range) + "ERROR: " + src.error().message};
    directory = src->directory;
    if (src->kind == ResolvedSource::Kind::image) {
      source_layers = image_layer_refs(*src->image);
      in.from = "image:" + src->image->manifest_descriptor.digest.str();
      from_tree = true;
    } else if (src->kind == ResolvedSource::Kind::scratch) {
      in.from = "image:scratch";
      from_tree = true;
    }
  }
  if (!from_tree) {
    // The build context, or a directory named by --build-context: keyed alike,
    // by the content of what is selected.
    // The walk and the content digest are CPU-bound: one of the cores' units.
    auto cpu = acquire_from(s.cpu_limit.get());
    po.preload = s.stat_cache.get();
    auto p = plan_copy(op, directory_tree(*directory), po);
    if (!p.ok()) return util::Error{dockerfile_excerpt(s, step.range) + "ERROR: " + p.error().message};
    plan = std::move(*p);
    MKIMAGE_TRY(store::Digest d, copy_content_digest(*plan, s.stat_cache.get()));
    cpu.release();
    in.sources_digest = d.str();
    state.chain.set_files(file_lister(s, *plan));
  }
  KeyHasher h;
  CacheKey key = key_for_copy(h, state.key, in);

  FsExecutor exec = [&](FsStepIo& io) -> util::Result<void> {
    std::unique_ptr<ReadonlyRootfs> ro;
    if (from_tree) {
      MKIMAGE_TRY(ro, mount_rootfs_readonly(s, source_layers));
      SourceTree src{ro->path, SourceTree::Origin::rootfs, nullptr};
      MKIMAGE_TRY(CopyPlan p, plan_copy(op, src, po));
      plan = std::move(p);
    }
    DestTree dest;
    dest.rootfs = io.snapshot->rootfs();
    dest.workdir = step.workdir.empty() ? "/" : step.workdir;
    MKIMAGE_TRY(CopyStats stats, execute_copy(*plan, dest));
    (void)stats;
    return {};
  };
  return run_fs_step(s, stage, state, slot, key, h.fields(), step.created_by, exec);
}

util::Result<void> op_directory_base(BuildSession& s, const graph::Stage& stage, StageState& state,
                                     const StepSlot& slot, const BuildContext& dir, const std::string& name) {
  CopyOp op;
  op.sources = {"."};
  op.dest = "/";
  PlanOptions po;
  po.scratch_dir = s.work_dir;
  po.allow_network = false;
  po.preload = s.stat_cache.get();
  auto cpu = acquire_from(s.cpu_limit.get());  // walk + content digest
  auto p = plan_copy(op, directory_tree(dir), po);
  if (!p.ok()) return util::Error{dockerfile_excerpt(s, stage.range) + "ERROR: " + p.error().message};
  CopyPlan plan = std::move(*p);
  MKIMAGE_TRY(store::Digest d, copy_content_digest(plan, s.stat_cache.get()));
  cpu.release();
  state.chain.set_files(file_lister(s, plan));
  CopyKeyInputs in;
  in.dest = "/";
  in.workdir = "/";
  in.sources = op.sources;
  in.sources_digest = d.str();
  KeyHasher h;
  CacheKey key = key_for_copy(h, state.key, in);
  FsExecutor exec = [&](FsStepIo& io) -> util::Result<void> {
    MKIMAGE_TRY(CopyStats stats, execute_copy(plan, DestTree{io.snapshot->rootfs(), "/", {}}));
    (void)stats;
    return {};
  };
  return run_fs_step(s, stage, state, slot, key, h.fields(), "[context " + name + "] load from client", exec);
}

util::Result<void> op_workdir(BuildSession& s, const graph::Stage& stage, StageState& state,
                              const graph::Step& step, const StepSlot& slot) {
  std::string path = graph::workdir_path(step);
  state.config.set_workdir(path);
  KeyHasher h;
  CacheKey key = key_for_workdir(h, state.key, path, step.user);
  if (path == "/") {
    // BuildKit makes no mkdir (and no layer) for "/": a metadata step.
    state.key = key;
    state.chain.add("WORKDIR", h.fields());
    std::optional<store::Timestamp> created = state.last_created;
    if (s.source_date_epoch) created = created_time(s.source_date_epoch);
    state.config.add_history(step.created_by, created, std::nullopt);
    return {};
  }
  FsExecutor exec = [&](FsStepIo& io) -> util::Result<void> {
    const auto& rootfs = io.snapshot->rootfs();
    MKIMAGE_TRY(Owner owner, resolve_owner(rootfs, step.user));
    DirAttrs attrs;
    attrs.uid = owner.uid;
    attrs.gid = owner.gid;
    attrs.mode = 0755;
    attrs.mtime_s = s.source_date_epoch;
    MKIMAGE_TRY(auto made, mkdir_all_in_root(rootfs, path, attrs));
    (void)made;
    return {};
  };
  return run_fs_step(s, stage, state, slot, key, h.fields(), step.created_by, exec);
}

}  // namespace mkimage::builder
