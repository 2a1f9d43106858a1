// Checks of FROM lines: their expansion with the global ARGs (BuildKit
// validateBaseImagesWithDefaultArgs, reportUnusedFromArgs,
// reportRedundantTargetPlatform, reportConstPlatformDisallowed) and the
// resolved base image's platform (validateBaseImagePlatform).
#include <algorithm>
#include <regex>

#include "parser/checks/linter.hpp"
#include "parser/instructions.hpp"
#include "parser/shell_lexer.hpp"
#include "parser/text.hpp"

namespace mkimage::parser::checks::detail {

using parser::EnvList;

namespace {

struct Platform {
  std::string os, arch, variant;
};

Platform split_platform(const std::string& s) {
  Platform p;
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (true) {
    std::size_t j = s.find('/', i);
    parts.push_back(ascii_lower(s.substr(i, j == std::string::npos ? std::string::npos : j - i)));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  p.os = parts[0];
  if (parts.size() > 1) p.arch = parts[1];
  if (parts.size() > 2) p.variant = parts[2];
  if (p.arch == "x86_64" || p.arch == "x86-64") p.arch = "amd64";
  if (p.arch == "aarch64") p.arch = "arm64";
  if (p.arch == "arm64" && p.variant == "v8") p.variant.clear();
  return p;
}

std::string format_platform(const Platform& p) {
  return p.os + "/" + p.arch + (p.variant.empty() ? "" : "/" + p.variant);
}

bool valid_platform(const std::string& s) {
  if (s.empty()) return false;
  static const std::regex component("^[A-Za-z0-9_.-]+$");
  std::size_t i = 0, n = 0;
  while (true) {
    std::size_t j = s.find('/', i);
    std::string part = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!std::regex_match(part, component)) return false;
    ++n;
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return n <= 3;
}

std::vector<std::string> sorted(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

void report_undeclared(const std::set<std::string>& unmatched, const std::vector<std::string>& keys,
                       const SourceRange& range, const CheckConfig& cfg, Linter& lint) {
  for (const auto& arg : sorted(unmatched)) {
    if (std::find(keys.begin(), keys.end(), arg) != keys.end()) continue;
    lint.run(cfg, "UndefinedArgInFrom", range, message::undefined_arg_in_from(arg, suggest(arg, keys, true)));
  }
}

void check_platform_flag(const FromInstruction& from, const VariableRefs& refs, const std::string& result,
                         const EnvList& global, const SourceRange& range, const CheckConfig& cfg, Linter& lint) {
  if (refs.matched.size() == 1 && refs.unmatched.empty() && refs.matched.count("TARGETPLATFORM") &&
      global.get("TARGETPLATFORM").value_or("") == result) {
    lint.run(cfg, "RedundantTargetPlatform", range, message::redundant_target_platform(from.platform));
  }
  if (!refs.matched.empty() || !refs.unmatched.empty() || !valid_platform(result)) return;
  Platform p = split_platform(result);
  if (from.name.find(p.os) != std::string::npos || (!p.arch.empty() && from.name.find(p.arch) != std::string::npos)) {
    return;
  }
  lint.run(cfg, "FromPlatformFlagConstDisallowed", range, message::from_platform_flag_const_disallowed(result));
}

}  // namespace

namespace {

// The common shape of a base name, "name[/name...][:tag]" with lowercase
// alphanumeric components joined by single '.', '_' or '-', checked by hand: a
// subset of what the regex below accepts, so a build whose FROM lines all look
// like this never compiles it (std::regex compiles this one in ~0.3 ms).
bool plain_reference(const std::string& ref) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  std::size_t i = 0, n = ref.size();
  while (true) {  // a path component
    if (i >= n || !alnum(ref[i])) return false;
    while (i < n && alnum(ref[i])) ++i;
    if (i < n && (ref[i] == '.' || ref[i] == '_' || ref[i] == '-')) {
      ++i;
      continue;  // a separator is followed by more of the component
    }
    if (i < n && ref[i] == '/') {
      ++i;
      continue;
    }
    break;
  }
  if (i == n) return true;
  if (ref[i] != ':') return false;
  auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
  std::size_t tag = ++i;
  if (i >= n || !word(ref[i])) return false;
  for (; i < n; ++i)
    if (!word(ref[i]) && ref[i] != '.' && ref[i] != '-') return false;
  return n - tag <= 128;
}

}  // namespace

bool valid_reference(const std::string& ref) {
  if (ref.empty() || ref.size() > 512) return false;
  if (plain_reference(ref)) return true;
  static const std::regex re(
      R"(^(?:(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?/)?)"
      R"([a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*)"
      R"((?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$)");
  if (ref.empty() || ref.size() > 512) return false;
  return std::regex_match(ref, re);
}

EnvList global_args(const Ast& ast, const CheckOptions& opts, bool with_build_args, std::vector<std::string>* declared) {
  Platform b = split_platform(opts.build_platform), t = split_platform(opts.target_platform);
  std::string target = opts.target;
  if (target.empty()) {
    for (const auto& n : ast.instructions) {
      if (n.keyword == "from") target = n.args.size() == 3 ? ascii_lower(n.args[2]) : "";
    }
  }
  EnvList env;
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"BUILDPLATFORM", format_platform(b)}, {"BUILDOS", b.os},       {"BUILDOSVERSION", ""},
      {"BUILDARCH", b.arch},                 {"BUILDVARIANT", b.variant}, {"TARGETPLATFORM", format_platform(t)},
      {"TARGETOS", t.os},                    {"TARGETOSVERSION", ""},  {"TARGETARCH", t.arch},
      {"TARGETVARIANT", t.variant},          {"TARGETSTAGE", target}};
  for (const auto& [k, v] : defaults) {
    auto it = opts.build_args.find(k);
    env.set(k, it != opts.build_args.end() ? it->second : v);
  }
  ShellLexerOptions lex;
  lex.escape = ast.directives.escape;
  for (const auto& node : ast.instructions) {
    if (node.keyword == "from") break;
    if (node.keyword != "arg") continue;
    auto typed = parse_instruction(node);
    if (!typed.ok()) continue;
    for (const auto& a : std::get<ArgInstruction>(*typed).args) {
      if (declared) declared->push_back(a.key);
      auto given = opts.build_args.find(a.key);
      if (with_build_args && given != opts.build_args.end()) {
        env.set(a.key, given->second);
      } else if (a.value) {
        auto v = expand_word(*a.value, env, lex);
        if (v.ok()) env.set(a.key, *v);
      }
    }
  }
  return env;
}

void check_from(const Ast& ast, const std::vector<std::vector<std::string>>& comments, const CheckOptions& opts,
                Linter& lint) {
  ShellLexerOptions lex;
  lex.escape = ast.directives.escape;
  std::vector<std::string> declared;
  EnvList defaults_only = global_args(ast, opts, false);
  EnvList global = global_args(ast, opts, true, &declared);
  std::vector<std::string> keys;
  for (const auto& [k, v] : global.vars()) keys.push_back(k);
  for (const auto& k : declared) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  std::set<std::string> stage_names;
  int index = -1;
  for (std::size_t i = 0; i < ast.instructions.size(); ++i) {
    const Node& node = ast.instructions[i];
    if (node.keyword != "from") continue;
    ++index;
    auto typed = parse_instruction(node);
    if (!typed.ok()) return;
    const auto& from = std::get<FromInstruction>(*typed);
    // InvalidDefaultArgInFrom: the base name with ARG defaults only (file configuration).
    auto with_defaults = expand_word(from.image, defaults_only, lex);
    if (with_defaults.ok() && !valid_reference(*with_defaults)) {
      lint.run("InvalidDefaultArgInFrom", node.range, message::invalid_default_arg_in_from(from.image));
    }
    CheckConfig cfg = merge_comment_config(lint.config(), comments[i]);
    VariableRefs refs;
    auto image = expand_word(from.image, global, lex, &refs);
    report_undeclared(refs.unmatched, keys, node.range, cfg, lint);
    if (!image.ok() || image->empty()) return;  // the planner reports it
    if (!from.platform.empty()) {
      VariableRefs prefs;
      auto platform = expand_word(from.platform, global, lex, &prefs);
      report_undeclared(prefs.unmatched, keys, node.range, cfg, lint);
      if (!platform.ok()) return;
      check_platform_flag(from, prefs, *platform, global, node.range, cfg, lint);
      if (platform->empty() || !valid_platform(*platform)) return;
    }
    // InvalidBaseImagePlatform: an image base of a stage the build runs.
    bool walked = opts.all_stages || opts.stages.count(index);
    bool is_image = ascii_lower(*image) != "scratch" && !stage_names.count(ascii_lower(*image));
    if (!from.name.empty()) stage_names.insert(from.name);
    if (!walked || !is_image || !opts.base_image) continue;
    auto base = opts.base_image(*image);
    if (!base || base->platform.empty()) continue;
    std::string want_text = from.platform.empty() ? opts.target_platform : *expand_word(from.platform, global, lex);
    Platform want = split_platform(want_text), got = split_platform(base->platform);
    if (want.os != got.os || want.arch != got.arch) {
      lint.run("InvalidBaseImagePlatform", node.range,
               message::invalid_base_image_platform(*image, format_platform(want), format_platform(got)));
    }
  }
}

}  // namespace mkimage::parser::checks::detail
