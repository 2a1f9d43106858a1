// Typed instructions: per-instruction validation (parser/instructions.cpp,
// instructions_run.cpp) against BuildKit's instructions package behaviour.
#include <doctest/doctest.h>

#include "typed_test_util.hpp"

using namespace typed_test;

TEST_CASE("unknown instruction names the word as written and suggests the nearest") {
  InstructionError detail;
  auto r = typed("FROM scratch\nCOPPY a /b\n", 1, &detail);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "unknown instruction: COPPY (did you mean COPY?)");
  CHECK(typed_error("FROM scratch\nworkdri /x\n", 1) == "unknown instruction: workdri (did you mean workdir?)");
  CHECK(typed_error("FROM scratch\nFROBNICATE x\n", 1) == "unknown instruction: FROBNICATE");
  // BuildKit's rule (util/suggest): distance below 3, the candidate in the word's case
  // when the word is all upper or all lower case.
  CHECK(typed_error("FROM scratch\nFOO bar\n", 1) == "unknown instruction: FOO (did you mean FROM?)");
  CHECK(typed_error("FROM scratch\nWorkDri /x\n", 1) == "unknown instruction: WorkDri (did you mean workdir?)");
  CHECK(typed_error("FROM scratch\nHEALTHCHEKKKK x\n", 1) == "unknown instruction: HEALTHCHEKKKK");
}

TEST_CASE("flags: unknown, duplicate, missing value, bool syntax, repeatable") {
  CHECK(typed_error("COPY --fro=a x y\n") == "unknown flag: --fro (did you mean from?)");
  CHECK(typed_error("COPY --from=a --from=b x y\n") == "duplicate flag specified: --from");
  CHECK(typed_error("COPY --from x y\n") == "missing a value on flag: --from");
  CHECK(typed_error("COPY --link= x y\n") == "missing a value on flag: --link");
  CHECK(typed_error("COPY --link=yes x y\n") == "expecting boolean value for flag --link, not: yes");
  CHECK(typed_as<CopyInstruction>("COPY --link x y\n").link);
  CHECK(typed_as<CopyInstruction>("COPY --link=TRUE x y\n").link);
  CHECK_FALSE(typed_as<CopyInstruction>("COPY --link=false x y\n").link);
  auto c = typed_as<CopyInstruction>("COPY --exclude=*.md --exclude=tmp x y\n");
  CHECK(c.excludes == std::vector<std::string>{"*.md", "tmp"});
  CHECK(typed_error("CMD --doit [\"a\"]\n") == "unknown flag: --doit");
  CHECK(typed_error("MAINTAINER --boo joe@example.com\n") == "unknown flag: --boo");
  // flag suggestions are case-sensitive, as BuildKit's
  CHECK(typed_error("COPY --FROM=a x y\n") == "unknown flag: --FROM");
  CHECK(typed_error("RUN --device=/dev/x true\n") == "unknown flag: --device");
  // A bare `--` ends the flags.
  CHECK(typed_as<CopyInstruction>("COPY --link -- x y\n").link);
}

TEST_CASE("FROM: one or three arguments, AS, stage name syntax, --platform") {
  auto f = typed_as<FromInstruction>("FROM alpine:3.19 As Build\n");
  CHECK(f.image == "alpine:3.19");
  CHECK(f.name == "build");
  CHECK(typed_as<FromInstruction>("FROM --platform=linux/arm64 alpine\n").platform == "linux/arm64");
  CHECK(typed_error("FROM a b\n") == "FROM requires either one or three arguments");
  CHECK(typed_error("FROM a AS b c\n") == "FROM requires either one or three arguments");
  CHECK(typed_error("FROM a IS b\n") == "FROM requires either one or three arguments");
  CHECK(typed_error("FROM a AS 1st\n") ==
        "invalid name for build stage: \"1st\", name can't start with a number or contain symbols");
  CHECK(typed_error("FROM a AS b$c\n") ==
        "invalid name for build stage: \"b$c\", name can't start with a number or contain symbols");
  CHECK(typed_as<FromInstruction>("FROM a AS my-stage_1.x\n").name == "my-stage_1.x");
  CHECK(typed_error("FROM --platfrom=x a\n") == "unknown flag: --platfrom (did you mean platform?)");
}

TEST_CASE("RUN: shell, exec and heredoc forms; --network; --security") {
  auto r = typed_as<RunInstruction>("RUN echo hi  there\n");
  CHECK(r.shell_form);
  CHECK(r.command == std::vector<std::string>{"echo hi  there"});
  r = typed_as<RunInstruction>("RUN [\"/bin/busybox\", \"--install\"]\n");
  CHECK_FALSE(r.shell_form);
  CHECK(r.command == std::vector<std::string>{"/bin/busybox", "--install"});
  r = typed_as<RunInstruction>("RUN <<EOF\necho a\nEOF\n");
  REQUIRE(r.heredocs.size() == 1);
  CHECK(r.heredocs[0].name == "EOF");
  CHECK(r.heredocs[0].content == "echo a\n");
  CHECK(typed_as<RunInstruction>("RUN --network=none true\n").network == NetworkMode::none);
  CHECK(typed_as<RunInstruction>("RUN --network=host true\n").network == NetworkMode::host);
  CHECK(typed_error("RUN --network=bridge true\n") == "network mode \"bridge\" not supported");
  CHECK(typed_as<RunInstruction>("RUN --security=insecure true\n").security == SecurityMode::insecure);
  CHECK(typed_error("RUN --security=yolo true\n") == "security \"yolo\" is not valid");
}

TEST_CASE("RUN --mount: structure at parse time, full validation with an expander") {
  WordExpander identity = [](const std::string& w) -> mkimage::util::Result<std::string> { return w; };
  auto m = parse_mount("type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000", identity);
  REQUIRE(m.ok());
  CHECK(m->type == MountSpec::Type::cache);
  CHECK(m->target == "/root/.cache");
  CHECK(m->id == "pip");
  CHECK(m->sharing == "locked");
  CHECK(*m->mode == 0700);
  CHECK(*m->uid == 1000);
  CHECK_FALSE(m->read_only);  // cache defaults to read-write
  m = parse_mount("target=/src", identity);
  REQUIRE(m.ok());
  CHECK(m->type == MountSpec::Type::bind);
  CHECK(m->read_only);  // bind defaults to read-only
  m = parse_mount("type=bind,target=/src,rw", identity);
  REQUIRE(m.ok());
  CHECK_FALSE(m->read_only);
  m = parse_mount("type=bind,dst=/src,readonly=false,from=builder,source=/out", identity);
  REQUIRE(m.ok());
  CHECK(m->from == "builder");
  CHECK(m->source == "/out");
  CHECK_FALSE(m->read_only);
  m = parse_mount("type=tmpfs,target=/t,size=64m", identity);
  REQUIRE(m.ok());
  CHECK(*m->size == 64 * 1024 * 1024);
  m = parse_mount("type=secret,id=tok,env=TOKEN,required", identity);
  REQUIRE(m.ok());
  CHECK(m->required);
  CHECK(m->env == "TOKEN");
  // A bare `required` after `type=secret` passes the unexpanded (parse-time) pass,
  // where `type=` is not evaluated yet, as in BuildKit.
  CHECK(parse_mount("type=secret,required,id=mysecret", nullptr).ok());
  m = parse_mount("type=secret,required,id=mysecret", identity);
  REQUIRE(m.ok());
  CHECK(m->required);
  m = parse_mount("\"type=bind\",\"target=/a,b\"", identity);
  REQUIRE(m.ok());
  CHECK(m->target == "/a,b");

  auto err = [&](const std::string& csv) {
    auto r = parse_mount(csv, identity);
    return r.ok() ? std::string("<ok>") : r.error().message;
  };
  CHECK(err("type=cahce,target=/x") == "unsupported mount type \"cahce\" (did you mean cache?)");
  CHECK(err("target=/x,trget=/y") == "unexpected key 'trget' in 'trget=/y' (did you mean target?)");
  CHECK(err("target") == "invalid field 'target' must be a key=value pair");
  CHECK(err("type=bind,target=/x,required") == "unexpected key 'required' for mount type 'bind'");
  CHECK(err("type=bind,target=/x,ro=maybe") == "invalid value for ro: maybe");
  CHECK(err("type=cache,target=/x,sharing=global") == "unsupported sharing value \"global\"");
  CHECK(err("type=bind,target=/x,sharing=shared") == "invalid cache sharing set for bind mount");
  CHECK(err("type=cache,target=/x,mode=999") == "invalid value 999 for mode");
  CHECK(err("type=cache,target=/x,uid=root") == "invalid value root for uid");
  CHECK(err("type=bind,target=/x,mode=0755") == "mode not allowed for \"bind\" type mounts");
  CHECK(err("type=tmpfs,target=/x,uid=1") == "uid not allowed for \"tmpfs\" type mounts");
  CHECK(err("type=bind,target=/x,size=1m") == "unexpected key 'size' for mount type 'bind'");
  CHECK(err("type=secret,from=x,id=a") == "secret mount should not have a from");
  CHECK(err("type=secret") == "invalid secret mount. one of source, target required");
  CHECK(err("type=secret,source=a,id=b") == "both source and id can't be set");
  CHECK(err("type=ssh,source=a") == "ssh does not support source");
  CHECK(err("type=bind,target=/x\"") == "failed to parse csv mounts: parse error on line 1, column 20: bare \" in non-quoted-field");

  // Parse time: `from` may not use variables; other values wait for expansion.
  CHECK(typed_error("RUN --mount=from=$STAGE,target=/x true\n") ==
        "'from' doesn't support variable expansion, define alias stage instead");
  auto r = typed_as<RunInstruction>("RUN --mount=type=$T,target=/x --mount=target=/y true\n");
  CHECK(r.mount_csv.size() == 2);
}

TEST_CASE("CMD, ENTRYPOINT, SHELL") {
  auto c = typed_as<CmdInstruction>("CMD [\"a\", \"b\"]\n");
  CHECK_FALSE(c.shell_form);
  CHECK(c.command == std::vector<std::string>{"a", "b"});
  c = typed_as<CmdInstruction>("CMD ['a', 'b']\n");
  CHECK(c.shell_form);
  CHECK(c.command == std::vector<std::string>{"['a', 'b']"});
  auto e = typed_as<EntrypointInstruction>("ENTRYPOINT []\n");
  CHECK_FALSE(e.shell_form);
  CHECK(e.command.empty());
  CHECK(typed_as<ShellInstruction>("SHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\n").shell.size() == 4);
  CHECK(typed_error("SHELL /bin/bash -c\n") == "SHELL requires the arguments to be in JSON form");
  CHECK(typed_error("SHELL []\n") == "SHELL requires at least one argument");
}

TEST_CASE("HEALTHCHECK: NONE, CMD, durations and retries") {
  auto h = typed_as<HealthcheckInstruction>(
      "HEALTHCHECK --interval=5s --timeout=1m30s --start-period=250ms --retries=3 CMD curl -f http://x/\n");
  CHECK(h.test == std::vector<std::string>{"CMD-SHELL", "curl -f http://x/"});
  CHECK(h.interval_ns == 5000000000LL);
  CHECK(h.timeout_ns == 90000000000LL);
  CHECK(h.start_period_ns == 250000000LL);
  CHECK(h.retries == 3);
  h = typed_as<HealthcheckInstruction>("HEALTHCHECK CMD [\"/check\", \"-q\"]\n");
  CHECK(h.test == std::vector<std::string>{"CMD", "/check", "-q"});
  h = typed_as<HealthcheckInstruction>("HEALTHCHECK none\n");
  CHECK(h.test == std::vector<std::string>{"NONE"});
  CHECK(typed_error("HEALTHCHECK NONE x\n") == "HEALTHCHECK NONE takes no arguments");
  CHECK(typed_error("HEALTHCHECK CONNECT x\n") == "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
  CHECK(typed_error("HEALTHCHECK CMD\n") == "Missing command after HEALTHCHECK CMD");
  CHECK(typed_error("HEALTHCHECK --interval=5 CMD x\n") == "time: missing unit in duration \"5\"");
  CHECK(typed_error("HEALTHCHECK --interval=5x CMD x\n") == "time: unknown unit \"x\" in duration \"5x\"");
  CHECK(typed_error("HEALTHCHECK --timeout=500us CMD x\n") == "Interval \"timeout\" cannot be less than 1ms");
  CHECK(typed_as<HealthcheckInstruction>("HEALTHCHECK --interval=0 CMD x\n").interval_ns == 0);
  CHECK(typed_error("HEALTHCHECK --retries=-1 CMD x\n") == "--retries cannot be negative (-1)");
  CHECK(typed_error("HEALTHCHECK --retries=x CMD x\n") == "strconv.ParseInt: parsing \"x\": invalid syntax");
  CHECK(typed_error("HEALTHCHECK --retires=1 CMD x\n") == "unknown flag: --retires (did you mean retries?)");
  CHECK(typed_error("HEALTHCHECK\n") == "HEALTHCHECK requires at least one argument");
}

TEST_CASE("ENV, LABEL, ARG") {
  auto e = typed_as<EnvInstruction>("ENV A=1 B=\"x y\"\n");
  REQUIRE(e.pairs.size() == 2);
  CHECK(e.pairs[1].key == "B");
  CHECK(e.pairs[1].value == "\"x y\"");  // raw: the planner expands
  e = typed_as<EnvInstruction>("ENV A hello world\n");
  REQUIRE(e.pairs.size() == 1);
  CHECK(e.pairs[0].legacy);
  CHECK(e.pairs[0].value == "hello world");
  auto l = typed_as<LabelInstruction>("LABEL a=b \"c d\"=e\n");
  CHECK(l.pairs.size() == 2);
  CHECK(typed_error("ENV --x A=1\n") == "unknown flag: --x");
  auto a = typed_as<ArgInstruction>("ARG A B=2 C=\n");
  REQUIRE(a.args.size() == 3);
  CHECK_FALSE(a.args[0].value);
  CHECK(*a.args[1].value == "2");
  CHECK(*a.args[2].value == "");
  CHECK(typed_error("ARG =x\n") == "ARG names can not be blank");
}

TEST_CASE("EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER") {
  CHECK(typed_as<ExposeInstruction>("EXPOSE 9090/udp 8080\n").ports == std::vector<std::string>{"8080", "9090/udp"});
  CHECK(typed_error("EXPOSE\n") == "EXPOSE requires at least one argument");
  CHECK(typed_as<VolumeInstruction>("VOLUME [\"/a\", \"/b\"]\n").volumes == std::vector<std::string>{"/a", "/b"});
  CHECK(typed_as<VolumeInstruction>("VOLUME /a /b\n").volumes == std::vector<std::string>{"/a", "/b"});
  CHECK(typed_error("VOLUME [\"\"]\n") == "VOLUME specified can not be an empty string");
  CHECK(typed_as<UserInstruction>("USER 1000:1000\n").user == "1000:1000");
  CHECK(typed_error("USER\n") == "USER requires exactly one argument");
  CHECK(typed_as<WorkdirInstruction>("WORKDIR /app\n").path == "/app");
  CHECK(typed_error("WORKDIR --x=1 /app\n") == "unknown flag: --x");
  CHECK(typed_as<StopSignalInstruction>("STOPSIGNAL --ignored SIGTERM\n").signal == "SIGTERM");
  CHECK(typed_as<MaintainerInstruction>("MAINTAINER Jane <j@x>\n").maintainer == "Jane <j@x>");
  CHECK(typed_error("MAINTAINER\n") == "MAINTAINER requires exactly one argument");
}

TEST_CASE("ONBUILD: trigger validation and expression") {
  auto o = typed_as<OnbuildInstruction>("ONBUILD RUN echo hi\n");
  CHECK(o.expression == "RUN echo hi");
  CHECK(typed_error("ONBUILD ONBUILD RUN x\n") == "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  CHECK(typed_error("ONBUILD FROM x\n") == "FROM isn't allowed as an ONBUILD trigger");
  CHECK(typed_error("ONBUILD MAINTAINER x\n") == "MAINTAINER isn't allowed as an ONBUILD trigger");
  CHECK(typed_error("ONBUILD COPY --fro=x a b\n") == "unknown flag: --fro (did you mean from?)");
  o = typed_as<OnbuildInstruction>("ONBUILD COPY <<EOF /x\nhello\nEOF\n");
  CHECK(o.expression == "COPY <<EOF /x\nhello\nEOF");
}

TEST_CASE("COPY and ADD: arguments, flags, heredoc sources") {
  CHECK(typed_error("COPY a\n") ==
        "COPY requires at least two arguments, but only one was provided. Destination could not be determined");
  CHECK(typed_error("ADD a\n") ==
        "ADD requires at least two arguments, but only one was provided. Destination could not be determined");
  auto c = typed_as<CopyInstruction>(
      "COPY --from=build --chown=1:2 --chmod=0644 --parents --link a b /dst/\n");
  CHECK_FALSE(c.add);
  CHECK(c.from == "build");
  CHECK(c.chown == "1:2");
  CHECK(c.chmod == "0644");
  CHECK(c.parents);
  CHECK(c.link);
  CHECK(c.sources == std::vector<std::string>{"a", "b"});
  CHECK(c.dest == "/dst/");
  c = typed_as<CopyInstruction>("COPY [\"a b\", \"/c d/\"]\n");
  CHECK(c.sources == std::vector<std::string>{"a b"});
  CHECK(c.dest == "/c d/");
  CHECK(typed_error("COPY --checksum=sha256:00 a b\n") == "unknown flag: --checksum");
  CHECK(typed_error("ADD --from=x a b\n") == "unknown flag: --from");
  CHECK(typed_error("ADD --parents a b\n") == "unknown flag: --parents");
  auto a = typed_as<CopyInstruction>("ADD --keep-git-dir --unpack=false --checksum=sha256:ab https://x/a.tar /\n");
  CHECK(a.add);
  CHECK(*a.keep_git_dir);
  CHECK_FALSE(*a.unpack);
  CHECK(a.checksum == "sha256:ab");
  c = typed_as<CopyInstruction>("COPY <<A <<'B' /multi/\nfirst\nA\nsecond $X\nB\n");
  REQUIRE(c.inline_sources.size() == 2);
  CHECK(c.sources.empty());
  CHECK(c.inline_sources[0].name == "A");
  CHECK(c.inline_sources[0].expand);
  CHECK(c.inline_sources[1].content == "second $X\n");
  CHECK_FALSE(c.inline_sources[1].expand);
  CHECK(typed_error("COPY a <<EOF\nx\nEOF\n") == "COPY cannot accept a heredoc as a destination");
  // Any name the heredoc reader takes (BuildKit ParseHeredoc: `^(\d*)<<(-?)([^<]*)$`,
  // one shell word) is an inline source, not a file of the build context.
  c = typed_as<CopyInstruction>("COPY <<EOF.txt <<\"a-b\" /dst/\nfirst\nEOF.txt\nsecond\na-b\n");
  REQUIRE(c.inline_sources.size() == 2);
  CHECK(c.sources.empty());
  CHECK(c.inline_sources[0].name == "EOF.txt");
  CHECK(c.inline_sources[0].content == "first\n");
  CHECK(c.inline_sources[1].name == "a-b");
  CHECK(c.inline_sources[1].content == "second\n");
  CHECK_FALSE(c.inline_sources[1].expand);
  CHECK(typed_error("COPY a <<out.txt\nx\nout.txt\n") == "COPY cannot accept a heredoc as a destination");
  // Not heredocs: a bare `<<`, a word before `<<`, a second `<<`, mismatched quotes.
  c = typed_as<CopyInstruction>("COPY << a<<b <<x<<y /dst/\n");
  CHECK(c.inline_sources.empty());
  CHECK(c.sources == std::vector<std::string>{"<<", "a<<b", "<<x<<y"});
  c = typed_as<CopyInstruction>("COPY <<\"q' /dst/\n");
  CHECK(c.inline_sources.empty());
  CHECK(c.sources == std::vector<std::string>{"<<\"q'"});
}

TEST_CASE("value syntaxes: Go durations, quoting, sizes, symbolic modes") {
  CHECK(*parse_go_duration("1h2m3.5s") == 3723500000000LL);
  CHECK(*parse_go_duration("-1.5ms") == -1500000LL);
  CHECK_FALSE(parse_go_duration("").ok());
  CHECK_FALSE(parse_go_duration("s").ok());
  CHECK(format_go_duration(0) == "0s");
  CHECK(format_go_duration(90000000000LL) == "1m30s");
  CHECK(format_go_duration(500000000LL) == "500ms");
  CHECK(format_go_duration(3723500000000LL) == "1h2m3.5s");
  CHECK(*parse_size_bytes("64m") == 64LL * 1024 * 1024);
  CHECK(*parse_size_bytes("1.5k") == 1536);
  CHECK(*parse_size_bytes("100") == 100);
  CHECK(*parse_size_bytes("2GiB") == 2LL * 1024 * 1024 * 1024);
  CHECK_FALSE(parse_size_bytes("lots").ok());
  CHECK(is_symbolic_mode("u+x"));
  CHECK(is_symbolic_mode("a=rX,go-w"));
  CHECK(is_symbolic_mode("+x"));
  CHECK_FALSE(is_symbolic_mode("u+q"));
  CHECK_FALSE(is_symbolic_mode("x"));
  CHECK_FALSE(is_symbolic_mode("u+x,"));
}
