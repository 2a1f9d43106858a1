// The stage walk of the checks: each walked stage's instructions in order, with
// the ARG/ENV scope BuildKit's dispatch keeps (convert.go dispatch, dispatchEnv,
// dispatchLabel, dispatchArg, dispatchCmd/Entrypoint/Healthcheck, dispatchWorkdir,
// dispatchCopy; validations.go). Values are expanded only to see which
// variables a word names; the plan does the real expansion.
#include <algorithm>
#include <map>
#include <regex>

#include "parser/checks/linter.hpp"
#include "parser/instructions.hpp"
#include "parser/path_match.hpp"
#include "parser/shell_lexer.hpp"
#include "parser/text.hpp"

#include "parser/checks/secret_names.hpp"

namespace mkimage::parser::checks::detail {

using parser::EnvList;

namespace {

const char* k_default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What a stage carries (BuildKit dispatchState, the parts the checks read).
struct WalkState {
  EnvList env;                          // llb state env
  std::vector<std::string> arg_keys;    // d.buildArgs keys (declared ARGs, inherited by FROM <stage>)
  std::vector<std::string> shell;       // image config Shell
  bool workdir_set = false;
};

// instructionTracker: the last CMD / ENTRYPOINT / HEALTHCHECK of the stage.
struct Tracker {
  bool set = false;
  SourceRange range;
};

bool is_non_env_arg(const std::string& k) { return k == "BUILDKIT_SBOM_SCAN_CONTEXT" || k == "BUILDKIT_SBOM_SCAN_STAGE"; }

// getSecretsRegex: the one rule, parser/checks/secret_names.hpp.
bool secret_key(const std::string& key) { return secret_looking_name(key); }

bool copy_root_ignored(const PatternMatcher& m) {
  for (const auto& p : m.patterns()) {
    if (!p.exclusion && (p.text == "*" || p.text == "**" || p.text == "**/*")) return true;
  }
  return false;
}

bool is_remote_source(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("git@", 0) == 0 ||
         s.rfind("git://", 0) == 0 || s.rfind("ssh://", 0) == 0;
}

class StageWalker {
public:
  StageWalker(const Ast& ast, const CheckOptions& opts, const EnvList& global, Linter& lint)
      : m_opts(opts), m_global(global), m_lint(lint) {
    m_lex.escape = ast.directives.escape;
  }

  void instruction(const Node& node, const Instruction& ins, const CheckConfig& cfg, WalkState& st);
  void reset_trackers() { m_cmd = m_entrypoint = m_healthcheck = Tracker{}; }

private:
  // Expands `word` in the state's env and reports the variables it names that
  // are not set (reportUnmatchedVariables).
  std::string word(const std::string& w, const Node& node, const CheckConfig& cfg, const WalkState& st);
  void used_once(Tracker& t, const std::string& name, const Node& node, const CheckConfig& cfg);
  void copy(const Node& node, const CopyInstruction& cp, const CheckConfig& cfg, const WalkState& st);
  void expose(const Node& node, const ExposeInstruction& ex, const CheckConfig& cfg, const WalkState& st);
  void arg(const Node& node, const ArgInstruction& a, const CheckConfig& cfg, WalkState& st);

  const CheckOptions& m_opts;
  const EnvList& m_global;
  Linter& m_lint;
  ShellLexerOptions m_lex;
  Tracker m_cmd, m_entrypoint, m_healthcheck;
};

std::string StageWalker::word(const std::string& w, const Node& node, const CheckConfig& cfg, const WalkState& st) {
  VariableRefs refs;
  auto r = expand_word(w, st.env, m_lex, &refs);
  std::vector<std::string> keys;  // the suggestions' candidates, only when one is needed (O(env) each time)
  for (const auto& var : refs.unmatched) {
    if (std::find(st.arg_keys.begin(), st.arg_keys.end(), var) != st.arg_keys.end() || is_non_env_arg(var)) continue;
    if (keys.empty())
      for (const auto& [k, v] : st.env.vars()) keys.push_back(k);
    m_lint.run(cfg, "UndefinedVar", node.range, message::undefined_var(var, suggest(var, keys, true)));
  }
  return r.ok() ? *r : w;
}

void StageWalker::used_once(Tracker& t, const std::string& name, const Node& node, const CheckConfig& cfg) {
  // The earlier one is reported: it is the one that has no effect.
  if (t.set) m_lint.run(cfg, "MultipleInstructionsDisallowed", t.range, message::multiple_instructions_disallowed(name));
  t.set = true;
  t.range = node.range;
}

void StageWalker::copy(const Node& node, const CopyInstruction& cp, const CheckConfig& cfg, const WalkState& st) {
  if (!cp.chown.empty()) word(cp.chown, node, cfg, st);
  if (!cp.chmod.empty()) word(cp.chmod, node, cfg, st);
  if (cp.add && !cp.checksum.empty()) word(cp.checksum, node, cfg, st);
  std::vector<std::string> sources;
  for (const auto& s : cp.sources) sources.push_back(word(s, node, cfg, st));
  word(cp.dest, node, cfg, st);
  const PatternMatcher* ignore = m_opts.dockerignore;
  if (!cp.from.empty() || !ignore || ignore->empty() || ignore->has_exclusions()) return;
  for (const auto& raw : sources) {
    if (is_remote_source(raw)) continue;
    std::string src = clean_path(raw);
    bool ignored = (src == "." || src == "/") ? copy_root_ignored(*ignore) : ignore->matches_or_parent_matches(src);
    if (ignored) {
      m_lint.run(cfg, "CopyIgnoredFile", node.range, message::copy_ignored_file(cp.add ? "Add" : "Copy", src));
    }
  }
}

void StageWalker::expose(const Node& node, const ExposeInstruction& ex, const CheckConfig& cfg, const WalkState& st) {
  for (const auto& p : ex.ports) {
    auto words = expand_words(p, st.env, m_lex);
    if (!words.ok()) continue;
    for (const auto& port : *words) {
      // [ip:]host:container[/proto]
      std::string spec = port, proto;
      auto slash = spec.find('/');
      if (slash != std::string::npos) {
        proto = spec.substr(slash + 1);
        spec = spec.substr(0, slash);
      }
      if (proto != ascii_lower(proto)) m_lint.run(cfg, "ExposeProtoCasing", node.range, message::expose_proto_casing(port));
      if (spec.find(':') != std::string::npos) {
        m_lint.run(cfg, "ExposeInvalidFormat", node.range, message::expose_invalid_format(port));
      }
    }
  }
}

void StageWalker::arg(const Node& node, const ArgInstruction& a, const CheckConfig& cfg, WalkState& st) {
  for (const auto& decl : a.args) {
    if (secret_key(decl.key)) {
      m_lint.run(cfg, "SecretsUsedInArgOrEnv", node.range, message::secrets_used_in_arg_or_env("ARG", decl.key));
    }
    std::optional<std::string> value;
    auto given = m_opts.build_args.find(decl.key);
    if (given != m_opts.build_args.end()) {
      value = given->second;
    } else if (decl.value) {
      value = word(*decl.value, node, cfg, st);
    } else if (auto g = m_global.get(decl.key)) {
      value = *g;
    }
    if (value && !is_non_env_arg(decl.key)) st.env.set(decl.key, *value);
    st.arg_keys.push_back(decl.key);
  }
}

void StageWalker::instruction(const Node& node, const Instruction& ins, const CheckConfig& cfg, WalkState& st) {
  const std::string name = written_keyword(node);
  if (auto* e = std::get_if<EnvInstruction>(&ins)) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& kv : e->pairs) pairs.emplace_back(word(kv.key, node, cfg, st), word(kv.value, node, cfg, st));
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (e->pairs[i].legacy) m_lint.run(cfg, "LegacyKeyValueFormat", node.range, message::legacy_key_value_format(name));
      if (secret_key(pairs[i].first)) {
        m_lint.run(cfg, "SecretsUsedInArgOrEnv", node.range, message::secrets_used_in_arg_or_env("ENV", pairs[i].first));
      }
      st.env.set(pairs[i].first, pairs[i].second);
    }
  } else if (auto* l = std::get_if<LabelInstruction>(&ins)) {
    for (const auto& kv : l->pairs) {
      word(kv.key, node, cfg, st);
      word(kv.value, node, cfg, st);
    }
    for (const auto& kv : l->pairs) {
      if (kv.legacy) m_lint.run(cfg, "LegacyKeyValueFormat", node.range, message::legacy_key_value_format(name));
    }
  } else if (auto* a = std::get_if<ArgInstruction>(&ins)) {
    arg(node, *a, cfg, st);
  } else if (auto* r = std::get_if<RunInstruction>(&ins)) {
    for (const auto& csv : r->mount_csv) {
      (void)parse_mount(csv, [&](const std::string& w) -> util::Result<std::string> { return word(w, node, cfg, st); });
    }
  } else if (auto* c = std::get_if<CmdInstruction>(&ins)) {
    used_once(m_cmd, name, node, cfg);
    if (c->shell_form && st.shell.empty()) m_lint.run(cfg, "JSONArgsRecommended", node.range, message::json_args_recommended(name));
  } else if (auto* ep = std::get_if<EntrypointInstruction>(&ins)) {
    used_once(m_entrypoint, name, node, cfg);
    if (ep->shell_form && st.shell.empty()) m_lint.run(cfg, "JSONArgsRecommended", node.range, message::json_args_recommended(name));
  } else if (std::holds_alternative<HealthcheckInstruction>(ins)) {
    used_once(m_healthcheck, name, node, cfg);
  } else if (auto* sh = std::get_if<ShellInstruction>(&ins)) {
    st.shell = sh->shell;
  } else if (auto* w = std::get_if<WorkdirInstruction>(&ins)) {
    std::string path = word(w->path, node, cfg, st);
    if (!st.workdir_set && (path.empty() || path[0] != '/')) {
      m_lint.run(cfg, "WorkdirRelativePath", node.range, message::workdir_relative_path(path));
    }
    st.workdir_set = true;
  } else if (auto* u = std::get_if<UserInstruction>(&ins)) {
    word(u->user, node, cfg, st);
  } else if (auto* v = std::get_if<VolumeInstruction>(&ins)) {
    for (const auto& vol : v->volumes) word(vol, node, cfg, st);
  } else if (auto* sig = std::get_if<StopSignalInstruction>(&ins)) {
    word(sig->signal, node, cfg, st);
  } else if (auto* cp = std::get_if<CopyInstruction>(&ins)) {
    copy(node, *cp, cfg, st);
  } else if (auto* ex = std::get_if<ExposeInstruction>(&ins)) {
    expose(node, *ex, cfg, st);
  }
}

}  // namespace

void check_stages(const Ast& ast, const std::vector<std::vector<std::string>>& comments, const CheckOptions& opts,
                  Linter& lint) {
  EnvList global = global_args(ast, opts, true);
  ShellLexerOptions lex;
  lex.escape = ast.directives.escape;
  StageWalker walker(ast, opts, global, lint);
  std::map<std::string, int> names;            // stage name → index
  std::map<int, WalkState> finished;           // final state of each walked stage
  int index = -1;
  std::optional<WalkState> st;                 // the stage being walked
  auto finish = [&] {
    if (st) finished[index] = std::move(*st);
    st.reset();
  };
  for (std::size_t i = 0; i < ast.instructions.size(); ++i) {
    const Node& node = ast.instructions[i];
    auto typed = parse_instruction(node);
    if (!typed.ok()) return;
    if (auto* from = std::get_if<FromInstruction>(&*typed)) {
      finish();
      ++index;
      auto expanded = expand_word(from->image, global, lex);
      std::string image = expanded.ok() ? *expanded : from->image;
      std::string base = ascii_lower(image);
      if (!from->name.empty()) names[from->name] = index;
      if (!opts.all_stages && !opts.stages.count(index)) continue;
      WalkState s;
      auto by_name = names.find(base);
      if (by_name != names.end() && by_name->second < index && finished.count(by_name->second)) {
        s = finished[by_name->second];
      } else {
        std::vector<std::string> env;
        if (base != "scratch" && opts.base_image) {
          if (auto img = opts.base_image(image)) {
            env = img->env;
            s.shell = img->shell;
          }
        }
        bool has_path = false;
        for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
        if (!has_path) env.push_back(std::string("PATH=") + k_default_path);
        for (const auto& e : env) {
          auto eq = e.find('=');
          s.env.set(e.substr(0, eq), eq == std::string::npos ? "" : e.substr(eq + 1));
        }
      }
      walker.reset_trackers();
      st = std::move(s);
      continue;
    }
    if (!st) continue;  // a global ARG, or a stage that is not walked
    walker.instruction(node, *typed, merge_comment_config(lint.config(), comments[i]), *st);
  }
  finish();
}

}  // namespace mkimage::parser::checks::detail
