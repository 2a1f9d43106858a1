// The planner: AST → typed instructions → stages → reachable build graph →
// dispatched (expanded) steps. Follows BuildKit's dockerfile2llb toDispatchState:
// global ARGs (buildMetaArgs), FROM expansion with global args only, stage
// references (toCommand, detectRunMount), target resolution, reachability,
// ONBUILD triggers, circular-dependency detection (graph/plan_stages.cpp), then
// dispatch in file order (graph/dispatch.cpp).
#include "graph/plan.hpp"

#include <algorithm>

#include "graph/plan_internal.hpp"
#include "graph/proxy_args.hpp"
#include "parser/text.hpp"

namespace mkimage::graph {

using namespace parser;
using namespace detail;

const Stage* Plan::find_stage(int index) const {
  for (const auto& s : stages) {
    if (s.index == index) return &s;
  }
  return nullptr;
}

namespace {

bool is_builtin_arg(const std::string& k) {
  static const std::set<std::string> names = {
      "BUILDPLATFORM",  "BUILDOS",        "BUILDARCH",      "BUILDVARIANT",   "BUILDOSVERSION",
      "TARGETPLATFORM", "TARGETOS",       "TARGETARCH",     "TARGETVARIANT",  "TARGETOSVERSION",
      "TARGETSTAGE",    "SOURCE_DATE_EPOCH"};
  return names.count(k) || k.rfind("BUILDKIT_", 0) == 0 || is_proxy_arg(k);
}

struct Platform {
  std::string os, arch, variant;
  std::string str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }
};

util::Result<Platform> parse_platform(const std::string& s) {
  Platform p;
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (true) {
    std::size_t j = s.find('/', i);
    parts.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  for (const auto& part : parts) {
    if (part.empty()) return util::Error{go_quote(s) + ": invalid platform specifier"};
  }
  if (parts.size() > 3) return util::Error{go_quote(s) + ": invalid platform specifier"};
  if (parts.size() == 1) {
    // "linux" or "amd64": containerd guesses; keep it simple: an OS name.
    p.os = ascii_lower(parts[0]);
    p.arch = "amd64";
  } else {
    p.os = ascii_lower(parts[0]);
    p.arch = ascii_lower(parts[1]);
    if (parts.size() == 3) p.variant = ascii_lower(parts[2]);
  }
  if (p.arch == "x86_64" || p.arch == "x86-64") p.arch = "amd64";
  if (p.arch == "aarch64") {
    p.arch = "arm64";
  }
  return p;
}

// BuildKit defaultArgs(): the automatic platform args, overridable by --build-arg.
EnvList default_args(const PlanOptions& opts, const std::string& target_name) {
  auto bp = parse_platform(opts.build_platform);
  auto tp = parse_platform(opts.target_platform);
  Platform b = bp.ok() ? *bp : Platform{"linux", "amd64", ""};
  Platform t = tp.ok() ? *tp : Platform{"linux", "amd64", ""};
  std::vector<std::pair<std::string, std::string>> s = {
      {"BUILDPLATFORM", b.str()}, {"BUILDOS", b.os},     {"BUILDOSVERSION", ""},  {"BUILDARCH", b.arch},
      {"BUILDVARIANT", b.variant}, {"TARGETPLATFORM", t.str()}, {"TARGETOS", t.os}, {"TARGETOSVERSION", ""},
      {"TARGETARCH", t.arch},     {"TARGETVARIANT", t.variant}, {"TARGETSTAGE", target_name}};
  EnvList env;
  for (auto& [k, v] : s) {
    auto it = opts.build_args.find(k);
    env.set(k, it != opts.build_args.end() ? it->second : v);
  }
  return env;
}

}  // namespace

namespace detail {

Planner::Planner(const Ast& ast_, const PlanOptions& opts_, Plan& plan_)
    : ast(ast_), opts(opts_), plan(plan_), diag{opts_.file, &plan_.source_lines} {
  lex.escape = ast.directives.escape;
}

util::Result<void> Planner::split_stages() {
  for (const Node& node : ast.instructions) {
    InstructionError detail;
    auto typed = parse_instruction(node, &detail);
    if (!typed.ok()) return diag.at(node.range, detail.message, detail.token);
    Command cmd{std::move(*typed), &node, ascii_upper(node.keyword), node.range, node.original, false};
    if (auto* f = std::get_if<FromInstruction>(&cmd.instruction)) {
      StageDraft d;
      d.index = static_cast<int>(drafts.size());
      d.from = *f;
      d.raw_image = f->image;
      d.range = node.range;
      d.original = node.original;
      drafts.push_back(std::move(d));
      continue;
    }
    if (drafts.empty()) {
      if (std::holds_alternative<ArgInstruction>(cmd.instruction)) {
        meta_args.push_back(std::move(cmd));
        continue;
      }
      return diag.at(node.range, "no build stage in current context");
    }
    drafts.back().commands.push_back(std::move(cmd));
  }
  if (drafts.empty()) return diag.whole("dockerfile contains no stages to build");
  return {};
}

util::Result<void> Planner::resolve_target() {
  for (const auto& d : drafts) {
    if (!d.from.name.empty()) {
      names[d.from.name] = d.index;
      stage_names.push_back(d.from.name);
    }
  }
  target = static_cast<int>(drafts.size()) - 1;
  if (!opts.target.empty()) {
    auto it = names.find(ascii_lower(opts.target));
    if (it == names.end()) {
      return diag.whole("target stage " + go_quote(opts.target) + " could not be found" +
                        did_you_mean(opts.target, stage_names, true));
    }
    target = it->second;
  }
  return {};
}

util::Result<void> Planner::build_meta_args() {
  global = default_args(opts, drafts[target].from.name.empty() ? "" : drafts[target].from.name);
  for (const auto& c : meta_args) {
    for (const auto& a : std::get<ArgInstruction>(c.instruction).args) {
      declared.insert(a.key);
      auto it = opts.build_args.find(a.key);
      if (it != opts.build_args.end()) {
        global.set(a.key, it->second);
      } else if (a.value) {
        auto v = expand_word(*a.value, global, lex);
        if (!v.ok()) return diag.at(c.range, v.error().message);
        global.set(a.key, *v);
      }
    }
  }
  plan.global_args = global.vars();
  return {};
}

util::Result<void> Planner::resolve_bases() {
  std::map<std::string, int> earlier;  // stages named so far
  for (auto& d : drafts) MKIMAGE_TRY_VOID(resolve_base(d, earlier));
  return {};
}

// FROM: the image and --platform expanded with global args only; the base is
// a named context, an earlier stage, scratch or an image.
util::Result<void> Planner::resolve_base(StageDraft& d, std::map<std::string, int>& earlier) {
  auto img = expand_word(d.raw_image, global, lex);
  if (!img.ok()) return diag.at(d.range, img.error().message, d.raw_image);
  if (img->empty()) {
    return diag.at(d.range, "base name (" + d.raw_image + ") should not be blank", d.raw_image);
  }
  d.from.image = *img;
  if (!d.from.platform.empty()) {
    auto p = expand_word(d.from.platform, global, lex);
    if (!p.ok()) {
      return diag.at(d.range, "failed to process arguments for platform " + d.from.platform + ": " + p.error().message);
    }
    if (p->empty()) return diag.at(d.range, "empty platform value from expression " + d.from.platform);
    auto parsed = parse_platform(*p);
    if (!parsed.ok()) {
      return diag.at(d.range, "failed to parse platform " + d.from.platform + ": " + parsed.error().message);
    }
    d.from.platform = *p;
  }
  d.base.platform = d.from.platform;
  auto it = earlier.find(ascii_lower(d.from.image));
  std::optional<std::string> context;
  if (opts.named_context && !d.from.name.empty()) context = opts.named_context(d.from.name);
  if (context) {
    // BuildKit: a named context replaces the stage of that name entirely.
    d.base.kind = StageBase::Kind::context;
    d.base.image = *context;
    d.base.replaces_stage = true;
    d.commands.clear();
  } else if (it != earlier.end()) {
    d.base.kind = StageBase::Kind::stage;
    d.base.stage = it->second;
  } else if (ascii_lower(d.from.image) == "scratch") {
    d.base.kind = StageBase::Kind::scratch;
  } else if (opts.named_context && (context = opts.named_context(d.from.image))) {
    d.base.kind = StageBase::Kind::context;
    d.base.image = *context;
  } else {
    d.base.kind = StageBase::Kind::image;
    d.base.image = d.from.image;
  }
  if (!d.from.name.empty()) earlier[d.from.name] = d.index;
  return {};
}

void Planner::add_edges() {
  for (const auto& st : plan.stages) {
    const auto& d = drafts[st.index];
    if (d.base.kind == StageBase::Kind::stage) {
      plan.edges.push_back(StageEdge{d.index, d.base.stage, StageEdge::Kind::base, -1});
    }
    for (const auto& e : d.deps) plan.edges.push_back(e);
  }
}

// --build-arg names no ARG of the dispatched stages (nor a global ARG) declares.
void Planner::report_unused_build_args(const std::vector<int>& order) {
  for (int s : order) {
    for (const auto& c : drafts[s].commands) {
      if (auto* a = std::get_if<ArgInstruction>(&c.instruction)) {
        for (const auto& decl : a->args) declared.insert(decl.key);
      }
    }
  }
  for (const auto& [k, v] : opts.build_args) {
    (void)v;
    if (!declared.count(k) && !is_builtin_arg(k)) plan.unused_build_args.push_back(k);
  }
  if (!plan.unused_build_args.empty()) {
    std::string list;
    for (const auto& k : plan.unused_build_args) list += (list.empty() ? "" : " ") + k;
    plan.warnings.push_back(Warning{0, "UnusedBuildArgs", "One or more build-args [" + list + "] were not consumed"});
  }
}

}  // namespace detail

util::Result<Plan> make_plan(const Ast& ast, const PlanOptions& opts) {
  Plan plan;
  plan.directives = ast.directives;
  plan.source_lines = ast.source_lines;
  plan.warnings = ast.warnings;
  Planner p(ast, opts, plan);
  MKIMAGE_TRY_VOID(p.split_stages());
  MKIMAGE_TRY_VOID(p.resolve_target());
  MKIMAGE_TRY_VOID(p.build_meta_args());
  MKIMAGE_TRY_VOID(p.resolve_bases());
  MKIMAGE_TRY_VOID(p.add_references());
  MKIMAGE_TRY_VOID(p.resolve_reachable());
  MKIMAGE_TRY_VOID(p.validate_dependencies());
  // Dispatch reachable stages in file order (a valid dependency order: every
  // reference points to an earlier stage).
  std::vector<int> order(p.reachable.begin(), p.reachable.end());
  std::sort(order.begin(), order.end());
  plan.target = p.target;
  MKIMAGE_TRY_VOID(dispatch_stages(ast, opts, p.diag, p.drafts, order, p.global, plan));
  p.add_edges();
  p.report_unused_build_args(order);
  return plan;
}

util::Result<Plan> plan_dockerfile(std::string_view text, const PlanOptions& opts) {
  MKIMAGE_TRY(auto ast, parse_dockerfile(text, opts.file));
  return make_plan(ast, opts);
}

}  // namespace mkimage::graph
