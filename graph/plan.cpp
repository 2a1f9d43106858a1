// The planner: AST → typed instructions → stages → reachable build graph →
// dispatched (expanded) steps. Follows BuildKit's dockerfile2llb toDispatchState:
// global ARGs (buildMetaArgs), FROM expansion with global args only, stage
// references (toCommand, detectRunMount), target resolution, reachability,
// ONBUILD triggers, circular-dependency detection, then dispatch in file order.
#include "graph/plan.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "parser/instructions_internal.hpp"
#include "graph/plan_internal.hpp"
#include "parser/proxy_args.hpp"
#include "parser/text.hpp"

namespace mkimage::graph {

using namespace parser;

namespace detail {

// Go path.Clean.
std::string path_clean(const std::string& p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string seg = p.substr(i, j - i);
    i = j + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back("..");
      }
      continue;
    }
    parts.push_back(seg);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k) out += "/";
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

std::string path_join(const std::string& a, const std::string& b) {
  if (a.empty()) return path_clean(b);
  if (b.empty()) return path_clean(a);
  return path_clean(a + "/" + b);
}

util::Error Diag::at(const SourceRange& r, const std::string& message, const std::string& token) const {
  Diagnostic d;
  d.file = file;
  d.line = r.start_line;
  d.column = r.start_col > 0 ? r.start_col : 1;
  d.message = message;
  if (!token.empty() && lines && r.start_line > 0) {
    int last = std::max(r.start_line, r.end_line);
    for (int l = r.start_line; l <= last && l <= static_cast<int>(lines->size()); ++l) {
      const std::string& text = (*lines)[l - 1];
      std::size_t from = (l == r.start_line && r.start_col > 0) ? static_cast<std::size_t>(r.start_col - 1) : 0;
      std::size_t pos = text.find(token, std::min(from, text.size()));
      if (pos != std::string::npos) {
        d.line = l;
        d.column = static_cast<int>(pos) + 1;
        break;
      }
    }
  }
  return util::Error{format_diagnostic(d, lines ? *lines : std::vector<std::string>{})};
}

util::Error Diag::whole(const std::string& message) const {
  Diagnostic d;
  d.file = file;
  d.message = message;
  return util::Error{format_diagnostic(d, {})};
}

// dispatch.cpp
util::Result<void> dispatch_stages(const Ast& ast, const PlanOptions& opts, const Diag& diag,
                                   std::vector<StageDraft>& drafts, const std::vector<int>& order,
                                   const EnvList& global_args, Plan& plan);

}  // namespace detail

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

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

util::Result<Plan> make_plan(const Ast& ast, const PlanOptions& opts) {
  Plan plan;
  plan.directives = ast.directives;
  plan.source_lines = ast.source_lines;
  plan.warnings = ast.warnings;
  Diag diag{opts.file, &plan.source_lines};
  ShellLexerOptions lex;
  lex.escape = ast.directives.escape;

  // 1. Typed instructions, split into global ARGs and stages.
  std::vector<Command> meta_args;
  std::vector<StageDraft> drafts;
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

  // 2. Target name (TARGETSTAGE) and global args (buildMetaArgs).
  std::map<std::string, int> names;  // lower name → index; later stages win (as BuildKit's map)
  std::vector<std::string> stage_names;
  for (const auto& d : drafts) {
    if (!d.from.name.empty()) {
      names[d.from.name] = d.index;
      stage_names.push_back(d.from.name);
    }
  }
  int target = static_cast<int>(drafts.size()) - 1;
  if (!opts.target.empty()) {
    auto it = names.find(ascii_lower(opts.target));
    if (it == names.end()) {
      return diag.whole("target stage " + go_quote(opts.target) + " could not be found" +
                        did_you_mean(opts.target, stage_names, true));
    }
    target = it->second;
  }
  EnvList global = default_args(opts, drafts[target].from.name.empty() ? "" : drafts[target].from.name);
  std::set<std::string> declared;
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

  // 3. FROM: expand with global args only; base = earlier stage, scratch or image.
  std::map<std::string, int> earlier;
  for (auto& d : drafts) {
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
  }

  // 4. Stage references of commands (toCommand / detectRunMount).
  auto add_refs = [&](StageDraft& d, Command& c, int cmd_index) -> util::Result<void> {
    if (auto* cp = std::get_if<CopyInstruction>(&c.instruction)) {
      if (cp->from.empty()) return {};
      EnvList empty;
      auto res = expand_word(cp->from, empty, lex);
      if (!res.ok() || *res != cp->from) {
        return diag.at(c.range,
                       "variable expansion is not supported for --from, define a new stage with FROM using ARG from "
                       "global scope as a workaround",
                       "--from");
      }
      if (all_digits(cp->from)) {
        long long idx = -1;
        try {
          idx = std::stoll(cp->from);
        } catch (...) {
          idx = -1;
        }
        if (idx < 0 || idx >= static_cast<long long>(drafts.size())) {
          return diag.at(c.range, "invalid stage index " + cp->from, "--from");
        }
        cp->from_stage = static_cast<int>(idx);
      } else {
        auto it = names.find(ascii_lower(cp->from));
        if (it != names.end()) {
          cp->from_stage = it->second;
        } else {
          cp->from_image = cp->from;
        }
      }
      if (cp->from_stage >= 0) {
        d.deps.push_back(StageEdge{d.index, cp->from_stage, StageEdge::Kind::copy_from, cmd_index});
      }
    } else if (auto* run = std::get_if<RunInstruction>(&c.instruction)) {
      for (const auto& csv : run->mount_csv) {
        auto m = parse_mount(csv, nullptr);
        if (!m.ok()) return diag.at(c.range, m.error().message, csv);
        if (m->from.empty()) continue;
        auto it = names.find(ascii_lower(m->from));
        if (it != names.end()) {
          d.deps.push_back(StageEdge{d.index, it->second, StageEdge::Kind::mount_from, cmd_index});
        }
      }
    }
    return {};
  };
  for (auto& d : drafts) {
    for (std::size_t i = 0; i < d.commands.size(); ++i) {
      MKIMAGE_TRY_VOID(add_refs(d, d.commands[i], static_cast<int>(i)));
    }
  }

  // 5. Reachability from the target, resolving ONBUILD triggers (which may add
  // references) until nothing changes.
  auto parse_trigger = [&](StageDraft& d, const Node& node) -> util::Result<Command> {
    InstructionError detail;
    auto typed = parse_instruction(node, &detail);
    if (!typed.ok()) return diag.at(d.range, detail.message);
    if (std::holds_alternative<FromInstruction>(typed.value()) ||
        std::holds_alternative<OnbuildInstruction>(typed.value()) ||
        std::holds_alternative<MaintainerInstruction>(typed.value())) {
      return diag.at(d.range, ascii_upper(node.keyword) + " isn't allowed as an ONBUILD trigger");
    }
    return Command{std::move(*typed), &node, ascii_upper(node.keyword), d.range, node.original, true};
  };
  std::vector<std::unique_ptr<Ast>> trigger_asts;  // keep nodes alive
  std::set<int> reachable;
  while (true) {
    reachable.clear();
    std::vector<int> todo = {target};
    while (!todo.empty()) {
      int s = todo.back();
      todo.pop_back();
      if (!reachable.insert(s).second) continue;
      const auto& d = drafts[s];
      if (d.base.kind == StageBase::Kind::stage) todo.push_back(d.base.stage);
      for (const auto& e : d.deps) todo.push_back(e.to);
    }
    bool changed = false;
    for (int s : reachable) {
      auto& d = drafts[s];
      if (d.triggers_resolved) continue;
      d.triggers_resolved = true;
      std::vector<Command> triggers;
      if (d.base.kind == StageBase::Kind::stage) {
        for (const auto& c : drafts[d.base.stage].commands) {
          if (c.node && c.node->onbuild && !c.from_onbuild) {
            MKIMAGE_TRY(auto t, parse_trigger(d, *c.node->onbuild));
            triggers.push_back(std::move(t));
          }
        }
      } else if (d.base.kind == StageBase::Kind::image || d.base.kind == StageBase::Kind::context) {
        if (opts.resolve_base_image) d.image_info = opts.resolve_base_image(d.base.image);
        if (!d.image_info && opts.resolve_base_image && d.base.kind == StageBase::Kind::image) {
          std::string near = nearest(d.base.image, stage_names, true);
          if (!near.empty()) {
            return diag.at(d.range,
                           "base image " + go_quote(d.base.image) + " not found (did you mean stage " + go_quote(near) +
                               "?)",
                           d.raw_image);
          }
        }
        if (d.image_info && !d.base.replaces_stage) {
          for (const auto& text : d.image_info->onbuild) {
            auto parsed = parse_dockerfile(text, opts.file);
            if (!parsed.ok() || parsed->instructions.size() != 1) {
              return diag.at(d.range, parsed.ok() ? "onbuild trigger should be a single expression"
                                                  : "invalid ONBUILD trigger " + go_quote(text));
            }
            trigger_asts.push_back(std::make_unique<Ast>(std::move(*parsed)));
            MKIMAGE_TRY(auto t, parse_trigger(d, trigger_asts.back()->instructions[0]));
            triggers.push_back(std::move(t));
          }
        }
      }
      if (triggers.empty()) continue;
      // Trigger steps come first: shift own command indexes in edges.
      int n = static_cast<int>(triggers.size());
      for (auto& e : d.deps) e.step += n;
      for (int i = 0; i < n; ++i) {
        std::size_t before = d.deps.size();
        MKIMAGE_TRY_VOID(add_refs(d, triggers[i], i));
        if (d.deps.size() != before) changed = true;
      }
      d.triggers = std::move(triggers);
      d.commands.insert(d.commands.begin(), std::make_move_iterator(d.triggers.begin()),
                        std::make_move_iterator(d.triggers.end()));
      d.triggers.clear();
    }
    if (!changed) break;
  }

  // 6. Cycles (validateCircularDependency), then references to later stages.
  {
    std::map<int, int> state;  // 0 new, 1 visiting, 2 done
    std::function<util::Result<void>(int)> visit = [&](int s) -> util::Result<void> {
      state[s] = 1;
      std::vector<int> next;
      if (drafts[s].base.kind == StageBase::Kind::stage) next.push_back(drafts[s].base.stage);
      for (const auto& e : drafts[s].deps) next.push_back(e.to);
      for (int n : next) {
        if (state[n] == 1) {
          return diag.at(drafts[n].range, "circular dependency detected on stage: " +
                                              (drafts[n].from.name.empty() ? "stage-" + std::to_string(n)
                                                                           : drafts[n].from.name));
        }
        if (state[n] == 0) MKIMAGE_TRY_VOID(visit(n));
      }
      state[s] = 2;
      return {};
    };
    for (int s : reachable) {
      if (state[s] == 0) MKIMAGE_TRY_VOID(visit(s));
    }
  }
  for (int s : reachable) {
    const auto& d = drafts[s];
    for (const auto& e : d.deps) {
      if (e.to < d.index) continue;
      const Command& c = d.commands[e.step];
      std::string cur = d.from.name.empty() ? "stage-" + std::to_string(d.index) : d.from.name;
      std::string other = drafts[e.to].from.name.empty() ? std::to_string(e.to) : drafts[e.to].from.name;
      if (e.kind == StageEdge::Kind::copy_from) {
        return diag.at(c.range,
                       "cannot copy from stage " + go_quote(std::get<CopyInstruction>(c.instruction).from) +
                           ", it needs to be defined before current stage " + go_quote(cur),
                       "--from");
      }
      return diag.at(c.range, "cannot mount from stage " + go_quote(other) + " to " + go_quote(cur) +
                                  ", stage needs to be defined before current command",
                      "from=");
    }
  }

  // 7. Dispatch reachable stages in file order (a valid dependency order:
  // every reference points to an earlier stage).
  std::vector<int> order(reachable.begin(), reachable.end());
  std::sort(order.begin(), order.end());
  plan.target = target;
  MKIMAGE_TRY_VOID(dispatch_stages(ast, opts, diag, drafts, order, global, plan));

  // 8. Edges and unused build args.
  for (const auto& st : plan.stages) {
    const auto& d = drafts[st.index];
    if (d.base.kind == StageBase::Kind::stage) {
      plan.edges.push_back(StageEdge{d.index, d.base.stage, StageEdge::Kind::base, -1});
    }
    for (const auto& e : d.deps) plan.edges.push_back(e);
  }
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
  return plan;
}

util::Result<Plan> plan_dockerfile(std::string_view text, const PlanOptions& opts) {
  MKIMAGE_TRY(auto ast, parse_dockerfile(text, opts.file));
  return make_plan(ast, opts);
}

}  // namespace mkimage::graph
