// The parse/plan-level expectations of testdata/handed/cases (01, 03, 04, 06, 07,
// 16, 17): checked on the Plan (RUN argv and environments, config Env,
// inline files, WORKDIR, history strings). The build-level expectations are
// checked by the case scripts against the real builder.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan_test_util.hpp"

using namespace plan_test;
namespace fs = std::filesystem;

namespace {

std::string case_file(const std::string& name, const std::string& file = "Dockerfile") {
  const char* env = std::getenv("MKIMAGE_HANDED_DIR");
  fs::path p = fs::path(env && *env ? env : MKIMAGE_HANDED_DIR) / "cases" / name / file;
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PlanOptions with_args(std::map<std::string, std::string> args, const std::string& target = "") {
  PlanOptions o;
  o.build_args = std::move(args);
  o.target = target;
  return o;
}

const std::string k_path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

TEST_CASE("case 01: continuations with comment and blank lines; backslash after mid-line #") {
  auto p = plan_ok(case_file("01-continuation-comments"));
  REQUIRE(p.stages.size() == 1);
  const auto& steps = p.stages[0].steps;
  REQUIRE(steps.size() == 6);  // FROM + COPY + 5 RUN: `RUN echo delta` is not an instruction
  CHECK(steps[0].keyword == "COPY");
  for (std::size_t i = 1; i < steps.size(); ++i) CHECK(steps[i].keyword == "RUN");
  CHECK(std::get<RunInstruction>(steps[1].instruction).argv ==
        std::vector<std::string>{"/bin/busybox", "--install", "-s", "/bin"});
  CHECK(std::get<RunInstruction>(steps[2].instruction).argv.back() ==
        "echo one > /r1 &&     echo two >> /r1 &&     echo three >> /r1");
  CHECK(std::get<RunInstruction>(steps[3].instruction).argv.back() == "echo alpha > /r2 &&     echo beta >> /r2");
  CHECK(steps[4].created_by ==
        "RUN /bin/sh -c echo gamma > /r3 # trailing text that ends in a backslash RUN echo delta >> /r3 # buildkit");
  CHECK(std::get<RunInstruction>(steps[5].instruction).argv.back() == "echo eps > /r4 &&     echo zeta >> /r4");
  bool empty_continuation = false;
  for (const auto& w : p.warnings) empty_continuation |= w.rule == "NoEmptyContinuation";
  CHECK(empty_continuation);
}

TEST_CASE("case 03: COPY heredocs keep quotes, expand only with an unquoted delimiter, <<- strips tabs") {
  const std::string df = case_file("03-heredoc-copy");
  for (const std::string name : {"world", "moon"}) {
    CAPTURE(name);
    auto p = plan_ok(df, name == "moon" ? with_args({{"NAME", "moon"}}) : PlanOptions{});
    const auto& steps = p.stages.at(0).steps;
    REQUIRE(steps.size() == 6);
    auto inline_of = [&](std::size_t i) { return std::get<CopyInstruction>(steps[i].instruction).inline_sources; };
    CHECK(inline_of(1).at(0).content == "say \"hi\" to '" + name + "' but keep $NAME\n");
    CHECK(std::get<CopyInstruction>(steps[1].instruction).resolved_dest == "/expanded.txt");
    CHECK(inline_of(2).at(0).content == "keep \"${NAME}\" and \\$NAME as written\n");
    CHECK(inline_of(3).at(0).content == "one leading tab\ntwo leading tabs\n    four leading spaces\n");
    const auto& run_sh = std::get<CopyInstruction>(steps[4].instruction);
    CHECK(run_sh.inline_sources.at(0).content == "#!/bin/sh\necho \"${NAME}\"\n");
    CHECK(*run_sh.chmod_mode == 0755);
    const auto& multi = std::get<CopyInstruction>(steps[5].instruction);
    REQUIRE(multi.inline_sources.size() == 2);
    CHECK(multi.inline_sources[0].name == "A");
    CHECK(multi.inline_sources[0].content == "first body\n");
    CHECK(multi.inline_sources[1].name == "B");
    CHECK(multi.inline_sources[1].content == "second body\n");
    CHECK(multi.resolved_dest == "/multi/");
    CHECK(steps[5].created_by == "COPY <<A <<B /multi/ # buildkit");
  }
}

TEST_CASE("case 04: global ARGs only in FROM; stage ARGs per stage; build args") {
  const std::string df = case_file("04-arg-scope");
  struct Expect {
    PlanOptions opts;
    std::string greeting, local;
  };
  for (const auto& e : {Expect{{}, "hi", "stage-one"},
                        Expect{with_args({{"GREETING", "yo"}, {"LOCAL", "x"}, {"UNUSED", "u"}}), "yo", "x"}}) {
    CAPTURE(e.greeting);
    auto p = plan_ok(df, e.opts);
    REQUIRE(p.stages.size() == 2);
    for (const auto& st : p.stages) {
      CHECK(st.base.kind == StageBase::Kind::scratch);  // FROM ${BASE} → scratch
      for (const std::string k : {"GREETING", "LOCAL", "BASE", "UNUSED"}) CHECK(env_value(st.config_env, k) == "<unset>");
    }
    const Step& before = step(p, 0, 2);  // RUN echo "g=[$GREETING] b=[$BASE]"
    CHECK(env_value(before.env, "GREETING") == "<unset>");
    CHECK(env_value(before.env, "BASE") == "<unset>");
    const Step& after = step(p, 0, 5);
    CHECK(env_value(after.env, "GREETING") == e.greeting);
    CHECK(env_value(after.env, "UNUSED") == "<unset>");
    CHECK(env_value(after.env, "LOCAL") == e.local);
    CHECK(after.created_by == "RUN |2 GREETING=" + e.greeting + " LOCAL=" + e.local +
                                  " /bin/sh -c echo \"g=[$GREETING] u=[$UNUSED] l=[$LOCAL]\" > /after.txt # buildkit");
    const Step& second = step(p, 1, 1);
    CHECK(env_value(second.env, "LOCAL") == "<unset>");
    CHECK(env_value(second.env, "GREETING") == "<unset>");
    CHECK(std::get<CopyInstruction>(step(p, 1, 0).instruction).from_stage == 0);
    CHECK(p.unused_build_args.empty());  // UNUSED is declared (globally): no error either way
  }
  auto first = plan_ok(df, with_args({}, "first"));
  REQUIRE(first.stages.size() == 1);
  CHECK(first.stages[0].config_env == std::vector<std::string>{k_path});
}

TEST_CASE("case 06: ${V:-w} ${V-w} ${V:+w} ${V+w} and ${V:?m}; RUN text left to the shell") {
  const std::string df = case_file("06-var-modifiers");
  auto a = plan_ok(df);
  CHECK(a.stages.at(0).config_env ==
        std::vector<std::string>{k_path,  "R1=value", "R2=dflt", "R3=dflt", "R4=",  "R5=dflt", "R6=alt",
                                 "R7=",   "R8=",      "R9=alt",  "R10=",    "R11=value-nested", "R12=${SET}"});
  CHECK(step_as<WorkdirInstruction>(a, 0, 6).resolved == "/w-none");
  const auto& run = step_as<RunInstruction>(a, 0, 7);
  CHECK(run.argv.back() == "v=file.tar.gz; echo \"${v%.gz}|${v#file.}|${R3}|${UNSET:-shell-dflt}\" > /shell.txt");
  CHECK(env_value(step(a, 0, 7).env, "UNSET") == "<unset>");
  CHECK(env_value(step(a, 0, 7).env, "EMPTY") == "");

  auto b = plan_ok(df, with_args({{"UNSET", "given"}}));
  const auto& env = b.stages.at(0).config_env;
  CHECK(env_value(env, "R3") == "given");
  CHECK(env_value(env, "R5") == "given");
  CHECK(env_value(env, "R8") == "alt");
  CHECK(env_value(env, "R10") == "alt");
  CHECK(env_value(env, "R11") == "given");
  CHECK(env_value(env, "R4") == "");
  CHECK(env_value(env, "R12") == "${SET}");
  CHECK(step_as<WorkdirInstruction>(b, 0, 6).resolved == "/w-given");
  CHECK(env_value(step(b, 0, 7).env, "UNSET") == "given");

  const std::string req = case_file("06-var-modifiers", "Dockerfile.required");
  for (const auto& opts : {PlanOptions{}, with_args({{"REQUIRED", ""}})}) {
    std::string e = plan_error(req, opts);
    CHECK(e.find("Dockerfile:3:") == 0);
    CHECK(e.find("REQUIRED: required-arg-missing") != std::string::npos);
  }
  auto ok = plan_ok(req, with_args({{"REQUIRED", "ok"}}));
  CHECK(env_value(ok.stages.at(0).config_env, "X") == "ok");
}

TEST_CASE("case 07: several sources need a directory destination") {
  std::string e = plan_error(case_file("07-copy-multi-src-dest", "Dockerfile.explicit"));
  CHECK(first_line(e) ==
        "Dockerfile:2:22: When using COPY with more than one source file, the destination must be a directory and "
        "end with a /");
  // A wildcard's match count is only known to the builder: the plan keeps the
  // destination as a file path for it to check.
  auto w = plan_ok(case_file("07-copy-multi-src-dest"));
  CHECK(step_as<CopyInstruction>(w, 0, 0).resolved_dest == "/bundle.txt");
  auto ok = plan_ok(case_file("07-copy-multi-src-dest", "Dockerfile.ok"));
  const std::vector<std::string> dests = {"/single", "/dir-a/", "/dir-b/", "/dir-c/renamed.dat", "/dir-d/"};
  for (std::size_t i = 0; i < dests.size(); ++i) CHECK(step_as<CopyInstruction>(ok, 0, i).resolved_dest == dests[i]);
}

TEST_CASE("case 16: WORKDIR expands ENV, stacks relative paths, runs as the current USER") {
  auto p = plan_ok(case_file("16-workdir-user"));
  const auto& steps = p.stages.at(0).steps;
  REQUIRE(steps.size() == 11);
  CHECK(std::get<WorkdirInstruction>(steps[5].instruction).resolved == "/srv/app");
  CHECK(steps[5].user == "1000:1000");
  CHECK_FALSE(steps[5].empty_layer);
  CHECK(std::get<WorkdirInstruction>(steps[6].instruction).resolved == "/srv/app/sub");
  CHECK(steps[6].user == "1000:1000");
  CHECK(steps[7].workdir == "/srv/app/sub");
  CHECK(steps[7].user == "1000:1000");
  CHECK(steps[10].workdir == "/srv");
  CHECK(steps[10].user == "0:0");
  CHECK(env_value(p.stages[0].config_env, "BASEDIR") == "/srv");
}

TEST_CASE("case 17: ENTRYPOINT clears an inherited CMD; single-quoted JSON is shell form; EXPOSE") {
  const std::string df = case_file("17-entrypoint-cmd-config");
  auto base = plan_ok(df, with_args({}, "base"));
  CHECK(step_as<CmdInstruction>(base, 0, 1).argv == std::vector<std::string>{"/bin/busybox", "echo", "from-base"});
  CHECK(step_as<ExposeInstruction>(base, 0, 2).port_keys == std::vector<std::string>{"8080/tcp", "9090/udp"});
  CHECK(base.stages.at(0).config_env == std::vector<std::string>{k_path, "KEEP=1"});
  for (std::size_t i = 1; i < 4; ++i) CHECK(step(base, 0, i).empty_layer);

  auto entry = plan_ok(df, with_args({}, "entry-only"));
  const auto& ep = step_as<EntrypointInstruction>(entry, 1, 0);
  CHECK(ep.argv == std::vector<std::string>{"/bin/busybox", "echo"});
  CHECK(ep.clears_cmd);
  CHECK(entry.find_stage(1)->config_env == std::vector<std::string>{k_path, "KEEP=1"});

  auto final_ = plan_ok(df);
  REQUIRE(final_.stages.size() == 2);  // base and cmd-then-entry; entry-only is not reachable
  const auto& cmd = step_as<CmdInstruction>(final_, 2, 0);
  CHECK(cmd.argv == std::vector<std::string>{"/bin/sh", "-c", "['/bin/busybox', 'echo', 'single-quoted']"});
  const auto& ep2 = step_as<EntrypointInstruction>(final_, 2, 1);
  CHECK(ep2.argv == std::vector<std::string>{"/bin/sh", "-c", "/bin/busybox echo shell-form"});
  CHECK_FALSE(ep2.clears_cmd);
}
