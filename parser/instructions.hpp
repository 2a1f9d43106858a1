// Typed Dockerfile instructions: the layer between the AST (parser/ast.hpp) and
// the build plan (graph/plan.hpp).
//
// parse_instruction() turns one AST Node into a typed value and validates it the
// way BuildKit's frontend/dockerfile/instructions package does: argument counts,
// allowed flags (unknown and duplicate flags, bool flag syntax `--f`, `--f=true`,
// `--f=false`; repeatable `--mount` and `--exclude`), and the syntax of flag
// values (RUN --mount CSV, --network, --security, COPY/ADD --chmod, HEALTHCHECK
// durations and retries, EXPOSE ports, FROM's 1-or-3 arguments and stage name).
//
// Values here are as written: quotes are NOT removed and variables are NOT
// expanded, except where noted. The planner (graph/plan.hpp) makes a copy of each
// instruction, expands the fields BuildKit expands (features list "Variable
// expansion") and fills the fields marked "planner:".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "parser/ast.hpp"
#include "util/result.hpp"

namespace mkimage::parser {

// ---------------------------------------------------------------------------
// Shared pieces

// A `key=value` pair of ENV or LABEL. `legacy` = the `ENV key value` form.
struct KeyValue {
  std::string key;
  std::string value;
  bool legacy = false;
};

// One name of an ARG instruction: `ARG name` (no value) or `ARG name=default`.
struct ArgDeclaration {
  std::string key;
  std::optional<std::string> value;  // nullopt = no default given
};

// An inline file from a heredoc (COPY/ADD sources, RUN scripts).
struct InlineFile {
  std::string name;     // heredoc delimiter, e.g. "EOF"; also the file name
  std::string content;  // body, "\n"-terminated lines (tabs stripped for `<<-`)
  bool expand = true;   // false when the delimiter was quoted (`<<'EOF'`)
  bool strip_tabs = false;
};

// ---------------------------------------------------------------------------
// RUN

// One `RUN --mount=<csv>` (BuildKit commands_runmount.go). Keys are
// case-insensitive; `type` defaults to bind. Defaults for read_only follow the
// type (bind, secret, ssh read-only; cache, tmpfs read-write) unless ro/rw given.
struct MountSpec {
  enum class Type { bind, cache, tmpfs, secret, ssh };
  Type type = Type::bind;
  std::string from;     // stage name, stage index or image ref; "" = build context (bind) / scratch (cache)
  std::string source;   // `source`/`src`
  std::string target;   // `target`/`dst`/`destination`; planner: made absolute against WORKDIR
  bool read_only = true;
  std::string id;       // `id` (cache id, secret id, ssh id); planner fills defaults
  std::string sharing;  // cache only: "shared" (default) | "private" | "locked"
  bool required = false;                // secret, ssh only
  std::optional<std::uint32_t> mode;    // octal file mode (cache, secret, ssh only)
  std::optional<std::uint32_t> uid;     // cache, secret, ssh only
  std::optional<std::uint32_t> gid;     // cache, secret, ssh only
  std::optional<std::int64_t> size;     // tmpfs only, bytes (`size=64m` etc.)
  std::string env;                      // secret only: expose the secret as this env variable
  // planner: index (Dockerfile order) of the stage `from` names, or -1 when
  // `from` is empty or an image reference.
  int from_stage = -1;

  static const char* type_name(Type t);  // "bind", "cache", ...
};

enum class NetworkMode { default_, none, host };     // RUN --network
enum class SecurityMode { sandbox, insecure };       // RUN --security

// RUN: shell form (`RUN echo hi`, wrapped in SHELL at plan time), exec form
// (`RUN ["a","b"]`) or heredoc form (`RUN <<EOF ...`).
struct RunInstruction {
  std::vector<std::string> command;   // exec form: the JSON elements; shell form: one string
  bool shell_form = true;             // BuildKit PrependShell
  std::vector<InlineFile> heredocs;   // source order
  std::vector<std::string> mount_csv; // each --mount value as written
  std::vector<MountSpec> mounts;      // planner: parse_mount() of each mount_csv, expanded,
                                      // defaults filled, target absolute
  NetworkMode network = NetworkMode::default_;
  SecurityMode security = SecurityMode::sandbox;

  // planner: the argv to execute (SHELL prepended for shell form; heredocs
  // handled as BuildKit does: one heredoc whose body starts with `#!` becomes
  // `script` mounted read-only at /dev/pipes/<name> and argv runs that path;
  // one heredoc without `#!` passes the body to the shell; anything else
  // rebuilds the whole text "<line>\n<body><name>..." for the shell).
  std::vector<std::string> argv;
  std::optional<InlineFile> script;   // the `#!` heredoc file (mode 0755), when used
};

// CMD and ENTRYPOINT.
struct CmdInstruction {
  std::vector<std::string> command;   // exec form elements or the one shell string
  bool shell_form = true;
  // planner: the value for the image config (SHELL prepended for shell form).
  // ENTRYPOINT [] gives an empty argv (clears the entrypoint).
  std::vector<std::string> argv;
};
struct EntrypointInstruction {
  std::vector<std::string> command;
  bool shell_form = true;
  std::vector<std::string> argv;      // planner, as for CMD
  // planner: true when no CMD came earlier in this stage, so the image config
  // Cmd (inherited from the base) must be cleared (BuildKit dispatchEntrypoint).
  bool clears_cmd = true;
};

// SHELL ["exe", "arg", ...]: JSON form only, at least one element.
struct ShellInstruction {
  std::vector<std::string> shell;
};

// HEALTHCHECK NONE | HEALTHCHECK [--interval --timeout --start-period
// --start-interval --retries] CMD <cmd>. Durations are Go durations
// (`30s`, `1m30s`, `500ms`), stored in nanoseconds; 0 = not set (inherit the
// runtime default); a non-zero value below 1ms is an error.
struct HealthcheckInstruction {
  std::vector<std::string> test;      // ["NONE"], ["CMD", args...] or ["CMD-SHELL", "cmd"]
  std::int64_t interval_ns = 0;
  std::int64_t timeout_ns = 0;
  std::int64_t start_period_ns = 0;
  std::int64_t start_interval_ns = 0;
  int retries = 0;                    // >= 0
};

// ENV k=v ... (keys and values expanded by the planner).
struct EnvInstruction {
  std::vector<KeyValue> pairs;
};

// LABEL k=v ... (keys and values expanded by the planner).
struct LabelInstruction {
  std::vector<KeyValue> pairs;
};

// ARG name[=default] ... Planner: each value becomes the value in effect
// (--build-arg > expanded default > global value), nullopt = unset.
struct ArgInstruction {
  std::vector<ArgDeclaration> args;
};

// EXPOSE <port>[-<end>][/tcp|udp|sctp] ...
struct ExposeInstruction {
  std::vector<std::string> ports;     // raw words, sorted as BuildKit sorts them; planner: expanded words
  // planner: image config ExposedPorts keys, e.g. "8080/tcp" (ranges expanded,
  // protocol lower-cased, default tcp), in first-seen order without duplicates.
  std::vector<std::string> port_keys;
};

// VOLUME ["/a", "/b"] or VOLUME /a /b (planner: each expanded; empty is an error).
struct VolumeInstruction {
  std::vector<std::string> volumes;
};

// USER <user>[:<group>] (planner: expanded).
struct UserInstruction {
  std::string user;
};

// WORKDIR <path> (planner: `path` expanded; `resolved` = absolute, cleaned,
// relative paths joined to the previous WORKDIR).
struct WorkdirInstruction {
  std::string path;
  std::string resolved;
};

// STOPSIGNAL <name|number> (planner: expanded and validated: SIGxxx / xxx /
// 1..64).
struct StopSignalInstruction {
  std::string signal;
};

// MAINTAINER <text> (deprecated; sets the image author).
struct MaintainerInstruction {
  std::string maintainer;
};

// ONBUILD <instruction>: `expression` is the trigger text saved in the image
// config OnBuild (heredoc bodies appended as BuildKit does). The trigger is
// validated when parsed (ONBUILD ONBUILD/FROM/MAINTAINER are errors) and runs
// in the stage that uses this image as its base.
struct OnbuildInstruction {
  std::string expression;
};

// COPY and ADD (one struct; `add` tells which).
//   COPY [--from] [--chown] [--chmod] [--link] [--parents] [--exclude]... <src>... <dest>
//   ADD  [--chown] [--chmod] [--link] [--exclude]... [--checksum] [--keep-git-dir] [--unpack] <src>... <dest>
struct CopyInstruction {
  bool add = false;                   // true for ADD
  std::vector<std::string> sources;   // paths/URLs (planner: expanded)
  std::vector<InlineFile> inline_sources;  // heredoc sources (planner: bodies expanded when `expand`)
  std::string dest;                   // planner: expanded, as written (trailing '/' kept)
  std::string from;                   // COPY --from: stage name, index or image ref; never expanded
  std::string chown;                  // planner: expanded
  std::string chmod;                  // planner: expanded; as written
  bool link = false;
  bool parents = false;               // COPY --parents
  std::vector<std::string> excludes;  // --exclude patterns, not expanded
  std::string checksum;               // ADD --checksum (planner: expanded)
  std::optional<bool> keep_git_dir;   // ADD --keep-git-dir
  std::optional<bool> unpack;         // ADD --unpack

  // planner:
  std::string resolved_dest;          // absolute, against WORKDIR; keeps a trailing '/' (BuildKit NormalizePath)
  std::optional<std::uint32_t> chmod_mode;  // --chmod octal value (<= 07777); nullopt when absent or symbolic
  int from_stage = -1;                // Dockerfile index of the --from stage, -1 = context or image
  std::string from_image;             // --from naming an image (not a stage), else ""
};

// FROM [--platform=<p>] <image> [AS <name>].
struct FromInstruction {
  std::string image;      // as written; planner: expanded with global ARGs
  std::string name;       // stage name, lower-cased; "" when no AS
  std::string platform;   // --platform as written; planner: expanded
};

// Any typed instruction.
using Instruction =
    std::variant<FromInstruction, RunInstruction, CmdInstruction, EntrypointInstruction,
                 ShellInstruction, HealthcheckInstruction, EnvInstruction, LabelInstruction,
                 ArgInstruction, ExposeInstruction, VolumeInstruction, UserInstruction,
                 WorkdirInstruction, StopSignalInstruction, MaintainerInstruction,
                 OnbuildInstruction, CopyInstruction>;

// Where parse_instruction() failed: the message (no location prefix) and the
// text in the instruction's first line the caret should point at ("" = the
// keyword).
struct InstructionError {
  std::string message;
  std::string token;
};

// Parses and validates one AST node. Errors (message only, no location; the
// caller adds the node's SourceRange), e.g.:
//   unknown instruction: COPPY (did you mean COPY?)
//   unknown flag: --fro (did you mean from?)      duplicate flag specified: --from
//   missing a value on flag: --chown              expecting boolean value for flag --link, not: yes
//   COPY requires at least two arguments, but only one was provided. Destination could not be determined
//   FROM requires either one or three arguments   USER requires exactly one argument
//   invalid name for build stage: "1st", name can't start with a number or contain symbols
//   unexpected key 'foo' in 'foo=bar' (did you mean "from"?)   (RUN --mount)
// `detail`, when given, receives the message and the caret token.
util::Result<Instruction> parse_instruction(const Node& node, InstructionError* detail = nullptr);

// The instruction keywords BuildKit knows, upper case ("ADD", "ARG", ... "WORKDIR").
const std::vector<std::string>& instruction_names();

// Expands one word (the planner passes the shell lexer with the stage environment).
using WordExpander = std::function<util::Result<std::string>(const std::string& word)>;

// Parses one `--mount` CSV value (BuildKit parseMount). With `expand` empty
// (parse time) only the structure is checked (key=value fields, no variable in
// `from`); with an expander every value is expanded, then validated: mount type
// (with suggestion), ro/rw/required bools, sharing, octal mode, uid/gid, tmpfs
// size, keys allowed per type, secret rules. Defaults: read_only by type,
// cache sharing "shared"; the planner fills target/id defaults.
util::Result<MountSpec> parse_mount(const std::string& csv, const WordExpander& expand);

// Parses a Go duration ("1h2m3.5s", "300ms", "0"): nanoseconds, or an error
// `time: invalid duration "x"`.
util::Result<std::int64_t> parse_go_duration(const std::string& text);

// Formats nanoseconds the way Go's time.Duration.String() does ("1m30s", "500ms", "0s").
std::string format_go_duration(std::int64_t ns);

// Parses a size like "64m", "1g", "1024", "512k" (BuildKit tmpfs size, units
// powers of 1024, case-insensitive, optional "b"/"ib"): bytes.
util::Result<std::int64_t> parse_size_bytes(const std::string& text);

// Validates a symbolic chmod mode (`u+x`, `a=rX,go-w`, chmod(1) grammar).
bool is_symbolic_mode(const std::string& text);

}  // namespace mkimage::parser
