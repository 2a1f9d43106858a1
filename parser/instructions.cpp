// AST node → typed instruction, with BuildKit's per-instruction validation
// (frontend/dockerfile/instructions: parse.go, bflag.go).
#include "parser/instructions.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>

#include "parser/instructions_internal.hpp"
#include "parser/syntax_internal.hpp"
#include "parser/text.hpp"

namespace mkimage::parser {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n\v\f");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r\n\v\f");
  return s.substr(b, e - b + 1);
}

}  // namespace

// ---------------------------------------------------------------------------
// Flags (bflag.go)

const char* MountSpec::type_name(Type t) {
  switch (t) {
    case Type::bind: return "bind";
    case Type::cache: return "cache";
    case Type::tmpfs: return "tmpfs";
    case Type::secret: return "secret";
    case Type::ssh: return "ssh";
  }
  return "bind";
}

util::Result<ParsedFlags> parse_flags(const std::vector<std::string>& words, const std::vector<FlagSpec>& specs,
                                      std::string* token) {
  ParsedFlags out;
  for (const auto& word : words) {
    if (word.rfind("--", 0) != 0) {
      if (token) *token = word;
      return util::Error{"arg should start with -- : " + word};
    }
    if (word == "--") break;
    std::string arg = word.substr(2);
    std::string value;
    auto eq = arg.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (token) *token = word;
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& f) { return f.name == arg; });
    if (spec == specs.end()) {
      std::vector<std::string> names;
      for (const auto& f : specs) names.push_back(f.name);
      return util::Error{"unknown flag: --" + arg + did_you_mean(arg, names, true)};
    }
    if (out.used.count(arg) && spec->type != FlagType::strings) {
      return util::Error{"duplicate flag specified: --" + arg};
    }
    out.used.insert(arg);
    switch (spec->type) {
      case FlagType::boolean: {
        if (has_value && value.empty()) return util::Error{"missing a value on flag: --" + arg};
        std::string l = ascii_lower(value);
        if (l.empty()) out.values[arg] = "true";
        else if (l == "true" || l == "false") out.values[arg] = l;
        else return util::Error{"expecting boolean value for flag --" + arg + ", not: " + value};
        break;
      }
      case FlagType::string:
        if (!has_value) return util::Error{"missing a value on flag: --" + arg};
        out.values[arg] = value;
        break;
      case FlagType::strings:
        if (!has_value) return util::Error{"missing a value on flag: --" + arg};
        out.lists[arg].push_back(value);
        break;
    }
  }
  if (token) token->clear();
  return out;
}

std::optional<HeredocWord> parse_heredoc_word(const std::string& word) {
  // The same rule as the heredoc reader (parser/heredoc.cpp), so every word whose
  // body was read is an inline source here.
  auto doc = syntax::parse_heredoc_word(word);
  if (!doc) return std::nullopt;
  HeredocWord h;
  h.name = doc->name;
  h.strip_tabs = doc->strip_tabs;
  h.quoted = !doc->expand;
  return h;
}

// ---------------------------------------------------------------------------

namespace {

using R = util::Result<Instruction>;

struct Req {
  const Node& node;
  std::string keyword;   // upper case
  InstructionError* detail;
};

util::Error fail(const Req& rq, const std::string& message, const std::string& token = "") {
  if (rq.detail) {
    rq.detail->message = message;
    rq.detail->token = token;
  }
  return util::Error{message};
}

// Parses node.flags against `specs`; on error fills detail.
util::Result<ParsedFlags> flags(const Req& rq, const std::vector<FlagSpec>& specs) {
  std::string token;
  auto r = parse_flags(rq.node.flags, specs, &token);
  if (!r.ok()) return fail(rq, r.error().message, token);
  return r;
}

std::string err_at_least_one(const std::string& c) { return c + " requires at least one argument"; }
std::string err_exactly_one(const std::string& c) { return c + " requires exactly one argument"; }

// handleJSONArgs: JSON form keeps the elements; otherwise one string.
std::vector<std::string> json_args(const Node& n) {
  if (n.json_form) return n.args;
  std::string joined;
  for (std::size_t i = 0; i < n.args.size(); ++i) {
    if (i) joined += " ";
    joined += n.args[i];
  }
  if (n.args.empty()) return {};
  return {joined};
}

std::vector<KeyValue> kv_pairs(const Node& n) {
  std::vector<KeyValue> out;
  for (std::size_t i = 0; i + 1 < n.args.size(); i += 3) {
    KeyValue kv;
    kv.key = n.args[i];
    kv.value = n.args[i + 1];
    kv.legacy = i + 2 < n.args.size() ? n.args[i + 2].empty() : true;
    out.push_back(kv);
  }
  return out;
}

R parse_kv(const Req& rq, bool env) {
  MKIMAGE_TRY_VOID(flags(rq, {}));
  if (rq.node.args.empty()) return fail(rq, err_at_least_one(rq.keyword));
  auto pairs = kv_pairs(rq.node);
  for (const auto& p : pairs) {
    if (p.key.empty()) return fail(rq, rq.keyword + " names can not be blank");
  }
  if (env) return Instruction{EnvInstruction{pairs}};
  return Instruction{LabelInstruction{pairs}};
}

R parse_from(const Req& rq) {
  const auto& a = rq.node.args;
  FromInstruction f;
  if (a.size() == 3 && ascii_lower(a[1]) == "as") {
    f.name = ascii_lower(a[2]);
    static const std::regex valid("^[a-z][a-z0-9-_.]*$");
    if (!std::regex_match(f.name, valid)) {
      return fail(rq, "invalid name for build stage: " + go_quote(a[2]) +
                          ", name can't start with a number or contain symbols",
                  a[2]);
    }
  } else if (a.size() != 1) {
    return fail(rq, "FROM requires either one or three arguments", a.size() > 1 ? a[1] : "");
  }
  MKIMAGE_TRY(auto fl, flags(rq, {{"platform", FlagType::string}}));
  f.image = a[0];
  f.platform = fl.get("platform");
  return Instruction{f};
}

util::Result<CopyInstruction> sources_and_dest(const Req& rq, CopyInstruction c) {
  const auto& a = rq.node.args;
  c.dest = a.back();
  if (parse_heredoc_word(c.dest)) {
    return fail(rq, rq.keyword + " cannot accept a heredoc as a destination", c.dest);
  }
  for (std::size_t i = 0; i + 1 < a.size(); ++i) {
    auto h = parse_heredoc_word(a[i]);
    if (h && !rq.node.json_form) {
      InlineFile f;
      f.name = h->name;
      f.expand = !h->quoted;
      f.strip_tabs = h->strip_tabs;
      for (const auto& hd : rq.node.heredocs) {
        if (hd.name == h->name) {
          f.content = hd.content;
          f.expand = hd.expand;
        }
      }
      c.inline_sources.push_back(f);
    } else {
      c.sources.push_back(a[i]);
    }
  }
  return c;
}

R parse_copy(const Req& rq, bool add) {
  if (rq.node.args.size() < 2) {
    return fail(rq, rq.keyword +
                        " requires at least two arguments, but only one was provided. Destination could not be "
                        "determined");
  }
  std::vector<FlagSpec> specs;
  if (add) {
    specs = {{"chown", FlagType::string},    {"chmod", FlagType::string},  {"link", FlagType::boolean},
             {"keep-git-dir", FlagType::boolean}, {"checksum", FlagType::string}, {"unpack", FlagType::boolean},
             {"exclude", FlagType::strings}};
  } else {
    specs = {{"chown", FlagType::string},   {"from", FlagType::string},    {"chmod", FlagType::string},
             {"link", FlagType::boolean},   {"parents", FlagType::boolean}, {"exclude", FlagType::strings}};
  }
  MKIMAGE_TRY(auto fl, flags(rq, specs));
  CopyInstruction c;
  c.add = add;
  c.chown = fl.get("chown");
  c.chmod = fl.get("chmod");
  c.link = fl.get("link") == "true";
  c.excludes = fl.list("exclude");
  if (add) {
    c.checksum = fl.get("checksum");
    if (fl.used.count("keep-git-dir")) c.keep_git_dir = fl.get("keep-git-dir") == "true";
    if (fl.used.count("unpack")) c.unpack = fl.get("unpack") == "true";
  } else {
    c.from = fl.get("from");
    c.parents = fl.get("parents") == "true";
  }
  MKIMAGE_TRY(c, sources_and_dest(rq, std::move(c)));
  return Instruction{c};
}

R parse_onbuild(const Req& rq) {
  if (!rq.node.onbuild && rq.node.args.empty()) return fail(rq, err_at_least_one("ONBUILD"));
  MKIMAGE_TRY_VOID(flags(rq, {}));
  std::string trigger = rq.node.onbuild ? ascii_upper(rq.node.onbuild->keyword) : ascii_upper(trim(rq.node.args[0]));
  if (trigger == "ONBUILD") return fail(rq, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger == "MAINTAINER" || trigger == "FROM") {
    return fail(rq, trigger + " isn't allowed as an ONBUILD trigger");
  }
  if (rq.node.onbuild) {
    // The trigger must itself be a valid instruction.
    InstructionError inner;
    auto t = parse_instruction(*rq.node.onbuild, &inner);
    if (!t.ok()) return fail(rq, inner.message, inner.token);
  }
  static const std::regex prefix(R"(^\s*[Oo][Nn][Bb][Uu][Ii][Ll][Dd]\s*)");
  std::string expr = std::regex_replace(rq.node.original, prefix, "", std::regex_constants::format_first_only);
  const auto& heredocs = rq.node.onbuild ? rq.node.onbuild->heredocs : rq.node.heredocs;
  for (const auto& h : heredocs) expr += "\n" + h.content + h.name;
  return Instruction{OnbuildInstruction{expr}};
}

R parse_one_arg(const Req& rq, int which) {
  if (rq.node.args.size() != 1) return fail(rq, err_exactly_one(rq.keyword));
  if (which != 3) MKIMAGE_TRY_VOID(flags(rq, {}));  // STOPSIGNAL never validates flags
  const std::string& v = rq.node.args[0];
  switch (which) {
    case 0: return Instruction{MaintainerInstruction{v}};
    case 1: return Instruction{WorkdirInstruction{v, ""}};
    case 2: return Instruction{UserInstruction{v}};
    default: return Instruction{StopSignalInstruction{v}};
  }
}

R parse_cmd_like(const Req& rq, bool entrypoint) {
  MKIMAGE_TRY_VOID(flags(rq, {}));
  auto args = json_args(rq.node);
  if (entrypoint) {
    EntrypointInstruction e;
    e.command = args;
    e.shell_form = !rq.node.json_form;
    return Instruction{e};
  }
  CmdInstruction c;
  c.command = args;
  c.shell_form = !rq.node.json_form;
  return Instruction{c};
}

R parse_shell(const Req& rq) {
  MKIMAGE_TRY_VOID(flags(rq, {}));
  auto args = json_args(rq.node);
  if (args.empty()) return fail(rq, err_at_least_one("SHELL"));
  if (!rq.node.json_form) return fail(rq, "SHELL requires the arguments to be in JSON form");
  return Instruction{ShellInstruction{args}};
}

R parse_healthcheck(const Req& rq) {
  const auto& a = rq.node.args;
  if (a.empty()) return fail(rq, err_at_least_one("HEALTHCHECK"));
  HealthcheckInstruction h;
  std::string typ = ascii_upper(a[0]);
  if (typ == "NONE") {
    if (a.size() != 1) return fail(rq, "HEALTHCHECK NONE takes no arguments");
    h.test = {"NONE"};
    return Instruction{h};
  }
  MKIMAGE_TRY(auto fl, flags(rq, {{"interval", FlagType::string},
                                  {"timeout", FlagType::string},
                                  {"start-period", FlagType::string},
                                  {"start-interval", FlagType::string},
                                  {"retries", FlagType::string}}));
  if (typ != "CMD") return fail(rq, "Unknown type " + go_quote(typ) + " in HEALTHCHECK (try CMD)", a[0]);
  std::vector<std::string> cmd(a.begin() + 1, a.end());
  if (!rq.node.json_form && !cmd.empty()) {
    std::string joined;
    for (std::size_t i = 0; i < cmd.size(); ++i) joined += (i ? " " : "") + cmd[i];
    cmd = {joined};
  }
  if (cmd.empty()) return fail(rq, "Missing command after HEALTHCHECK CMD");
  h.test.push_back(rq.node.json_form ? "CMD" : "CMD-SHELL");
  h.test.insert(h.test.end(), cmd.begin(), cmd.end());
  struct D {
    const char* name;
    std::int64_t* out;
  };
  for (D d : {D{"interval", &h.interval_ns}, D{"timeout", &h.timeout_ns}, D{"start-period", &h.start_period_ns},
              D{"start-interval", &h.start_interval_ns}}) {
    std::string v = fl.get(d.name);
    if (v.empty()) continue;
    auto ns = parse_go_duration(v);
    if (!ns.ok()) return fail(rq, ns.error().message, "--" + std::string(d.name));
    if (*ns != 0 && *ns < 1000000) {
      return fail(rq, std::string("Interval ") + go_quote(d.name) + " cannot be less than 1ms", "--" + std::string(d.name));
    }
    *d.out = *ns;
  }
  std::string r = fl.get("retries");
  if (!r.empty()) {
    bool ok = !r.empty();
    std::size_t i = (r[0] == '-' || r[0] == '+') ? 1 : 0;
    if (i == r.size()) ok = false;
    for (std::size_t k = i; ok && k < r.size(); ++k) ok = std::isdigit(static_cast<unsigned char>(r[k])) != 0;
    long long v = 0;
    if (ok) {
      try {
        v = std::stoll(r);
      } catch (...) {
        ok = false;
      }
      if (ok && (v > 2147483647LL || v < -2147483648LL)) {
        return fail(rq, "strconv.ParseInt: parsing " + go_quote(r) + ": value out of range", "--retries");
      }
    }
    if (!ok) return fail(rq, "strconv.ParseInt: parsing " + go_quote(r) + ": invalid syntax", "--retries");
    if (v < 0) return fail(rq, "--retries cannot be negative (" + std::to_string(v) + ")", "--retries");
    h.retries = static_cast<int>(v);
  }
  return Instruction{h};
}

R parse_expose(const Req& rq) {
  if (rq.node.args.empty()) return fail(rq, err_at_least_one("EXPOSE"));
  MKIMAGE_TRY_VOID(flags(rq, {}));
  ExposeInstruction e;
  e.ports = rq.node.args;
  std::sort(e.ports.begin(), e.ports.end());
  return Instruction{e};
}

R parse_volume(const Req& rq) {
  if (rq.node.args.empty()) return fail(rq, err_at_least_one("VOLUME"));
  MKIMAGE_TRY_VOID(flags(rq, {}));
  VolumeInstruction v;
  for (const auto& a : rq.node.args) {
    std::string t = trim(a);
    if (t.empty()) return fail(rq, "VOLUME specified can not be an empty string");
    v.volumes.push_back(t);
  }
  return Instruction{v};
}

R parse_arg(const Req& rq) {
  if (rq.node.args.empty()) return fail(rq, err_at_least_one("ARG"));
  ArgInstruction a;
  for (const auto& w : rq.node.args) {
    ArgDeclaration d;
    auto eq = w.find('=');
    if (eq != std::string::npos) {
      if (eq == 0) return fail(rq, "ARG names can not be blank", w);
      d.key = w.substr(0, eq);
      d.value = w.substr(eq + 1);
    } else {
      d.key = w;
    }
    a.args.push_back(d);
  }
  return Instruction{a};
}

}  // namespace

R parse_run_instruction(const Node& node, InstructionError* detail);  // instructions_run.cpp

const std::vector<std::string>& instruction_names() {
  static const std::vector<std::string> names = {"ADD",        "ARG",        "CMD",   "COPY",    "ENTRYPOINT",
                                                 "ENV",        "EXPOSE",     "FROM",  "HEALTHCHECK", "LABEL",
                                                 "MAINTAINER", "ONBUILD",    "RUN",   "SHELL",   "STOPSIGNAL",
                                                 "USER",       "VOLUME",     "WORKDIR"};
  return names;
}

util::Result<Instruction> parse_instruction(const Node& node, InstructionError* detail) {
  Req rq{node, ascii_upper(node.keyword), detail};
  const std::string k = ascii_lower(node.keyword);
  if (k == "env") return parse_kv(rq, true);
  if (k == "label") return parse_kv(rq, false);
  if (k == "maintainer") return parse_one_arg(rq, 0);
  if (k == "add") return parse_copy(rq, true);
  if (k == "copy") return parse_copy(rq, false);
  if (k == "from") return parse_from(rq);
  if (k == "onbuild") return parse_onbuild(rq);
  if (k == "workdir") return parse_one_arg(rq, 1);
  if (k == "run") return parse_run_instruction(node, detail);
  if (k == "cmd") return parse_cmd_like(rq, false);
  if (k == "entrypoint") return parse_cmd_like(rq, true);
  if (k == "healthcheck") return parse_healthcheck(rq);
  if (k == "expose") return parse_expose(rq);
  if (k == "user") return parse_one_arg(rq, 2);
  if (k == "volume") return parse_volume(rq);
  if (k == "stopsignal") return parse_one_arg(rq, 3);
  if (k == "arg") return parse_arg(rq);
  if (k == "shell") return parse_shell(rq);
  // Unknown: name it as written (first word of the original line).
  std::string word = node.keyword;
  std::string orig = trim(node.original);
  if (!orig.empty()) {
    std::size_t end = orig.find_first_of(" \t");
    word = orig.substr(0, end);
  }
  return fail(rq, "unknown instruction: " + word + did_you_mean(word, instruction_names(), false));
}

}  // namespace mkimage::parser
