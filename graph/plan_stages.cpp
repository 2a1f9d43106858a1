// The stage graph before dispatch: stage references of commands (BuildKit
// toCommand, detectRunMount), reachability from the target with ONBUILD
// triggers (initOnBuildTriggers; a trigger may add references), circular
// dependencies (validateCircularDependency) and references to later stages.
#include <cctype>
#include <functional>

#include "graph/plan_internal.hpp"
#include "parser/text.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string stage_display(const StageDraft& d) {
  return d.from.name.empty() ? "stage-" + std::to_string(d.index) : d.from.name;
}

}  // namespace

// COPY --from: a stage index, a stage name or an image (never expanded).
util::Result<void> Planner::add_copy_reference(StageDraft& d, CopyInstruction& cp, const Command& c, int cmd_index) {
  if (cp.from.empty()) return {};
  EnvList empty;
  auto res = expand_word(cp.from, empty, lex);
  if (!res.ok() || *res != cp.from) {
    return diag.at(c.range,
                   "variable expansion is not supported for --from, define a new stage with FROM using ARG from "
                   "global scope as a workaround",
                   "--from");
  }
  if (all_digits(cp.from)) {
    long long idx = -1;
    try {
      idx = std::stoll(cp.from);
    } catch (...) {
      idx = -1;
    }
    if (idx < 0 || idx >= static_cast<long long>(drafts.size())) {
      return diag.at(c.range, "invalid stage index " + cp.from, "--from");
    }
    cp.from_stage = static_cast<int>(idx);
  } else {
    auto it = names.find(ascii_lower(cp.from));
    if (it != names.end()) {
      cp.from_stage = it->second;
    } else {
      cp.from_image = cp.from;
    }
  }
  if (cp.from_stage >= 0) {
    d.deps.push_back(StageEdge{d.index, cp.from_stage, StageEdge::Kind::copy_from, cmd_index});
  }
  return {};
}

// RUN --mount from=: a stage name (an image otherwise, resolved at dispatch).
util::Result<void> Planner::add_mount_references(StageDraft& d, const RunInstruction& run, const Command& c,
                                                 int cmd_index) {
  for (const auto& csv : run.mount_csv) {
    auto m = parse_mount(csv, nullptr);
    if (!m.ok()) return diag.at(c.range, m.error().message, csv);
    if (m->from.empty()) continue;
    auto it = names.find(ascii_lower(m->from));
    if (it != names.end()) {
      d.deps.push_back(StageEdge{d.index, it->second, StageEdge::Kind::mount_from, cmd_index});
    }
  }
  return {};
}

util::Result<void> Planner::add_references(StageDraft& d, Command& c, int cmd_index) {
  if (auto* cp = std::get_if<CopyInstruction>(&c.instruction)) return add_copy_reference(d, *cp, c, cmd_index);
  if (auto* run = std::get_if<RunInstruction>(&c.instruction)) return add_mount_references(d, *run, c, cmd_index);
  return {};
}

util::Result<void> Planner::add_references() {
  for (auto& d : drafts) {
    for (std::size_t i = 0; i < d.commands.size(); ++i) {
      MKIMAGE_TRY_VOID(add_references(d, d.commands[i], static_cast<int>(i)));
    }
  }
  return {};
}

util::Result<Command> Planner::parse_trigger(const StageDraft& d, const Node& node) const {
  InstructionError detail;
  auto typed = parse_instruction(node, &detail);
  if (!typed.ok()) return diag.at(d.range, detail.message);
  if (std::holds_alternative<FromInstruction>(typed.value()) ||
      std::holds_alternative<OnbuildInstruction>(typed.value()) ||
      std::holds_alternative<MaintainerInstruction>(typed.value())) {
    return diag.at(d.range, ascii_upper(node.keyword) + " isn't allowed as an ONBUILD trigger");
  }
  return Command{std::move(*typed), &node, ascii_upper(node.keyword), d.range, node.original, true};
}

// The base image's config (resolve_base_image) and its OnBuild triggers.
util::Result<std::vector<Command>> Planner::base_image_triggers(StageDraft& d) {
  std::vector<Command> triggers;
  if (opts.resolve_base_image) d.image_info = opts.resolve_base_image(d.base.image);
  if (!d.image_info && opts.resolve_base_image && d.base.kind == StageBase::Kind::image) {
    std::string near = nearest(d.base.image, stage_names, true);
    if (!near.empty()) {
      return diag.at(d.range,
                     "base image " + go_quote(d.base.image) + " not found (did you mean stage " + go_quote(near) + "?)",
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
  return triggers;
}

// The ONBUILD triggers of the stage's base (stage or image) become its first
// commands. True when they added stage references.
util::Result<bool> Planner::resolve_triggers(StageDraft& d) {
  if (d.triggers_resolved) return false;
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
    MKIMAGE_TRY(triggers, base_image_triggers(d));
  }
  if (triggers.empty()) return false;
  // Trigger steps come first: shift own command indexes in edges.
  bool changed = false;
  int n = static_cast<int>(triggers.size());
  for (auto& e : d.deps) e.step += n;
  for (int i = 0; i < n; ++i) {
    std::size_t before = d.deps.size();
    MKIMAGE_TRY_VOID(add_references(d, triggers[i], i));
    if (d.deps.size() != before) changed = true;
  }
  d.triggers = std::move(triggers);
  d.commands.insert(d.commands.begin(), std::make_move_iterator(d.triggers.begin()),
                    std::make_move_iterator(d.triggers.end()));
  d.triggers.clear();
  return changed;
}

void Planner::mark_reachable() {
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
}

// Reachability from the target, resolving ONBUILD triggers (which may add
// references) until nothing changes.
util::Result<void> Planner::resolve_reachable() {
  while (true) {
    mark_reachable();
    bool changed = false;
    for (int s : reachable) {
      MKIMAGE_TRY(bool added, resolve_triggers(drafts[s]));
      changed |= added;
    }
    if (!changed) return {};
  }
}

util::Result<void> Planner::check_cycles() const {
  std::map<int, int> state;  // 0 new, 1 visiting, 2 done
  std::function<util::Result<void>(int)> visit = [&](int s) -> util::Result<void> {
    state[s] = 1;
    std::vector<int> next;
    if (drafts[s].base.kind == StageBase::Kind::stage) next.push_back(drafts[s].base.stage);
    for (const auto& e : drafts[s].deps) next.push_back(e.to);
    for (int n : next) {
      if (state[n] == 1) return diag.at(drafts[n].range, "circular dependency detected on stage: " + stage_display(drafts[n]));
      if (state[n] == 0) MKIMAGE_TRY_VOID(visit(n));
    }
    state[s] = 2;
    return {};
  };
  for (int s : reachable) {
    if (state[s] == 0) MKIMAGE_TRY_VOID(visit(s));
  }
  return {};
}

util::Result<void> Planner::check_later_references() const {
  for (int s : reachable) {
    const auto& d = drafts[s];
    for (const auto& e : d.deps) {
      if (e.to < d.index) continue;
      const Command& c = d.commands[e.step];
      std::string cur = stage_display(d);
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
  return {};
}

util::Result<void> Planner::validate_dependencies() {
  MKIMAGE_TRY_VOID(check_cycles());
  return check_later_references();
}

}  // namespace mkimage::graph::detail
