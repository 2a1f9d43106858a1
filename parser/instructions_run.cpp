// RUN: flags (--mount, --network, --security) and the --mount CSV syntax
// (BuildKit instructions/commands_runmount.go, commands_runnetwork.go,
// commands_runsecurity.go).
#include <algorithm>
#include <cctype>
#include <regex>

#include "parser/instructions.hpp"
#include "parser/instructions_internal.hpp"
#include "parser/text.hpp"

namespace mkimage::parser {

namespace {

// Go's encoding/csv reading one record (comma ',', quotes '"').
util::Result<std::vector<std::string>> read_csv_record(const std::string& s) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  if (s.empty()) return fields;
  while (true) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += s[i++];
      }
      if (!closed) {
        return util::Error{"failed to parse csv mounts: parse error on line 1, column " + std::to_string(s.size() + 1) +
                           ": extraneous or missing \" in quoted-field"};
      }
      if (i < s.size() && s[i] != ',') {
        return util::Error{"failed to parse csv mounts: parse error on line 1, column " + std::to_string(i + 1) +
                           ": extraneous or missing \" in quoted-field"};
      }
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') {
          return util::Error{"failed to parse csv mounts: parse error on line 1, column " + std::to_string(i + 1) +
                             ": bare \" in non-quoted-field"};
        }
        field += s[i++];
      }
    }
    fields.push_back(field);
    if (i >= s.size()) break;
    ++i;  // ','
  }
  return fields;
}

util::Result<bool> parse_go_bool(const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return util::Error{"invalid bool"};
}

util::Result<std::uint32_t> parse_uint(const std::string& v, int base) {
  if (v.empty()) return util::Error{"empty"};
  std::uint64_t out = 0;
  for (char c : v) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else return util::Error{"bad digit"};
    if (d >= base) return util::Error{"bad digit"};
    out = out * base + d;
    if (out > 0xFFFFFFFFULL) return util::Error{"out of range"};
  }
  return static_cast<std::uint32_t>(out);
}

}  // namespace

util::Result<MountSpec> parse_mount(const std::string& csv, const WordExpander& expand) {
  MKIMAGE_TRY(auto fields, read_csv_record(csv));
  MountSpec m;
  bool ro_auto = true;
  for (const auto& field : fields) {
    auto eq = field.find('=');
    std::string key = ascii_lower(field.substr(0, eq));
    const std::string type = MountSpec::type_name(m.type);
    if (eq == std::string::npos) {
      if (!expand) continue;  // BuildKit: flags without a value are evaluated once expanded (`type` known)
      if (key == "readonly" || key == "ro") {
        m.read_only = true;
        ro_auto = false;
        continue;
      }
      if (key == "readwrite" || key == "rw") {
        m.read_only = false;
        ro_auto = false;
        continue;
      }
      if (key == "required") {
        if (m.type == MountSpec::Type::secret || m.type == MountSpec::Type::ssh) {
          m.required = true;
          continue;
        }
        return util::Error{"unexpected key '" + key + "' for mount type '" + type + "'"};
      }
      return util::Error{"invalid field '" + field + "' must be a key=value pair"};
    }
    std::string value = field.substr(eq + 1);
    if (expand) {
      MKIMAGE_TRY(value, expand(value));
    } else if (key == "from") {
      static const std::regex var(R"(\$.)");
      if (std::regex_search(value, var)) {
        return util::Error{"'" + key + "' doesn't support variable expansion, define alias stage instead"};
      }
    } else {
      continue;  // validated once expanded (plan time)
    }
    auto bad_value = [&] { return util::Error{"invalid value for " + key + ": " + value}; };
    if (key == "type") {
      std::string t = ascii_lower(value);
      static const std::vector<std::string> types = {"bind", "cache", "tmpfs", "secret", "ssh"};
      auto it = std::find(types.begin(), types.end(), t);
      if (it == types.end()) {
        return util::Error{"unsupported mount type " + go_quote(value) + did_you_mean(value, types, true)};
      }
      m.type = static_cast<MountSpec::Type>(it - types.begin());
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro") {
      auto b = parse_go_bool(value);
      if (!b.ok()) return bad_value();
      m.read_only = *b;
      ro_auto = false;
    } else if (key == "readwrite" || key == "rw") {
      auto b = parse_go_bool(value);
      if (!b.ok()) return bad_value();
      m.read_only = !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != MountSpec::Type::secret && m.type != MountSpec::Type::ssh) {
        return util::Error{"unexpected key '" + key + "' for mount type '" + type + "'"};
      }
      auto b = parse_go_bool(value);
      if (!b.ok()) return bad_value();
      m.required = *b;
    } else if (key == "id") {
      m.id = value;
    } else if (key == "sharing") {
      std::string s = ascii_lower(value);
      if (s != "shared" && s != "private" && s != "locked") {
        return util::Error{"unsupported sharing value " + go_quote(value)};
      }
      m.sharing = s;
    } else if (key == "mode") {
      auto v = parse_uint(value, 8);
      if (!v.ok()) return util::Error{"invalid value " + value + " for mode"};
      m.mode = *v;
    } else if (key == "uid") {
      auto v = parse_uint(value, 10);
      if (!v.ok()) return util::Error{"invalid value " + value + " for uid"};
      m.uid = *v;
    } else if (key == "gid") {
      auto v = parse_uint(value, 10);
      if (!v.ok()) return util::Error{"invalid value " + value + " for gid"};
      m.gid = *v;
    } else if (key == "size") {
      if (m.type != MountSpec::Type::tmpfs) {
        return util::Error{"unexpected key '" + key + "' for mount type '" + type + "'"};
      }
      auto v = parse_size_bytes(value);
      if (!v.ok()) return util::Error{"invalid value for " + key + ": " + value};
      m.size = *v;
    } else if (key == "env") {
      m.env = value;
    } else {
      static const std::vector<std::string> keys = {"type", "from",     "source", "target", "readonly", "id",
                                                    "sharing", "required", "mode", "uid", "gid", "src", "dst",
                                                    "destination", "ro", "rw", "readwrite", "size", "env"};
      return util::Error{"unexpected key '" + key + "' in '" + field + "'" + did_you_mean(key, keys, true)};
    }
  }
  if (!expand) return m;

  using T = MountSpec::Type;
  bool file_info_allowed = m.type == T::secret || m.type == T::ssh || m.type == T::cache;
  std::string tq = go_quote(MountSpec::type_name(m.type));
  if (m.mode && !file_info_allowed) return util::Error{"mode not allowed for " + tq + " type mounts"};
  if (m.uid && !file_info_allowed) return util::Error{"uid not allowed for " + tq + " type mounts"};
  if (m.gid && !file_info_allowed) return util::Error{"gid not allowed for " + tq + " type mounts"};
  if (ro_auto) m.read_only = !(m.type == T::cache || m.type == T::tmpfs);
  if (!m.sharing.empty() && m.type != T::cache) {
    return util::Error{std::string("invalid cache sharing set for ") + MountSpec::type_name(m.type) + " mount"};
  }
  if (m.type == T::cache && m.sharing.empty()) m.sharing = "shared";
  if (m.type == T::secret) {
    if (!m.from.empty()) return util::Error{"secret mount should not have a from"};
    if (m.source.empty() && m.target.empty() && m.id.empty()) {
      return util::Error{"invalid secret mount. one of source, target required"};
    }
    if (!m.source.empty() && !m.id.empty()) return util::Error{"both source and id can't be set"};
  }
  if (m.type == T::ssh && !m.source.empty()) return util::Error{"ssh does not support source"};  // dispatchSSH's words
  if (!m.env.empty() && m.type != T::secret) {
    return util::Error{"unexpected key 'env' for mount type '" + std::string(MountSpec::type_name(m.type)) + "'"};
  }
  return m;
}

util::Result<Instruction> parse_run_instruction(const Node& node, InstructionError* detail) {
  auto fail = [&](const std::string& msg, const std::string& token = "") {
    if (detail) {
      detail->message = msg;
      detail->token = token;
    }
    return util::Error{msg};
  };
  std::string token;
  auto fl = parse_flags(node.flags,
                        {{"mount", FlagType::strings}, {"network", FlagType::string}, {"security", FlagType::string}},
                        &token);
  if (!fl.ok()) return fail(fl.error().message, token);
  RunInstruction r;
  r.mount_csv = fl->list("mount");
  for (const auto& csv : r.mount_csv) {
    auto m = parse_mount(csv, nullptr);
    if (!m.ok()) return fail(m.error().message, csv);
  }
  if (fl->used.count("network")) {
    std::string v = fl->get("network");
    if (v == "default") r.network = NetworkMode::default_;
    else if (v == "none") r.network = NetworkMode::none;
    else if (v == "host") r.network = NetworkMode::host;
    else return fail("network mode " + go_quote(v) + " not supported", "--network");
  }
  if (fl->used.count("security")) {
    std::string v = fl->get("security");
    if (v == "sandbox") r.security = SecurityMode::sandbox;
    else if (v == "insecure") r.security = SecurityMode::insecure;
    else return fail("security " + go_quote(v) + " is not valid", "--security");
  }
  r.shell_form = !node.json_form;
  if (node.json_form) {
    r.command = node.args;
  } else if (!node.args.empty()) {
    std::string joined;
    for (std::size_t i = 0; i < node.args.size(); ++i) joined += (i ? " " : "") + node.args[i];
    r.command = {joined};
  }
  for (const auto& h : node.heredocs) {
    InlineFile f;
    f.name = h.name;
    f.content = h.content;
    f.expand = h.expand;
    f.strip_tabs = h.strip_tabs;
    r.heredocs.push_back(f);
  }
  return Instruction{r};
}

}  // namespace mkimage::parser
