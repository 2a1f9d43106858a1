// Checks of the Dockerfile text and its typed instructions, before any
// expansion (BuildKit: parser warnings, instructions.Parse, validateStageNames,
// validateCommandCasing).
#include <map>

#include "parser/checks/linter.hpp"
#include "parser/instructions.hpp"
#include "parser/text.hpp"

namespace mkimage::parser::checks::detail {

namespace {

bool same_case(const std::string& s) { return s == ascii_lower(s) || s == ascii_upper(s); }

void check_from_node(const Node& node, const CheckConfig& cfg, Linter& lint) {
  const auto& args = node.args;
  if (args.size() == 3 && args[2] != ascii_lower(args[2])) {
    lint.run(cfg, "StageNameCasing", node.range, message::stage_name_casing(args[2]));
  }
  if (args.size() >= 3) {
    std::string kw = written_keyword(node);
    bool lower = kw == ascii_lower(kw), upper = kw == ascii_upper(kw);
    bool matches = (!lower && !upper) || (lower ? args[1] == ascii_lower(args[1]) : args[1] == ascii_upper(args[1]));
    if (!matches) lint.run(cfg, "FromAsCasing", node.range, message::from_as_casing(kw, args[1]));
  }
}

// InvalidDefinitionDescription (experimental): the last comment above a stage or
// ARG should start with its name.
void check_description(const std::string& instruction, const std::vector<std::string>& keys,
                       const std::vector<std::string>& comments, const SourceRange& range, const CheckConfig& cfg,
                       Linter& lint) {
  if (comments.empty() || keys.empty()) return;
  const std::string& last = comments.back();
  std::string first = last.substr(0, last.find(' '));
  for (const auto& k : keys) {
    if (k == first) return;
  }
  lint.run(cfg, "InvalidDefinitionDescription", range,
           message::invalid_definition_description(instruction, keys.size() > 1 ? "<arg_key>" : keys[0]));
}

// validateCommandCasing: FROM and every command inside stages vote for the
// majority; each instruction not in that case is reported.
void check_casing(const Ast& ast, Linter& lint) {
  int lower = 0, upper = 0;
  bool in_stage = false;
  std::vector<const Node*> counted;
  for (const auto& node : ast.instructions) {
    in_stage |= node.keyword == "from";
    if (!in_stage) continue;
    counted.push_back(&node);
    std::string kw = written_keyword(node);
    if (!same_case(kw)) continue;
    (kw == ascii_lower(kw) ? lower : upper)++;
  }
  bool majority_lower = lower > upper;
  for (const Node* node : counted) {
    std::string kw = written_keyword(*node);
    std::string casing;
    if (majority_lower && kw != ascii_lower(kw)) casing = "lowercase";
    else if (!majority_lower && kw != ascii_upper(kw)) casing = "uppercase";
    if (!casing.empty()) lint.run("ConsistentInstructionCasing", node->range, message::consistent_instruction_casing(kw, casing));
  }
}

void check_stage_names(const Ast& ast, Linter& lint) {
  std::map<std::string, int> seen;
  for (const auto& node : ast.instructions) {
    if (node.keyword != "from" || node.args.size() != 3) continue;
    std::string name = ascii_lower(node.args[2]);
    if (name == "context" || name == "scratch") lint.run("ReservedStageName", node.range, message::reserved_stage_name(name));
    if (seen.count(name)) lint.run("DuplicateStageName", node.range, message::duplicate_stage_name(name));
    seen[name] = 1;
  }
}

}  // namespace

bool check_syntax(const Ast& ast, const std::vector<std::vector<std::string>>& comments, Linter& lint) {
  for (const auto& w : ast.warnings) {
    if (w.rule != "NoEmptyContinuation") continue;
    lint.run("NoEmptyContinuation", SourceRange{w.line, 0, w.line, 0}, message::no_empty_continuation());
  }
  for (std::size_t i = 0; i < ast.instructions.size(); ++i) {
    const Node& node = ast.instructions[i];
    CheckConfig cfg = merge_comment_config(lint.config(), comments[i]);
    if (node.keyword == "maintainer") lint.run(cfg, "MaintainerDeprecated", node.range, message::maintainer_deprecated());
    if (node.keyword == "from") check_from_node(node, cfg, lint);
    auto typed = parse_instruction(node);
    if (!typed.ok()) return false;
    if (auto* f = std::get_if<FromInstruction>(&*typed); f && !f->name.empty()) {
      check_description("FROM", {f->name}, comments[i], node.range, cfg, lint);
    } else if (auto* a = std::get_if<ArgInstruction>(&*typed)) {
      std::vector<std::string> keys;
      for (const auto& d : a->args) keys.push_back(d.key);
      check_description("ARG", keys, comments[i], node.range, cfg, lint);
    }
  }
  check_stage_names(ast, lint);
  check_casing(ast, lint);
  return true;
}

}  // namespace mkimage::parser::checks::detail
