// Dispatching a stage's instructions: ARG/ENV state, variable expansion per
// instruction, derived values (argv, resolved paths, mounts) and the history
// strings BuildKit records (dockerfile2llb convert.go, convert_copy.go).
#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>

#include "parser/instructions_internal.hpp"
#include "graph/plan_internal.hpp"
#include "parser/proxy_args.hpp"
#include "parser/text.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

const char* k_default_path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The dispatch state of one stage (BuildKit dispatchState + llb state).
struct State {
  EnvList env;                           // llb state env: config Env + ARG values
  std::vector<std::string> config_env;   // image config Env
  std::unordered_map<std::string, std::size_t> config_env_at;  // name -> index in config_env
  std::vector<ArgDeclaration> build_args;  // d.buildArgs (declared ARGs with values)
  std::string workdir;
  std::string user;
  std::vector<std::string> shell;        // config Shell ([] = default)
  bool cmd_set = false;
};

std::string kv_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

// Sets K=V in the config Env, replacing K in place (O(1): config_env_at).
void add_config_env(State& st, const std::string& k, const std::string& v) {
  auto [it, added] = st.config_env_at.try_emplace(k, st.config_env.size());
  if (added) {
    st.config_env.push_back(k + "=" + v);
  } else {
    st.config_env[it->second] = k + "=" + v;
  }
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

// Go fmt "%q" of a []string: ["a" "b"].
std::string go_quote_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += " ";
    out += go_quote(v[i]);
  }
  return out + "]";
}

std::vector<std::string> effective_shell(const State& st) {
  if (!st.shell.empty()) return st.shell;
  return {"/bin/sh", "-c"};
}

std::vector<std::string> with_shell(const State& st, const std::vector<std::string>& args) {
  auto sh = effective_shell(st);
  sh.push_back(join(args, " "));
  return sh;
}

bool is_abs(const std::string& p) { return !p.empty() && p[0] == '/'; }

// BuildKit system.NormalizePath(dir, p, keepSlash=true) for COPY destinations.
std::string resolve_dest(const std::string& workdir, std::string p) {
  bool keep_slash = !p.empty() && (p.back() == '/' || (p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0));
  if (p == "." || p.empty()) {
    p = "./";
    keep_slash = true;
  }
  std::string out = is_abs(p) ? path_clean(p) : path_join(workdir.empty() ? "/" : workdir, p);
  if (!is_abs(out)) out = "/" + out;
  if (keep_slash && out.back() != '/') out += "/";
  return out;
}

bool is_git_source(const std::string& s) {
  std::string base = s.substr(0, s.find('#'));
  if (s.rfind("git://", 0) == 0 || s.rfind("git@", 0) == 0 || s.rfind("ssh://", 0) == 0) return true;
  if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) {
    std::string path = base.substr(0, base.find('?'));
    return path.size() > 4 && path.compare(path.size() - 4, 4, ".git") == 0;
  }
  return false;
}
bool is_http_source(const std::string& s) {
  return (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) && !is_git_source(s);
}

// nat.ParsePortSpecs for EXPOSE: "port[-end][/proto]" (an "ip:host:" prefix is
// accepted and ignored). Returns the ExposedPorts keys.
util::Result<std::vector<std::string>> port_keys(const std::string& spec) {
  std::string s = spec;
  std::string proto = "tcp";
  auto slash = s.rfind('/');
  if (slash != std::string::npos) {
    proto = ascii_lower(s.substr(slash + 1));
    s = s.substr(0, slash);
    if (proto.empty()) proto = "tcp";
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return util::Error{"invalid proto: " + proto};
  auto colon = s.rfind(':');
  if (colon != std::string::npos) s = s.substr(colon + 1);
  auto parse_port = [&](const std::string& p) -> util::Result<unsigned> {
    if (p.empty() || p.size() > 5) return util::Error{"invalid containerPort: " + s};
    unsigned v = 0;
    for (char c : p) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return util::Error{"invalid containerPort: " + s};
      v = v * 10 + (c - '0');
    }
    if (v > 65535) return util::Error{"invalid containerPort: " + s};
    return v;
  };
  unsigned start, end;
  auto dash = s.find('-');
  if (dash != std::string::npos) {
    MKIMAGE_TRY(start, parse_port(s.substr(0, dash)));
    MKIMAGE_TRY(end, parse_port(s.substr(dash + 1)));
    if (end < start) return util::Error{"invalid range specified for container port: " + s};
  } else {
    MKIMAGE_TRY(start, parse_port(s));
    end = start;
  }
  std::vector<std::string> out;
  for (unsigned p = start; p <= end; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

bool valid_signal(const std::string& raw) {
  bool digits = !raw.empty();
  std::size_t i = (!raw.empty() && (raw[0] == '-' || raw[0] == '+')) ? 1 : 0;
  if (i == raw.size()) digits = false;
  for (std::size_t k = i; digits && k < raw.size(); ++k) digits = std::isdigit(static_cast<unsigned char>(raw[k]));
  if (digits) {
    try {
      return std::stoll(raw) != 0;
    } catch (...) {
      return false;
    }
  }
  std::string s = ascii_upper(raw);
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const std::vector<std::string> names = {
      "ABRT", "ALRM", "BUS",  "CHLD", "CLD",  "CONT", "FPE",    "HUP",  "ILL",  "INT",  "IO",   "IOT",
      "KILL", "PIPE", "POLL", "PROF", "PWR",  "QUIT", "SEGV",   "STKFLT", "STOP", "SYS", "TERM", "TRAP",
      "TSTP", "TTIN", "TTOU", "URG",  "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
  if (std::find(names.begin(), names.end(), s) != names.end()) return true;
  for (int k = 1; k <= 15; ++k) {
    if (s == "RTMIN+" + std::to_string(k) || s == "RTMAX-" + std::to_string(k)) return true;
  }
  return false;
}

class Dispatcher {
public:
  Dispatcher(const PlanOptions& opts, const Diag& diag, const EnvList& global, char escape)
      : m_opts(opts), m_diag(diag), m_global(global) {
    m_lex.escape = escape;
    m_special = std::string("$'\"\\") + escape;
  }

  util::Result<void> dispatch(const StageDraft& d, State& st, Stage& out);

private:
  util::Result<std::string> word(const Command& c, const State& st, const std::string& w,
                                 const std::string& token = "") {
    // Fast path: without `$`, quotes or the escape character the lexer returns
    // the word unchanged.
    if (w.find_first_of(m_special) == std::string::npos) return w;
    auto r = expand_word(w, st.env, m_lex);
    if (!r.ok()) return m_diag.at(c.range, r.error().message, token);
    return r;
  }
  util::Result<void> step(const Command& c, State& st, Stage& out, int index);

  // A path-like argument after expansion (COPY/ADD source and destination,
  // WORKDIR, VOLUME, RUN --mount source and target) must not hold a NUL byte:
  // no file system path can, and cutting it there would name another file
  // (one .dockerignore leaves out). `raw` is the word as written: the caret
  // points at it (up to a NUL it holds itself).
  util::Result<void> no_nul(const Command& c, const std::string& what, const std::string& value,
                            const std::string& raw) const {
    if (value.find('\0') == std::string::npos) return {};
    return m_diag.at(c.range, what + " " + go_quote(value) + " is not a valid path: it contains a NUL byte",
                     raw.substr(0, raw.find('\0')));
  }

  const PlanOptions& m_opts;
  const Diag& m_diag;
  const EnvList& m_global;
  ShellLexerOptions m_lex;
  std::string m_special;  // characters that make expansion do something
  const std::vector<StageDraft>* m_drafts = nullptr;
  std::map<std::string, int> m_names;

public:
  void set_stages(const std::vector<StageDraft>& drafts) {
    m_drafts = &drafts;
    for (const auto& d : drafts) {
      if (!d.from.name.empty()) m_names[d.from.name] = d.index;
    }
  }
};

util::Result<void> Dispatcher::dispatch(const StageDraft& d, State& st, Stage& out) {
  // Base image config: PATH default, config Env into the state env, WorkingDir, User.
  if ((d.base.kind == StageBase::Kind::image || d.base.kind == StageBase::Kind::context) && d.image_info) {
    st.config_env = d.image_info->env;
    st.workdir = d.image_info->working_dir;
    st.user = d.image_info->user;
    st.shell = d.image_info->shell;
  }
  bool has_path = false;
  for (const auto& e : st.config_env) has_path |= kv_key(e) == "PATH";
  if (!has_path) st.config_env.push_back(k_default_path);
  st.config_env_at.clear();
  for (std::size_t i = 0; i < st.config_env.size(); ++i) st.config_env_at.try_emplace(kv_key(st.config_env[i]), i);
  for (const auto& e : st.config_env) {
    auto eq = e.find('=');
    st.env.set(e.substr(0, eq), eq == std::string::npos ? "" : e.substr(eq + 1));
  }
  st.cmd_set = false;
  out.steps.reserve(d.commands.size());
  for (std::size_t i = 0; i < d.commands.size(); ++i) {
    MKIMAGE_TRY_VOID(step(d.commands[i], st, out, static_cast<int>(i)));
  }
  out.cmd_set = st.cmd_set;
  out.config_env = st.config_env;
  return {};
}

util::Result<void> Dispatcher::step(const Command& c, State& st, Stage& out, int index) {
  (void)index;
  Step s;
  s.instruction = c.instruction;
  s.keyword = c.keyword;
  s.range = c.range;
  s.original = c.original;
  s.from_onbuild = c.from_onbuild;
  s.workdir = st.workdir;
  s.user = st.user;
  s.shell = effective_shell(st);
  s.empty_layer = true;
  Instruction& ins = s.instruction;

  if (auto* e = std::get_if<EnvInstruction>(&ins)) {
    // All pairs are expanded against the environment before this ENV.
    for (auto& kv : e->pairs) {
      MKIMAGE_TRY(kv.key, word(c, st, kv.key, kv.key));
      MKIMAGE_TRY(kv.value, word(c, st, kv.value, kv.value));
    }
    std::string msg = "ENV";
    for (const auto& kv : e->pairs) {
      msg += " " + kv.key + "=" + kv.value;
      st.env.set(kv.key, kv.value);
      add_config_env(st, kv.key, kv.value);
    }
    s.created_by = msg;
  } else if (auto* l = std::get_if<LabelInstruction>(&ins)) {
    std::string msg = "LABEL";
    for (auto& kv : l->pairs) {
      MKIMAGE_TRY(kv.key, word(c, st, kv.key, kv.key));
      MKIMAGE_TRY(kv.value, word(c, st, kv.value, kv.value));
      msg += " " + kv.key + "=" + kv.value;
    }
    s.created_by = msg;
  } else if (auto* a = std::get_if<ArgInstruction>(&ins)) {
    std::vector<std::string> parts;
    for (auto& decl : a->args) {
      auto given = m_opts.build_args.find(decl.key);
      bool has_value = given != m_opts.build_args.end();
      bool has_default = decl.value.has_value();
      if (!has_default && !has_value) {
        if (auto g = m_global.get(decl.key)) decl.value = *g;
      }
      if (has_value) {
        decl.value = given->second;
      } else if (has_default) {
        MKIMAGE_TRY(decl.value, word(c, st, *decl.value, decl.key));
      }
      if (decl.value && decl.key != "BUILDKIT_SBOM_SCAN_CONTEXT" && decl.key != "BUILDKIT_SBOM_SCAN_STAGE") {
        st.env.set(decl.key, *decl.value);
      }
      st.build_args.push_back(decl);
      parts.push_back(decl.value ? decl.key + "=" + *decl.value : decl.key);
    }
    s.created_by = "ARG " + join(parts, " ");
  } else if (auto* r = std::get_if<RunInstruction>(&ins)) {
    // Mounts: expand every value, then defaults (convert_runmount.go).
    r->mounts.clear();
    for (const auto& csv : r->mount_csv) {
      std::string err_token = csv;
      auto m = parse_mount(csv, [&](const std::string& w) -> util::Result<std::string> {
        auto v = expand_word(w, st.env, m_lex);
        if (!v.ok()) return util::Error{v.error().message};
        return v;
      });
      if (!m.ok()) return m_diag.at(c.range, m.error().message, err_token);
      MountSpec mount = *m;
      MKIMAGE_TRY_VOID(no_nul(c, "mount source", mount.source, err_token));
      MKIMAGE_TRY_VOID(no_nul(c, "mount target", mount.target, err_token));
      if (mount.type == MountSpec::Type::secret) {
        if (mount.id.empty() && !mount.target.empty()) {
          mount.id = mount.target.substr(mount.target.find_last_of('/') + 1);
        }
        if (mount.id.empty()) mount.id = mount.source;  // `source` names the secret too
        if (mount.target.empty() && mount.env.empty()) mount.target = "/run/secrets/" + mount.id;
      } else if (mount.type == MountSpec::Type::ssh) {
        if (mount.id.empty()) mount.id = "default";
      } else if (mount.target.empty()) {
        return m_diag.at(c.range, "mount target is required for " + go_quote(MountSpec::type_name(mount.type)) +
                                      " mounts", err_token);
      }
      if (mount.type == MountSpec::Type::cache && mount.id.empty()) mount.id = mount.target;
      if (!mount.target.empty()) {
        std::string target = is_abs(mount.target) ? path_clean(mount.target)
                                                  : path_join("/" + st.workdir, mount.target);
        if (target == "/") return m_diag.at(c.range, "invalid mount target " + go_quote(target), err_token);
        mount.target = target;
      }
      if (!mount.from.empty()) {
        auto it = m_names.find(ascii_lower(mount.from));
        if (it != m_names.end()) {
          mount.from_stage = it->second;
        } else if (std::find(out.images_used.begin(), out.images_used.end(), mount.from) == out.images_used.end()) {
          out.images_used.push_back(mount.from);
        }
      }
      r->mounts.push_back(mount);
    }
    // BuildKit's default ssh socket targets: /run/buildkit/ssh_agent.N, N the
    // index among the step's ssh mounts.
    int ssh_index = 0;
    for (auto& mount : r->mounts) {
      if (mount.type != MountSpec::Type::ssh) continue;
      if (mount.target.empty()) mount.target = "/run/buildkit/ssh_agent." + std::to_string(ssh_index);
      ++ssh_index;
    }
    // argv (dispatchRun): heredoc forms, then the shell.
    std::vector<std::string> args = r->command;
    r->script.reset();
    if (!r->heredocs.empty()) {
      if (args.size() != 1 || !r->shell_form) {
        return m_diag.at(c.range, "parsing produced an invalid run command: " + go_quote_list(args));
      }
      if (parse_heredoc_word(args[0])) {
        const InlineFile& f = r->heredocs[0];
        if (f.content.rfind("#!", 0) == 0) {
          InlineFile script = f;
          r->script = script;
          args = {"/dev/pipes/" + f.name};
        } else {
          args = {f.content};
        }
      } else {
        std::string text = args[0];
        for (const auto& f : r->heredocs) text += "\n" + f.content + f.name;
        args = {text};
      }
    }
    r->argv = r->shell_form ? with_shell(st, args) : args;
    // Environment: state env; proxy build args not declared stay separate.
    for (const auto& [k, v] : st.env.vars()) s.env.push_back(k + "=" + v);
    for (auto& kv : proxy_env(m_opts.build_args)) {
      if (!st.env.get(kv_key(kv))) s.proxy_env.push_back(std::move(kv));
    }
    // runCommandString: "|N k=v ..." from the stage's build args.
    std::vector<std::string> kvs;
    std::map<std::string, std::size_t> idx;
    for (const auto& decl : st.build_args) {
      auto v = st.env.get(decl.key);
      std::optional<std::string> value = v ? v : decl.value;
      std::string entry = decl.key + "=" + value.value_or("");
      auto it = idx.find(decl.key);
      if (it != idx.end()) {
        kvs[it->second] = entry;
        s.build_args[it->second].second = value;
      } else {
        idx[decl.key] = kvs.size();
        kvs.push_back(entry);
        s.build_args.emplace_back(decl.key, value);
      }
    }
    std::string history;
    if (!kvs.empty()) history = "|" + std::to_string(kvs.size()) + " " + join(kvs, " ") + " ";
    s.created_by = "RUN " + history + join(r->argv, " ") + " # buildkit";
    s.empty_layer = false;
  } else if (auto* cmd = std::get_if<CmdInstruction>(&ins)) {
    cmd->argv = cmd->shell_form ? with_shell(st, cmd->command) : cmd->command;
    st.cmd_set = true;
    s.created_by = "CMD " + go_quote_list(cmd->argv);
  } else if (auto* ep = std::get_if<EntrypointInstruction>(&ins)) {
    ep->argv = ep->shell_form ? with_shell(st, ep->command) : ep->command;
    ep->clears_cmd = !st.cmd_set;
    s.created_by = "ENTRYPOINT " + go_quote_list(ep->argv);
  } else if (auto* sh = std::get_if<ShellInstruction>(&ins)) {
    st.shell = sh->shell;
    s.created_by = "SHELL [" + join(sh->shell, " ") + "]";
  } else if (auto* h = std::get_if<HealthcheckInstruction>(&ins)) {
    s.created_by = "HEALTHCHECK {Test:[" + join(h->test, " ") + "] Interval:" + format_go_duration(h->interval_ns) +
                   " Timeout:" + format_go_duration(h->timeout_ns) +
                   " StartPeriod:" + format_go_duration(h->start_period_ns) +
                   " StartInterval:" + format_go_duration(h->start_interval_ns) +
                   " Retries:" + std::to_string(h->retries) + "}";
  } else if (auto* ex = std::get_if<ExposeInstruction>(&ins)) {
    // BuildKit sorts the ports as written (instructions.parseExpose), then
    // records "EXPOSE [80/tcp 53/udp]" (dispatchExpose: every port/proto in order).
    std::vector<std::string> written = ex->ports;
    std::sort(written.begin(), written.end());
    std::vector<std::string> ports;
    std::vector<std::string> history;
    for (const auto& p : written) {
      auto words = expand_words(p, st.env, m_lex);
      if (!words.ok()) return m_diag.at(c.range, words.error().message, p);
      ports.insert(ports.end(), words->begin(), words->end());
    }
    ex->ports = ports;
    ex->port_keys.clear();
    for (const auto& p : ports) {
      auto keys = port_keys(p);
      if (!keys.ok()) return m_diag.at(c.range, keys.error().message, p);
      history.insert(history.end(), keys->begin(), keys->end());
      for (const auto& k : *keys) {
        if (std::find(ex->port_keys.begin(), ex->port_keys.end(), k) == ex->port_keys.end()) {
          ex->port_keys.push_back(k);
        }
      }
    }
    s.created_by = "EXPOSE [" + join(history, " ") + "]";
  } else if (auto* vol = std::get_if<VolumeInstruction>(&ins)) {
    for (auto& v : vol->volumes) {
      std::string raw = v;
      MKIMAGE_TRY(v, word(c, st, v, raw));
      if (v.empty()) return m_diag.at(c.range, "VOLUME specified can not be an empty string", raw);
      MKIMAGE_TRY_VOID(no_nul(c, "VOLUME", v, raw));
    }
    s.created_by = "VOLUME [" + join(vol->volumes, " ") + "]";
  } else if (auto* u = std::get_if<UserInstruction>(&ins)) {
    MKIMAGE_TRY(u->user, word(c, st, u->user));
    st.user = u->user;
    s.created_by = "USER " + u->user;
  } else if (auto* w = std::get_if<WorkdirInstruction>(&ins)) {
    std::string raw_workdir = w->path;
    MKIMAGE_TRY(w->path, word(c, st, w->path));
    if (w->path.empty()) return m_diag.at(c.range, "normalizing workdir: cannot normalize nothing");
    MKIMAGE_TRY_VOID(no_nul(c, "WORKDIR", w->path, raw_workdir));
    w->resolved = is_abs(w->path) ? w->path : path_join("/" + st.workdir, w->path);
    st.workdir = w->resolved;
    s.created_by = "WORKDIR " + w->resolved;
    s.empty_layer = w->resolved == "/";
  } else if (auto* sig = std::get_if<StopSignalInstruction>(&ins)) {
    MKIMAGE_TRY(sig->signal, word(c, st, sig->signal));
    if (!valid_signal(sig->signal)) return m_diag.at(c.range, "Invalid signal: " + sig->signal);
    s.created_by = "STOPSIGNAL " + sig->signal;
  } else if (auto* mt = std::get_if<MaintainerInstruction>(&ins)) {
    s.created_by = "MAINTAINER " + mt->maintainer;
  } else if (std::holds_alternative<OnbuildInstruction>(ins)) {
    s.adds_history = false;
  } else if (auto* cp = std::get_if<CopyInstruction>(&ins)) {
    const std::string kw = cp->add ? "ADD" : "COPY";
    for (auto& src : cp->sources) {
      std::string raw = src;
      MKIMAGE_TRY(src, word(c, st, src, raw));
      MKIMAGE_TRY_VOID(no_nul(c, kw + " source", src, raw));
    }
    {
      std::string raw = cp->dest;
      MKIMAGE_TRY(cp->dest, word(c, st, cp->dest, raw));
      MKIMAGE_TRY_VOID(no_nul(c, kw + " destination", cp->dest, raw));
    }
    if (!cp->chown.empty()) {
      MKIMAGE_TRY(cp->chown, word(c, st, cp->chown, "--chown"));
    }
    if (!cp->chmod.empty()) {
      MKIMAGE_TRY(cp->chmod, word(c, st, cp->chmod, "--chmod"));
    }
    if (!cp->checksum.empty()) {
      MKIMAGE_TRY(cp->checksum, word(c, st, cp->checksum, "--checksum"));
    }
    for (auto& f : cp->inline_sources) {
      if (!f.expand) continue;
      ShellLexerOptions raw_opts;  // BuildKit expands heredoc bodies with '\\' as escape
      auto body = expand_heredoc(f.content, st.env, raw_opts);
      if (!body.ok()) return m_diag.at(c.range, body.error().message, "<<");
      f.content = *body;
    }
    // --chmod: octal <= 07777 or symbolic.
    cp->chmod_mode.reset();
    if (!cp->chmod.empty()) {
      std::string nonoctal = "invalid chmod parameter: '" + cp->chmod + "'. it should be octal string and between 0 and 07777";
      bool octal = std::all_of(cp->chmod.begin(), cp->chmod.end(), [](char ch) { return ch >= '0' && ch <= '7'; });
      bool numeric = std::all_of(cp->chmod.begin(), cp->chmod.end(),
                                 [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; });
      if (octal && cp->chmod.size() <= 11) {
        unsigned long v = std::stoul(cp->chmod, nullptr, 8);
        if (v > 07777) return m_diag.at(c.range, nonoctal, "--chmod");
        cp->chmod_mode = static_cast<std::uint32_t>(v);
      } else if (numeric || !is_symbolic_mode(cp->chmod)) {
        return m_diag.at(c.range, nonoctal, "--chmod");
      }
    }
    // Source kinds.
    for (const auto& src : cp->sources) {
      if (!cp->add && is_git_source(src)) return m_diag.at(c.range, "source can't be a git ref for COPY", src);
      if (!cp->add && is_http_source(src)) return m_diag.at(c.range, "source can't be a URL for COPY", src);
    }
    if (!cp->checksum.empty()) {
      if (cp->sources.size() + cp->inline_sources.size() != 1) {
        return m_diag.at(c.range, "checksum can't be specified for multiple sources", "--checksum");
      }
      if (cp->sources.empty() || (!is_http_source(cp->sources[0]) && !is_git_source(cp->sources[0]))) {
        return m_diag.at(c.range, "checksum requires HTTP(S) or Git sources", "--checksum");
      }
      if (is_http_source(cp->sources[0])) {
        auto colon = cp->checksum.find(':');
        std::string algo = cp->checksum.substr(0, colon);
        if (colon == std::string::npos) return m_diag.at(c.range, "invalid checksum digest format", "--checksum");
        if (algo != "sha256") return m_diag.at(c.range, "unsupported digest algorithm", "--checksum");
        std::string hex = cp->checksum.substr(colon + 1);
        bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char ch) {
                    return std::isdigit(static_cast<unsigned char>(ch)) || (ch >= 'a' && ch <= 'f');
                  });
        if (!ok) return m_diag.at(c.range, "invalid checksum digest length", "--checksum");
      }
    }
    cp->resolved_dest = resolve_dest(st.workdir, cp->dest);
    // Several listed sources need a directory destination ending in '/'
    // (wildcards are checked by the builder, once matched).
    if (cp->sources.size() + cp->inline_sources.size() > 1 && cp->resolved_dest.back() != '/') {
      return m_diag.at(c.range,
                       "When using " + kw + " with more than one source file, the destination must be a directory and "
                       "end with a /",
                       cp->dest);
    }
    if (!cp->from_image.empty() &&
        std::find(out.images_used.begin(), out.images_used.end(), cp->from_image) == out.images_used.end()) {
      out.images_used.push_back(cp->from_image);
    }
    std::string msg = kw;
    if (cp->parents) msg += " --parents";
    if (!cp->chown.empty()) msg += " --chown=" + cp->chown;
    if (!cp->chmod.empty()) msg += " --chmod=" + cp->chmod;
    for (const auto& src : cp->sources) msg += " " + src;
    for (const auto& f : cp->inline_sources) msg += " <<" + f.name;
    msg += " " + cp->dest;
    s.created_by = msg + " # buildkit";
    s.empty_layer = false;
  }
  out.steps.push_back(std::move(s));
  return {};
}

}  // namespace

util::Result<void> dispatch_stages(const Ast& ast, const PlanOptions& opts, const Diag& diag,
                                   std::vector<StageDraft>& drafts, const std::vector<int>& order,
                                   const EnvList& global_args, Plan& plan) {
  Dispatcher dispatcher(opts, diag, global_args, ast.directives.escape);
  dispatcher.set_stages(drafts);
  // A stage's final state is kept only until the last stage built on it has
  // copied it (the last one takes it): a chain of N stages holds O(1) states.
  std::map<int, int> uses;
  for (int index : order) {
    const StageDraft& d = drafts[index];
    if (d.base.kind == StageBase::Kind::stage) ++uses[d.base.stage];
  }
  std::map<int, State> final_states;
  for (int index : order) {
    const StageDraft& d = drafts[index];
    Stage out;
    out.index = d.index;
    out.name = d.from.name;
    out.base = d.base;
    out.from = d.from;
    out.range = d.range;
    out.original = d.original;
    State st;
    if (d.base.kind == StageBase::Kind::stage) {
      auto it = final_states.find(d.base.stage);
      if (it != final_states.end()) {
        if (--uses[d.base.stage] == 0) {
          st = std::move(it->second);
          final_states.erase(it);
        } else {
          st = it->second;
        }
      }
    }
    MKIMAGE_TRY_VOID(dispatcher.dispatch(d, st, out));
    if (uses[index] > 0) final_states[index] = std::move(st);
    plan.stages.push_back(std::move(out));
  }
  return {};
}

}  // namespace mkimage::graph::detail
