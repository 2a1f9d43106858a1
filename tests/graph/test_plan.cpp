// The planner: ARG/ENV scoping, expansion per instruction, derived values and
// BuildKit's history strings (graph/plan.cpp, graph/dispatch*.cpp).
#include <doctest/doctest.h>

#include <algorithm>

#include "plan_test_util.hpp"

using namespace plan_test;

TEST_CASE("global ARGs are visible in FROM only, until redeclared in the stage") {
  auto p = plan_ok(
      "ARG BASE=alpine\nARG V=1\nFROM ${BASE}:3.${V}\nRUN echo $V\nARG V\nRUN echo $V\n");
  const Stage& st = p.stages.at(0);
  CHECK(st.base.kind == StageBase::Kind::image);
  CHECK(st.base.image == "alpine:3.1");
  CHECK(env_value(step(p, 0, 0).env, "V") == "<unset>");
  CHECK(env_value(step(p, 0, 2).env, "V") == "1");
  CHECK(step(p, 0, 1).created_by == "ARG V=1");
  CHECK(step(p, 0, 2).created_by == "RUN |1 V=1 /bin/sh -c echo $V # buildkit");
  // ARG values never reach the image config.
  CHECK(env_value(st.config_env, "V") == "<unset>");
}

TEST_CASE("ARG precedence: --build-arg > default > global") {
  const std::string df = "ARG G=global\nFROM scratch\nARG G\nARG D=dflt\nARG G2=x\nRUN true\n";
  auto p = plan_ok(df);
  CHECK(env_value(step(p, 0, 3).env, "G") == "global");
  CHECK(env_value(step(p, 0, 3).env, "D") == "dflt");
  PlanOptions o;
  o.build_args = {{"G", "cli"}, {"D", "cli-d"}};
  p = plan_ok(df, o);
  CHECK(env_value(step(p, 0, 3).env, "G") == "cli");
  CHECK(env_value(step(p, 0, 3).env, "D") == "cli-d");
  CHECK(step(p, 0, 3).created_by == "RUN |3 G=cli D=cli-d G2=x /bin/sh -c true # buildkit");
  // A build arg also changes the global value used by FROM.
  o.build_args = {{"B", "busybox"}};
  p = plan_ok("ARG B=alpine\nFROM $B\n", o);
  CHECK(p.stages.at(0).base.image == "busybox");
}

TEST_CASE("ARG defaults expand with the stage environment; ARG without value is unset") {
  auto p = plan_ok("FROM scratch\nENV A=hello\nARG B=${A}-x\nARG C\nRUN true\n");
  const Step& run = step(p, 0, 3);
  CHECK(env_value(run.env, "B") == "hello-x");
  CHECK(env_value(run.env, "C") == "<unset>");
  CHECK(run.created_by == "RUN |2 B=hello-x C= /bin/sh -c true # buildkit");
  REQUIRE(run.build_args.size() == 2);
  CHECK_FALSE(run.build_args[1].second.has_value());
}

TEST_CASE("ARG scope ends with the stage; FROM <stage> inherits ENV and ARGs") {
  auto p = plan_ok(
      "FROM scratch AS a\nARG X=1\nENV E=e\nRUN true\n"
      "FROM a AS b\nRUN true\n"
      "FROM scratch AS c\nRUN true\n",
      [] {
        PlanOptions o;
        o.target = "";
        return o;
      }());
  // Only c is reachable from the default target (the last stage).
  REQUIRE(p.stages.size() == 1);
  CHECK(env_value(step(p, 2, 0).env, "X") == "<unset>");
  PlanOptions o;
  o.target = "b";
  p = plan_ok("FROM scratch AS a\nARG X=1\nENV E=e\nRUN true\nFROM a AS b\nRUN true\n", o);
  REQUIRE(p.stages.size() == 2);
  const Step& run = step(p, 1, 0);
  CHECK(env_value(run.env, "X") == "1");
  CHECK(env_value(run.env, "E") == "e");
  CHECK(run.created_by == "RUN |1 X=1 /bin/sh -c true # buildkit");
  CHECK(env_value(p.find_stage(1)->config_env, "E") == "e");
}

TEST_CASE("ENV: all pairs expand against the previous environment; replaced in place") {
  auto p = plan_ok("FROM scratch\nENV A=1\nENV A=2 B=$A\nENV PATH=/x:$PATH\n");
  const auto& e = step_as<EnvInstruction>(p, 0, 1);
  CHECK(e.pairs[1].value == "1");
  CHECK(step(p, 0, 1).created_by == "ENV A=2 B=1");
  const auto& env = p.stages.at(0).config_env;
  REQUIRE(env.size() == 3);
  CHECK(env[0] == "PATH=/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  CHECK(env[1] == "A=2");
  CHECK(env[2] == "B=1");
  // Quotes are removed; the legacy form keeps inner spaces.
  p = plan_ok("FROM scratch\nENV X=\"a b\" Y='$Z'\nENV L hello  world\n");
  CHECK(env_value(p.stages.at(0).config_env, "X") == "a b");
  CHECK(env_value(p.stages.at(0).config_env, "Y") == "$Z");
  CHECK(env_value(p.stages.at(0).config_env, "L") == "hello  world");
}

TEST_CASE("base image Env seeds expansion; PATH default only when missing") {
  PlanOptions o;
  o.resolve_base_image = [](const std::string& ref) -> std::optional<BaseImageInfo> {
    if (ref != "node:20") return std::nullopt;
    BaseImageInfo info;
    info.env = {"PATH=/opt/node/bin:/usr/bin", "NODE_VERSION=20.1"};
    info.working_dir = "/srv";
    info.user = "node";
    return info;
  };
  auto p = plan_ok("FROM node:20\nWORKDIR app-$NODE_VERSION\nRUN true\n", o);
  const auto& w = step_as<WorkdirInstruction>(p, 0, 0);
  CHECK(w.resolved == "/srv/app-20.1");
  CHECK(step(p, 0, 0).user == "node");
  CHECK(env_value(step(p, 0, 1).env, "PATH") == "/opt/node/bin:/usr/bin");
  CHECK(p.stages.at(0).config_env.size() == 2);
}

TEST_CASE("which instructions expand variables") {
  auto p = plan_ok(
      "FROM scratch\nARG D=/data\nARG U=app\nARG P=80\nARG S=SIGTERM\n"
      "RUN echo $D\nCMD echo $D\nENTRYPOINT [\"$D\"]\nSHELL [\"/bin/$U\"]\nHEALTHCHECK CMD $D\n"
      "MAINTAINER $U\nVOLUME $D\nUSER $U\nEXPOSE $P\nSTOPSIGNAL $S\nLABEL l=$U\n"
      "COPY --chown=$U --chmod=0755 src-$U $D/\nWORKDIR $D\n");
  CHECK(step_as<RunInstruction>(p, 0, 4).argv.back() == "echo $D");
  CHECK(step_as<CmdInstruction>(p, 0, 5).argv.back() == "echo $D");
  CHECK(step_as<EntrypointInstruction>(p, 0, 6).argv == std::vector<std::string>{"$D"});
  CHECK(step_as<ShellInstruction>(p, 0, 7).shell == std::vector<std::string>{"/bin/$U"});
  CHECK(step_as<HealthcheckInstruction>(p, 0, 8).test.back() == "$D");
  CHECK(step_as<MaintainerInstruction>(p, 0, 9).maintainer == "$U");
  CHECK(step_as<VolumeInstruction>(p, 0, 10).volumes == std::vector<std::string>{"/data"});
  CHECK(step_as<UserInstruction>(p, 0, 11).user == "app");
  CHECK(step_as<ExposeInstruction>(p, 0, 12).port_keys == std::vector<std::string>{"80/tcp"});
  CHECK(step_as<StopSignalInstruction>(p, 0, 13).signal == "SIGTERM");
  CHECK(step_as<LabelInstruction>(p, 0, 14).pairs[0].value == "app");
  const auto& c = step_as<CopyInstruction>(p, 0, 15);
  CHECK(c.chown == "app");
  CHECK(c.sources == std::vector<std::string>{"src-app"});
  CHECK(c.dest == "/data/");
  CHECK(step(p, 0, 15).created_by == "COPY --chown=app --chmod=0755 src-app /data/ # buildkit");
  CHECK(step_as<WorkdirInstruction>(p, 0, 16).resolved == "/data");
}

TEST_CASE("history strings of metadata instructions") {
  auto p = plan_ok(
      "FROM scratch\nCMD [\"a\", \"b c\"]\nENTRYPOINT echo \"hi\"\nSHELL [\"/bin/bash\", \"-c\"]\n"
      "HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://x/\nEXPOSE 9090/udp 8080\n"
      "VOLUME /a /b\nUSER me\nWORKDIR /\nSTOPSIGNAL 9\nMAINTAINER Jane\nONBUILD RUN x\nLABEL a=b c=d\n");
  const auto& steps = p.stages.at(0).steps;
  CHECK(steps[0].created_by == "CMD [\"a\" \"b c\"]");
  CHECK(steps[1].created_by == "ENTRYPOINT [\"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\"]");
  CHECK(steps[2].created_by == "SHELL [/bin/bash -c]");
  CHECK(steps[3].created_by ==
        "HEALTHCHECK {Test:[CMD-SHELL curl -f http://x/] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s "
        "Retries:3}");
  CHECK(steps[4].created_by == "EXPOSE [8080/tcp 9090/udp]");
  CHECK(steps[5].created_by == "VOLUME [/a /b]");
  CHECK(steps[6].created_by == "USER me");
  CHECK(steps[7].created_by == "WORKDIR /");
  CHECK(steps[7].empty_layer);
  CHECK(steps[8].created_by == "STOPSIGNAL 9");
  CHECK(steps[9].created_by == "MAINTAINER Jane");
  CHECK_FALSE(steps[10].adds_history);
  CHECK(steps[11].created_by == "LABEL a=b c=d");
  for (std::size_t i = 0; i < steps.size(); ++i) CHECK(steps[i].empty_layer);
}

TEST_CASE("SHELL applies to later shell-form RUN, CMD and ENTRYPOINT") {
  auto p = plan_ok("FROM scratch\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN a | b\nCMD c\n");
  CHECK(step_as<RunInstruction>(p, 0, 1).argv ==
        std::vector<std::string>{"/bin/bash", "-eo", "pipefail", "-c", "a | b"});
  CHECK(step(p, 0, 1).created_by == "RUN /bin/bash -eo pipefail -c a | b # buildkit");
  CHECK(step_as<CmdInstruction>(p, 0, 2).argv.front() == "/bin/bash");
}

TEST_CASE("RUN heredoc forms") {
  // One heredoc with #!: written to a file and executed.
  auto p = plan_ok("FROM scratch\nRUN <<EOF\n#!/bin/busybox sh\necho hi\nEOF\n");
  const auto& r = step_as<RunInstruction>(p, 0, 0);
  REQUIRE(r.script.has_value());
  CHECK(r.script->content == "#!/bin/busybox sh\necho hi\n");
  CHECK(r.argv == std::vector<std::string>{"/bin/sh", "-c", "/dev/pipes/EOF"});
  // One heredoc without #!: the body goes to the shell.
  p = plan_ok("FROM scratch\nRUN <<-EOF\n\techo a\n\techo b\n\tEOF\n");
  const auto& r2 = step_as<RunInstruction>(p, 0, 0);
  CHECK_FALSE(r2.script.has_value());
  CHECK(r2.argv == std::vector<std::string>{"/bin/sh", "-c", "echo a\necho b\n"});
  CHECK(step(p, 0, 0).created_by == "RUN /bin/sh -c echo a\necho b\n # buildkit");
  // Anything else: the text is rebuilt for the shell.
  p = plan_ok("FROM scratch\nRUN cat <<A > /a && cat <<B > /b\nfirst\nA\nsecond\nB\n");
  CHECK(step_as<RunInstruction>(p, 0, 0).argv.back() == "cat <<A > /a && cat <<B > /b\nfirst\nA\nsecond\nB");
  CHECK(step(p, 0, 0).range.end_line == 6);
}

TEST_CASE("RUN --mount values are expanded and defaulted") {
  auto p = plan_ok(
      "FROM scratch AS src\nFROM scratch\nARG C=/root/.cache\nWORKDIR /w\n"
      "RUN --mount=type=cache,target=$C --mount=type=secret,id=tok --mount=type=secret,target=/k/key "
      "--mount=from=src,target=rel,source=/out --mount=type=tmpfs,target=/t true\n");
  const auto& r = step_as<RunInstruction>(p, 1, 2);
  REQUIRE(r.mounts.size() == 5);
  CHECK(r.mounts[0].target == "/root/.cache");
  CHECK(r.mounts[0].id == "/root/.cache");
  CHECK(r.mounts[0].sharing == "shared");
  CHECK(r.mounts[1].target == "/run/secrets/tok");
  CHECK(r.mounts[2].id == "key");
  CHECK(r.mounts[3].target == "/w/rel");
  CHECK(r.mounts[3].from_stage == 0);
  CHECK(r.mounts[3].read_only);
  CHECK_FALSE(r.mounts[4].read_only);
  // The mount from= edge makes stage 0 reachable.
  REQUIRE(p.stages.size() == 2);
  REQUIRE(p.edges.size() == 1);
  CHECK(p.edges[0].kind == StageEdge::Kind::mount_from);
  CHECK(p.edges[0].step == 2);
  CHECK(first_line(plan_error("FROM scratch\nRUN --mount=type=cache,target=/ true\n")) ==
        "Dockerfile:2:13: invalid mount target \"/\"");
  CHECK(first_line(plan_error("FROM scratch\nARG T=cahce\nRUN --mount=type=$T,target=/x true\n")) ==
        "Dockerfile:3:13: unsupported mount type \"cahce\" (did you mean cache?)");
}

TEST_CASE("proxy build args reach RUN but not history unless declared") {
  PlanOptions o;
  o.build_args = {{"HTTP_PROXY", "http://p:3128"}, {"no_proxy", "localhost"}};
  auto p = plan_ok("FROM scratch\nRUN true\nARG HTTP_PROXY\nRUN true\n", o);
  const Step& r1 = step(p, 0, 0);
  CHECK(r1.created_by == "RUN /bin/sh -c true # buildkit");
  CHECK(env_value(r1.env, "HTTP_PROXY") == "<unset>");
  CHECK(env_value(r1.proxy_env, "HTTP_PROXY") == "http://p:3128");
  CHECK(env_value(r1.proxy_env, "no_proxy") == "localhost");
  const Step& r2 = step(p, 0, 2);
  CHECK(r2.created_by == "RUN |1 HTTP_PROXY=http://p:3128 /bin/sh -c true # buildkit");
  CHECK(env_value(r2.env, "HTTP_PROXY") == "http://p:3128");
  CHECK(env_value(r2.proxy_env, "HTTP_PROXY") == "<unset>");
  CHECK(p.unused_build_args.empty());
}

TEST_CASE("automatic platform args") {
  auto p = plan_ok("FROM scratch\nARG TARGETPLATFORM\nARG TARGETARCH\nARG BUILDOS\nRUN true\n");
  const Step& r = step(p, 0, 3);
  CHECK(env_value(r.env, "TARGETPLATFORM") == "linux/amd64");
  CHECK(env_value(r.env, "TARGETARCH") == "amd64");
  CHECK(env_value(r.env, "BUILDOS") == "linux");
  PlanOptions o;
  o.target_platform = "linux/arm64/v8";
  p = plan_ok("FROM --platform=$BUILDPLATFORM scratch AS b\nARG TARGETVARIANT\nRUN true\n", o);
  CHECK(env_value(step(p, 0, 1).env, "TARGETVARIANT") == "v8");
  CHECK(p.stages.at(0).base.platform == "linux/amd64");
  CHECK(first_line(plan_error("FROM --platform=$NOPE scratch\n")) ==
        "Dockerfile:1:1: empty platform value from expression $NOPE");
}

TEST_CASE("unused build args are a warning, not an error") {
  PlanOptions o;
  o.build_args = {{"NOPE", "1"}, {"USED", "2"}, {"http_proxy", "x"}, {"TARGETARCH", "arm64"}};
  auto p = plan_ok("FROM scratch\nARG USED\n", o);
  CHECK(p.unused_build_args == std::vector<std::string>{"NOPE"});
  bool warned = false;
  for (const auto& w : p.warnings) warned |= w.message.find("[NOPE]") != std::string::npos;
  CHECK(warned);
}

TEST_CASE("WORKDIR stacking and COPY destinations") {
  auto p = plan_ok("FROM scratch\nWORKDIR /a\nWORKDIR b/../c\nCOPY x .\nCOPY x y\nCOPY x y/\nCOPY x /abs/./z/\n");
  CHECK(step_as<WorkdirInstruction>(p, 0, 1).resolved == "/a/c");
  CHECK(step(p, 0, 1).created_by == "WORKDIR /a/c");
  CHECK_FALSE(step(p, 0, 1).empty_layer);
  CHECK(step_as<CopyInstruction>(p, 0, 2).resolved_dest == "/a/c/");
  CHECK(step_as<CopyInstruction>(p, 0, 3).resolved_dest == "/a/c/y");
  CHECK(step_as<CopyInstruction>(p, 0, 4).resolved_dest == "/a/c/y/");
  CHECK(step_as<CopyInstruction>(p, 0, 5).resolved_dest == "/abs/z/");
  CHECK(step(p, 0, 2).workdir == "/a/c");
  // An absolute WORKDIR is kept as written (BuildKit normalizeWorkdirUnix).
  p = plan_ok("FROM scratch\nWORKDIR /app/\nWORKDIR sub/\n");
  CHECK(step(p, 0, 0).created_by == "WORKDIR /app/");
  CHECK(step_as<WorkdirInstruction>(p, 0, 1).resolved == "/app/sub");
}

TEST_CASE("COPY/ADD value checks") {
  auto p = plan_ok("FROM scratch\nCOPY --chmod=755 a /b\nCOPY --chmod=u+x,go-w a /c\n");
  CHECK(*step_as<CopyInstruction>(p, 0, 0).chmod_mode == 0755);
  CHECK_FALSE(step_as<CopyInstruction>(p, 0, 1).chmod_mode.has_value());
  CHECK(first_line(plan_error("FROM scratch\nCOPY --chmod=10000 a /b\n")) ==
        "Dockerfile:2:6: invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777");
  CHECK(first_line(plan_error("FROM scratch\nCOPY --chmod=888 a /b\n")) ==
        "Dockerfile:2:6: invalid chmod parameter: '888'. it should be octal string and between 0 and 07777");
  CHECK(first_line(plan_error("FROM scratch\nCOPY https://x/a.txt /b\n")) ==
        "Dockerfile:2:6: source can't be a URL for COPY");
  CHECK(first_line(plan_error("FROM scratch\nCOPY https://github.com/a/b.git /b\n")) ==
        "Dockerfile:2:6: source can't be a git ref for COPY");
  CHECK(first_line(plan_error("FROM scratch\nADD --checksum=sha256:ab a /b\n")) ==
        "Dockerfile:2:5: checksum requires HTTP(S) or Git sources");
  CHECK(first_line(plan_error("FROM scratch\nADD --checksum=sha256:ab https://x/a https://x/b /b/\n")) ==
        "Dockerfile:2:5: checksum can't be specified for multiple sources");
  CHECK(first_line(plan_error("FROM scratch\nADD --checksum=md5:ab https://x/a /b\n")) ==
        "Dockerfile:2:5: unsupported digest algorithm");
  plan_ok("FROM scratch\nADD --checksum=sha256:" + std::string(64, 'a') + " https://x/a /b\n");
  CHECK(first_line(plan_error("FROM scratch\nCOPY a b /c\n")) ==
        "Dockerfile:2:10: When using COPY with more than one source file, the destination must be a directory and "
        "end with a /");
  plan_ok("FROM scratch\nWORKDIR /w\nCOPY a b ./\nCOPY a b .\n");
}

TEST_CASE("a NUL byte in a path-like argument is refused after expansion") {
  using namespace std::string_literals;
  // JSON "\u0000" would otherwise name "secret.txt" once cut at the NUL (a
  // file .dockerignore leaves out); docker refuses such a Dockerfile.
  CHECK(first_line(plan_error("FROM scratch\nCOPY [\"secret.txt\\u0000\",\"/s\"]\n")) ==
        "Dockerfile:2:8: COPY source \"secret.txt\\x00\" is not a valid path: it contains a NUL byte");
  CHECK(first_line(plan_error("FROM scratch\nADD [\"a\",\"/d\\u0000x\"]\n")) ==
        "Dockerfile:2:11: ADD destination \"/d\\x00x\" is not a valid path: it contains a NUL byte");
  // Through a variable: the NUL comes from the ARG value.
  CHECK(first_line(plan_error("FROM scratch\nARG D=a\0b\nWORKDIR /$D\n"s)) ==
        "Dockerfile:3:9: WORKDIR \"/a\\x00b\" is not a valid path: it contains a NUL byte");
  CHECK(first_line(plan_error("FROM scratch\nARG D=a\0b\nCOPY x /$D\n"s)) ==
        "Dockerfile:3:8: COPY destination \"/a\\x00b\" is not a valid path: it contains a NUL byte");
  CHECK(first_line(plan_error("FROM scratch\nVOLUME [\"/v\\u0000\"]\n")) ==
        "Dockerfile:2:10: VOLUME \"/v\\x00\" is not a valid path: it contains a NUL byte");
  CHECK(first_line(plan_error("FROM scratch\nARG D=a\0b\nRUN --mount=type=bind,source=$D,target=/m true\n"s)) ==
        "Dockerfile:3:13: mount source \"a\\x00b\" is not a valid path: it contains a NUL byte");
  CHECK(first_line(plan_error("FROM scratch\nARG D=a\0b\nRUN --mount=type=cache,target=/$D true\n"s)) ==
        "Dockerfile:3:13: mount target \"/a\\x00b\" is not a valid path: it contains a NUL byte");
  plan_ok("FROM scratch\nCOPY [\"a\\u0001\",\"/s\"]\nWORKDIR /w\n");
}

TEST_CASE("COPY heredoc bodies: expanded unless the delimiter is quoted") {
  PlanOptions o;
  o.build_args = {{"NAME", "moon"}};
  auto p = plan_ok("FROM scratch\nARG NAME=world\nCOPY <<EOF <<'RAW' /d/\nhi '${NAME}' \\$NAME\nEOF\n$NAME\nRAW\n", o);
  const auto& c = step_as<CopyInstruction>(p, 0, 1);
  CHECK(c.inline_sources[0].content == "hi 'moon' $NAME\n");
  CHECK(c.inline_sources[1].content == "$NAME\n");
  CHECK(step(p, 0, 1).created_by == "COPY <<EOF <<RAW /d/ # buildkit");
}

TEST_CASE("ENTRYPOINT clears the inherited CMD unless CMD was set earlier in the stage") {
  auto p = plan_ok("FROM scratch AS a\nCMD x\nFROM a\nENTRYPOINT y\nCMD z\nENTRYPOINT w\n");
  CHECK(step_as<EntrypointInstruction>(p, 1, 0).clears_cmd);
  CHECK_FALSE(step_as<EntrypointInstruction>(p, 1, 2).clears_cmd);
  CHECK(p.find_stage(1)->cmd_set);
  CHECK(p.find_stage(0)->cmd_set);
}

TEST_CASE("EXPOSE ports: expansion, ranges, protocols, errors") {
  auto p = plan_ok("FROM scratch\nARG PORTS=\"80 443/TCP\"\nEXPOSE $PORTS 7000-7002/udp 80\n");
  CHECK(step_as<ExposeInstruction>(p, 0, 1).port_keys ==
        std::vector<std::string>{"80/tcp", "443/tcp", "7000/udp", "7001/udp", "7002/udp"});
  // BuildKit sorts the words as written ("$PORTS" first), expands, records every port/proto
  CHECK(step(p, 0, 1).created_by == "EXPOSE [80/tcp 443/tcp 7000/udp 7001/udp 7002/udp 80/tcp]");
  CHECK(plan_ok("FROM scratch\nEXPOSE 2375 5000 1234/udp\n").stages[0].steps[0].created_by ==
        "EXPOSE [1234/udp 2375/tcp 5000/tcp]");
  CHECK(first_line(plan_error("FROM scratch\nEXPOSE 80/xtp\n")) == "Dockerfile:2:8: invalid proto: xtp");
  CHECK(first_line(plan_error("FROM scratch\nEXPOSE 99999\n")) == "Dockerfile:2:8: invalid containerPort: 99999");
}

TEST_CASE("STOPSIGNAL is validated after expansion") {
  plan_ok("FROM scratch\nSTOPSIGNAL SIGKILL\nSTOPSIGNAL usr1\nSTOPSIGNAL 15\nSTOPSIGNAL RTMIN+3\n");
  CHECK(first_line(plan_error("FROM scratch\nSTOPSIGNAL SIGFOO\n")) == "Dockerfile:2:1: Invalid signal: SIGFOO");
  CHECK(first_line(plan_error("FROM scratch\nSTOPSIGNAL 0\n")) == "Dockerfile:2:1: Invalid signal: 0");
}

TEST_CASE("ONBUILD triggers of the base run first") {
  // From an earlier stage.
  auto p = plan_ok("FROM scratch AS base\nONBUILD RUN echo trig\nONBUILD ENV T=1\nFROM base\nRUN echo own\n");
  const Stage* st = p.find_stage(1);
  REQUIRE(st != nullptr);
  REQUIRE(st->steps.size() == 3);
  CHECK(st->steps[0].from_onbuild);
  CHECK(st->steps[0].created_by == "RUN /bin/sh -c echo trig # buildkit");
  CHECK(st->steps[0].range.start_line == 4);
  CHECK(env_value(st->config_env, "T") == "1");
  CHECK_FALSE(st->steps[2].from_onbuild);
  // From an image config, parsed first; triggers may reference stages.
  PlanOptions o;
  o.resolve_base_image = [](const std::string& ref) -> std::optional<BaseImageInfo> {
    BaseImageInfo info;
    if (ref == "onbuild-img") info.onbuild = {"COPY --from=helper /x /x", "RUN make"};
    return info;
  };
  p = plan_ok("FROM scratch AS helper\nFROM onbuild-img\nRUN echo own\n", o);
  REQUIRE(p.stages.size() == 2);
  const Stage* last = p.find_stage(1);
  REQUIRE(last->steps.size() == 3);
  CHECK(last->steps[0].keyword == "COPY");
  CHECK(std::get<CopyInstruction>(last->steps[0].instruction).from_stage == 0);
  REQUIRE(p.edges.size() == 1);
  CHECK(p.edges[0].step == 0);
}

TEST_CASE("variable expansion errors are located at the instruction") {
  std::string e = plan_error("FROM scratch\nARG R\nENV X=${R:?needed}\n");
  CHECK(e.find("Dockerfile:3:7: ") == 0);
  CHECK(e.find("R: needed") != std::string::npos);
  CHECK(e.find(" >>> 3 | ENV X=${R:?needed}\n") != std::string::npos);
  e = plan_error("FROM scratch\nWORKDIR ${}\n");
  CHECK(e.find("Dockerfile:2:1: ") == 0);
  CHECK(e.find("bad substitution") != std::string::npos);
}

TEST_CASE("plan renderings") {
  auto p = plan_ok("FROM scratch AS a\nRUN echo hi\nFROM scratch\nCOPY --from=a /x /y\n");
  std::string text = format_plan_text(p);
  CHECK(text.find("stage 0 (a): FROM scratch") != std::string::npos);
  CHECK(text.find("created_by: RUN /bin/sh -c echo hi # buildkit") != std::string::npos);
  CHECK(text.find("stage 1 (stage-1) -> stage 0 (a)  copy_from (step 1)") != std::string::npos);
  std::string json = format_plan_json(p);
  CHECK(json.find("\"created_by\": \"COPY /x /y # buildkit\"") != std::string::npos);
  CHECK(json.find("\"kind\": \"copy_from\"") != std::string::npos);
}

TEST_CASE("RUN gets undeclared proxy args outside the key; declared ones stay ARGs") {
  PlanOptions opts;
  opts.build_args = {{"http_proxy", "hp"}, {"FOO", "f"}};
  auto plan = plan_test::plan_ok("FROM scratch\nARG FOO\nRUN true\n", opts);
  const auto& run = plan.stages.back().steps.back();
  CHECK(run.proxy_env == std::vector<std::string>{"HTTP_PROXY=hp", "http_proxy=hp"});
  CHECK(std::find(run.env.begin(), run.env.end(), "FOO=f") != run.env.end());
  opts.build_args = {{"HTTP_PROXY", "hp"}};
  plan = plan_test::plan_ok("FROM scratch\nARG HTTP_PROXY\nRUN true\n", opts);
  const auto& declared = plan.stages.back().steps.back();
  CHECK(declared.proxy_env == std::vector<std::string>{"http_proxy=hp"});
  CHECK(std::find(declared.env.begin(), declared.env.end(), "HTTP_PROXY=hp") != declared.env.end());
}
