// The key phase: one function per instruction, as BuildKit's dispatch
// (dockerfile2llb dispatch*), each giving its op's key from the parent's key
// and the op's inputs (graph/key_inputs.hpp names them, graph/cache_key.hpp
// hashes them; docs/cache-keys.md).
#include "graph/graph.hpp"

#include <algorithm>

#include "graph/key_inputs.hpp"
#include "net/http.hpp"

namespace mkimage::graph {

const Op* Graph::find(int stage, int step) const {
  int i = index_of(stage, step);
  return i < 0 ? nullptr : &ops[static_cast<std::size_t>(i)];
}

int Graph::index_of(int stage, int step) const {
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (ops[i].stage == stage && ops[i].step == step) return static_cast<int>(i);
  return -1;
}

namespace {

struct KeyPhase {
  const Plan& plan;
  const GraphOptions& options;
  ImageSources& images;
  ContextDigests& digests;
  Graph graph;
  std::map<std::string, util::Result<ResolvedRef>> resolved;  // each reference resolved once

  util::Result<ResolvedRef> resolve(const std::string& ref) {
    auto it = resolved.find(ref);
    if (it == resolved.end()) it = resolved.emplace(ref, images.resolve(ref)).first;
    return it->second;
  }
  const Op& op(int i) const { return graph.ops[static_cast<std::size_t>(i)]; }
  // The final op of an earlier stage (the planner orders stages after what they need).
  int stage_final(int stage) const {
    auto it = graph.stage_final.find(stage);
    return it == graph.stage_final.end() ? -1 : it->second;
  }
};

// Chains `op` on op `parent`: false (and `op` unknown) when the parent's key is unknown.
bool chain(const KeyPhase& k, Op& op, int parent) {
  op.parent = parent;
  const Op& p = k.op(parent);
  if (p.key) return true;
  op.unknown = p.kind == OpKind::from ? p.unknown : "follows a step whose key is not known before the build";
  return false;
}

// A key naming another stage's final key ("stage:<key>"): "" when that key is unknown.
std::string stage_ref(KeyPhase& k, Op& op, int stage) {
  int f = k.stage_final(stage);
  if (f < 0) {
    op.unknown = "stage " + std::to_string(stage) + " is not planned before this step";
    return "";
  }
  op.needs.push_back(f);
  if (!k.op(f).key) {
    op.unknown = k.op(f).unknown;
    return "";
  }
  return "stage:" + k.op(f).key->str();
}

void finish(Op& op, const KeyHasher& h, const CacheKey& key) {
  op.key = key;
  op.fields = h.fields();
}

// FROM a directory named by --build-context: the empty rootfs, then the
// directory's files as one layer keyed like `COPY . /`.
void key_directory_base(KeyPhase& k, Op& op, const std::string& name) {
  op.kind = OpKind::directory_base;
  KeyHasher from;
  CacheKey base = key_for_from(from, "scratch", k.options.platform, k.options.source_date_epoch);
  parser::CopyInstruction all;
  all.sources = {"."};
  all.dest = "/";
  auto digest = k.digests.copy_digest(name, all);
  if (!digest.ok()) {
    op.unknown = digest.error().message;
    return;
  }
  CopyKeyInputs in;
  in.dest = "/";
  in.workdir = "/";
  in.sources = all.sources;
  in.sources_digest = *digest;
  KeyHasher h;
  finish(op, h, key_for_copy(h, base, in));
}

// FROM: the base's manifest digest, "scratch", or the base stage's final key.
Op key_from(KeyPhase& k, const Stage& stage) {
  Op op;
  op.stage = stage.index;
  op.kind = OpKind::from;
  std::string base;
  if (stage.base.kind == StageBase::Kind::scratch) {
    base = "scratch";
  } else if (stage.base.kind == StageBase::Kind::stage) {
    base = stage_ref(k, op, stage.base.stage);
    if (base.empty()) return op;
  } else {
    auto r = k.resolve(stage.base.image);
    if (!r.ok()) {
      op.unknown = r.error().message;
      return op;
    }
    switch (r->kind) {
      case ResolvedRef::Kind::image: base = r->manifest_digest; break;
      case ResolvedRef::Kind::scratch: base = "scratch"; break;
      case ResolvedRef::Kind::directory: key_directory_base(k, op, r->directory); return op;
      case ResolvedRef::Kind::unknown: op.unknown = r->why; return op;
    }
  }
  KeyHasher h;
  finish(op, h, key_for_from(h, base, k.options.platform, k.options.source_date_epoch));
  return op;
}

Op key_metadata(KeyPhase& k, const Step& step, Op op, const std::vector<std::string>& args) {
  op.kind = OpKind::metadata;
  if (!chain(k, op, op.parent)) return op;
  KeyHasher h;
  finish(op, h, key_for_metadata(h, *k.op(op.parent).key, step.keyword, args));
  return op;
}

// What one RUN mount is keyed by (graph/key_inputs.hpp mount_key_text); "" and
// `op.unknown` set when that cannot be known before the build.
std::string key_mount_source(KeyPhase& k, Op& op, const parser::MountSpec& m) {
  if (m.from_stage >= 0 && m.type == parser::MountSpec::Type::bind) {
    int f = k.stage_final(m.from_stage);
    if (f >= 0) op.needs.push_back(f);  // a stage that would run makes this step run too
    const Stage* stage = k.plan.find_stage(m.from_stage);
    op.unknown = "keyed by the files stage " + (stage ? stage->display_name() : std::to_string(m.from_stage)) +
                 " makes (known once it is built)";
    return "";
  }
  if (m.from_stage >= 0) return stage_ref(k, op, m.from_stage);
  std::string directory;  // "" = the build context
  if (!m.from.empty()) {
    auto r = k.resolve(m.from);
    if (!r.ok()) {
      op.unknown = r.error().message;
      return "";
    }
    if (r->kind == ResolvedRef::Kind::image) return "image:" + r->manifest_digest;
    if (r->kind == ResolvedRef::Kind::scratch) return "image:scratch";
    if (r->kind == ResolvedRef::Kind::unknown) {
      op.unknown = r->why;
      return "";
    }
    directory = r->directory;
  }
  auto d = k.digests.mount_digest(directory, m.source);
  if (!d.ok()) {
    op.unknown = "RUN --mount: " + d.error().message;
    return "";
  }
  return "context:" + *d;
}

Op key_run(KeyPhase& k, const Step& step, Op op) {
  op.kind = OpKind::run;
  if (!chain(k, op, op.parent)) return op;
  RunKeyInputs in = run_key_inputs(step, k.options.network);
  for (const auto& m : std::get<parser::RunInstruction>(step.instruction).mounts) {
    std::string source;
    if (mount_keys_source(m)) {
      source = key_mount_source(k, op, m);
      if (source.empty()) return op;
    }
    in.mounts.push_back(mount_key_text(m, source));
  }
  KeyHasher h;
  finish(op, h, key_for_run(h, *k.op(op.parent).key, in));
  return op;
}

// COPY/ADD's source: "stage:<key>", "image:<digest>" or "image:scratch" in
// `in.from`, or the content digest of what a directory provides.
bool key_copy_source(KeyPhase& k, Op& op, const parser::CopyInstruction& c, CopyKeyInputs& in) {
  if (c.from_stage >= 0) {
    in.from = stage_ref(k, op, c.from_stage);
    return !in.from.empty();
  }
  std::string directory;  // "" = the build context
  if (!c.from_image.empty() || !c.from.empty()) {
    std::string ref = c.from_image.empty() ? c.from : c.from_image;
    auto r = k.resolve(ref);
    if (!r.ok()) {
      op.unknown = "COPY --from=" + ref + ": no stage of that name, and " + r.error().message;
      return false;
    }
    switch (r->kind) {
      case ResolvedRef::Kind::image: in.from = "image:" + r->manifest_digest; return true;
      case ResolvedRef::Kind::scratch: in.from = "image:scratch"; return true;
      case ResolvedRef::Kind::unknown: op.unknown = r->why; return false;
      case ResolvedRef::Kind::directory: directory = r->directory; break;
    }
  }
  if (c.add && std::any_of(c.sources.begin(), c.sources.end(), [](const std::string& s) { return net::is_url(s); })) {
    op.unknown = "ADD of a URL is keyed by the downloaded content (known once fetched)";
    return false;
  }
  auto d = k.digests.copy_digest(directory, c);
  if (!d.ok()) {
    op.unknown = d.error().message;
    return false;
  }
  in.sources_digest = *d;
  return true;
}

Op key_copy(KeyPhase& k, const Step& step, Op op) {
  op.kind = OpKind::copy;
  if (!chain(k, op, op.parent)) return op;
  CopyKeyInputs in = copy_key_inputs(step);
  if (!key_copy_source(k, op, std::get<parser::CopyInstruction>(step.instruction), in)) return op;
  KeyHasher h;
  finish(op, h, key_for_copy(h, *k.op(op.parent).key, in));
  return op;
}

Op key_workdir(KeyPhase& k, const Step& step, Op op) {
  std::string path = workdir_path(step);
  op.kind = path == "/" ? OpKind::metadata : OpKind::workdir;  // BuildKit makes no mkdir for "/"
  if (!chain(k, op, op.parent)) return op;
  KeyHasher h;
  finish(op, h, key_for_workdir(h, *k.op(op.parent).key, path, step.user));
  return op;
}

// One step's op, by instruction.
Op key_step(KeyPhase& k, const Step& step, Op op) {
  if (auto args = metadata_key_args(step)) return key_metadata(k, step, std::move(op), *args);
  if (std::holds_alternative<parser::RunInstruction>(step.instruction)) return key_run(k, step, std::move(op));
  if (std::holds_alternative<parser::CopyInstruction>(step.instruction)) return key_copy(k, step, std::move(op));
  if (std::holds_alternative<parser::WorkdirInstruction>(step.instruction)) return key_workdir(k, step, std::move(op));
  op.kind = OpKind::metadata;
  op.unknown = "unsupported instruction " + step.keyword;
  return op;
}

int add(KeyPhase& k, Op op) {
  k.graph.ops.push_back(std::move(op));
  return static_cast<int>(k.graph.ops.size()) - 1;
}

}  // namespace

util::Result<Graph> build_graph(const Plan& plan, const GraphOptions& options, ImageSources& images,
                                ContextDigests& digests) {
  KeyPhase k{plan, options, images, digests, {}, {}};
  for (const auto& stage : plan.stages) {
    int last = add(k, key_from(k, stage));
    if (!(stage.base.kind == StageBase::Kind::context && stage.base.replaces_stage)) {
      for (std::size_t i = 0; i < stage.steps.size(); ++i) {
        Op op;
        op.stage = stage.index;
        op.step = static_cast<int>(i);
        op.parent = last;
        last = add(k, key_step(k, stage.steps[i], std::move(op)));
      }
    }
    k.graph.stage_final[stage.index] = last;
  }
  return std::move(k.graph);
}

}  // namespace mkimage::graph
