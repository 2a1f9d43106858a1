// Build checks (parser/checks): BuildKit's linter rules, their exact messages and
// URLs, the check options and the per-instruction `# check=` comments.
#include <doctest/doctest.h>

#include "parser/ast.hpp"
#include "parser/checks/checks.hpp"
#include "parser/checks/rules.hpp"
#include "parser/path_match.hpp"

using namespace mkimage::parser;
using namespace mkimage::parser::checks;

namespace {

// "LINE|Rule|detail" of every warning, in report order.
std::vector<std::string> run(const std::string& text, CheckOptions opts = {}) {
  auto ast = parse_dockerfile(text);
  REQUIRE(ast.ok());
  if (opts.stages.empty()) opts.all_stages = true;
  auto report = run_checks(*ast, opts);
  REQUIRE(report.ok());
  std::vector<std::string> out;
  for (const auto& w : report->warnings) out.push_back(std::to_string(w.line) + "|" + w.rule + "|" + w.detail);
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("every rule has BuildKit's name, description and documentation URL") {
  CHECK(all_rules().size() == 22);
  CHECK(rule("FromAsCasing").url == "https://docs.docker.com/go/dockerfile/rule/from-as-casing/");
  CHECK(rule("JSONArgsRecommended").url == "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
  CHECK(rule("FromPlatformFlagConstDisallowed").url ==
        "https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/");
  CHECK(rule("InvalidBaseImagePlatform").url.empty());
  CHECK(rule("UndefinedVar").description == "Variables should be defined before their use");
  CHECK(rule("InvalidDefinitionDescription").experimental);
  CHECK_FALSE(rule("CopyIgnoredFile").experimental);
  CHECK_THROWS(rule("NoSuchRule"));
}

TEST_CASE("rule messages are BuildKit's, word for word") {
  CHECK(message::stage_name_casing("Bad") == "Stage name 'Bad' should be lowercase");
  CHECK(message::from_as_casing("FROM", "as") == "'as' and 'FROM' keywords' casing do not match");
  CHECK(message::no_empty_continuation() == "Empty continuation line");
  CHECK(message::consistent_instruction_casing("copy", "uppercase") ==
        "Command 'copy' should match the case of the command majority (uppercase)");
  CHECK(message::duplicate_stage_name("b") == "Duplicate stage name \"b\", stage names should be unique");
  CHECK(message::reserved_stage_name("scratch") == "Stage name should not use the same name as reserved stage \"scratch\"");
  CHECK(message::json_args_recommended("CMD") ==
        "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals");
  CHECK(message::maintainer_deprecated() == "Maintainer instruction is deprecated in favor of using label");
  CHECK(message::undefined_arg_in_from("version", "") == "FROM argument 'version' is not declared");
  CHECK(message::undefined_arg_in_from("MYARCH", "MY_ARCH") ==
        "FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)");
  CHECK(message::workdir_relative_path("app/") ==
        "Relative workdir \"app/\" can have unexpected results if the base image changes");
  CHECK(message::undefined_var("PAHT", "PATH") == "Usage of undefined variable '$PAHT' (did you mean $PATH?)");
  CHECK(message::multiple_instructions_disallowed("CMD") ==
        "Multiple CMD instructions should not be used in the same stage because only the last one will be used");
  CHECK(message::legacy_key_value_format("ENV") == "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format");
  CHECK(message::invalid_base_image_platform("img", "linux/amd64", "linux/arm64") ==
        "Base image img was pulled with platform \"linux/arm64\", expected \"linux/amd64\" for current build");
  CHECK(message::redundant_target_platform("$TARGETPLATFORM") ==
        "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior");
  CHECK(message::secrets_used_in_arg_or_env("ARG", "token") ==
        "Do not use ARG or ENV instructions for sensitive data (ARG \"token\")");
  CHECK(message::invalid_default_arg_in_from("$IMAGE") ==
        "Default value for ARG $IMAGE results in empty or invalid base image name");
  CHECK(message::from_platform_flag_const_disallowed("linux/amd64") ==
        "FROM --platform flag should not use constant value \"linux/amd64\"");
  CHECK(message::copy_ignored_file("Add", "Dockerfile") ==
        "Attempting to Add file \"Dockerfile\" that is excluded by .dockerignore");
  CHECK(message::invalid_definition_description("ARG", "foo") ==
        "Comment for ARG should follow the format: `# foo <description>`");
  CHECK(message::expose_proto_casing("80/TcP") == "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase");
  CHECK(message::expose_invalid_format("5000:5000") ==
        "EXPOSE instruction should not define an IP address or host-port mapping, found '5000:5000'");
}

TEST_CASE("check options: skip, error, experimental and BuildKit's errors") {
  auto c = parse_check_options(" skip = FromAsCasing, StageNameCasing ; error=true");
  REQUIRE(c.ok());
  CHECK(c->skip == std::set<std::string>{"FromAsCasing", "StageNameCasing"});
  CHECK(c->error);
  CHECK_FALSE(c->skip_all);
  c = parse_check_options("skip=all;experimental=all;error=0");
  REQUIRE(c.ok());
  CHECK(c->skip_all);
  CHECK(c->experimental_all);
  CHECK_FALSE(c->error);
  CHECK(parse_check_options("").ok());
  CHECK(parse_check_options("foo").error().message == "invalid check option \"foo\"");
  CHECK(parse_check_options("nope=1").error().message == "invalid check option \"nope\"");
  CHECK(parse_check_options("error=maybe").error().message ==
        "failed to parse check option \"error=maybe\": strconv.ParseBool: parsing \"maybe\": invalid syntax");
}

TEST_CASE("syntax rules: casing, stage names, MAINTAINER, empty continuation lines") {
  CHECK(run("FROM scratch AS BadName\n") == Lines{"1|StageNameCasing|Stage name 'BadName' should be lowercase"});
  CHECK(run("FROM scratch as base\n") == Lines{"1|FromAsCasing|'as' and 'FROM' keywords' casing do not match"});
  CHECK(run("from scratch AS base\n") == Lines{"1|FromAsCasing|'AS' and 'from' keywords' casing do not match"});
  CHECK(run("From scratch as base\nFROM scratch AS b2\n") ==
        Lines{"1|ConsistentInstructionCasing|Command 'From' should match the case of the command majority (uppercase)"});
  CHECK(run("from scratch\nCOPY a /a\ncopy b /b\n") ==
        Lines{"2|ConsistentInstructionCasing|Command 'COPY' should match the case of the command majority (lowercase)"});
  CHECK(run("FROM scratch AS b\nFROM scratch AS b\n") ==
        Lines{"2|DuplicateStageName|Duplicate stage name \"b\", stage names should be unique"});
  CHECK(run("FROM scratch AS context\n") ==
        Lines{"1|ReservedStageName|Stage name should not use the same name as reserved stage \"context\""});
  CHECK(run("FROM scratch\nMAINTAINER me\n") ==
        Lines{"2|MaintainerDeprecated|Maintainer instruction is deprecated in favor of using label"});
  CHECK(run("FROM scratch\nCOPY a \\\n\n.\n") == Lines{"4|NoEmptyContinuation|Empty continuation line"});
  CHECK(run("FROM scratch\nRUN <<EOT\nenv\nEOT\n").empty());
}

TEST_CASE("a bad instruction stops the checks after the ones before it") {
  CHECK(run("FROM scratch AS Bad\nMAINTAINER me\nBADCMD\nFROM scratch AS Bad2\n") ==
        Lines{"1|StageNameCasing|Stage name 'Bad' should be lowercase",
              "2|MaintainerDeprecated|Maintainer instruction is deprecated in favor of using label"});
}

TEST_CASE("FROM rules: undeclared and invalid default args, platform flags") {
  CHECK(run("FROM --platform=$BULIDPLATFORM scratch\n") ==
        Lines{"1|UndefinedArgInFrom|FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"});
  CHECK(run("ARG DEBUG\nFROM scratch${DEBUG}\n").empty());
  CHECK(run("ARG tag=latest\nFROM busybox:${tag}${version}\n") ==
        Lines{"2|UndefinedArgInFrom|FROM argument 'version' is not declared"});
  CheckOptions o;
  o.build_args = {{"IMAGE", "busybox"}};
  CHECK(run("ARG IMAGE\nFROM $IMAGE\n", o) ==
        Lines{"2|InvalidDefaultArgInFrom|Default value for ARG $IMAGE results in empty or invalid base image name"});
  CHECK(run("ARG V=latest\nFROM busybox:${V}\n").empty());
  CHECK(run("ARG R=[::1]:5000/app:1\nFROM ${R}\n").empty());
  CHECK(run("ARG R=localhost:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nFROM ${R}\n").empty());
  CHECK(run("ARG R=Busybox\nFROM ${R}\n").size() == 1);
  CHECK(run("FROM --platform=${TARGETPLATFORM} scratch\n") ==
        Lines{"1|RedundantTargetPlatform|Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as "
              "this is the default behavior"});
  CHECK(run("FROM --platform=linux/amd64 scratch\n") ==
        Lines{"1|FromPlatformFlagConstDisallowed|FROM --platform flag should not use constant value \"linux/amd64\""});
  CHECK(run("FROM --platform=linux/amd64 scratch AS build_amd64\n").empty());
}

TEST_CASE("InvalidBaseImagePlatform compares the base image's platform with the target's") {
  CheckOptions o;
  o.base_image = [](const std::string&) { return BaseImage{{}, {}, "linux/arm64"}; };
  CHECK(run("FROM img:1\n", o) ==
        Lines{"1|InvalidBaseImagePlatform|Base image img:1 was pulled with platform \"linux/arm64\", expected "
              "\"linux/amd64\" for current build"});
  o.base_image = [](const std::string&) { return BaseImage{{}, {}, "linux/amd64"}; };
  CHECK(run("FROM img:1\n", o).empty());
}

TEST_CASE("stage rules: undefined variables, with the stage's ARG/ENV scope") {
  CHECK(run("FROM scratch\nCOPY $foo .\nARG foo=bar\nCOPY $foo .\n") ==
        Lines{"2|UndefinedVar|Usage of undefined variable '$foo'"});
  CHECK(run("FROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n").empty());
  CHECK(run("FROM scratch AS base\nARG foo=x\nFROM base\nCOPY $foo .\n").empty());
  CHECK(run("FROM scratch\nENV PATH=$PAHT:/bin\n") ==
        Lines{"2|UndefinedVar|Usage of undefined variable '$PAHT' (did you mean $PATH?)"});
  CHECK(run("FROM scratch\nRUN echo $nothing\n").empty());
  CheckOptions o;
  o.base_image = [](const std::string&) { return BaseImage{{"FROM_IMAGE=1"}, {}, ""}; };
  CHECK(run("FROM img\nWORKDIR /$FROM_IMAGE\n", o).empty());
}

TEST_CASE("stage rules: only the stages the build runs, unless every stage is asked for") {
  const std::string df = "FROM scratch AS first\nCOPY $foo .\nFROM scratch AS second\nCOPY $bar .\n";
  CHECK(run(df).size() == 2);
  CheckOptions o;
  o.stages = {1};
  CHECK(run(df, o) == Lines{"4|UndefinedVar|Usage of undefined variable '$bar'"});
}

TEST_CASE("stage rules: legacy key/value, secrets, JSON args, repeated instructions, relative WORKDIR") {
  CHECK(run("FROM scratch\nENV k v\nLABEL k v\n") ==
        Lines{"2|LegacyKeyValueFormat|\"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
              "3|LegacyKeyValueFormat|\"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format"});
  CHECK(run("FROM scratch\nENV password=bar secret_File=baz\nARG AUTH_MODULE_VERSION\nARG public_token\n") ==
        Lines{"2|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ENV \"password\")"});
  CHECK(run("FROM scratch\nENTRYPOINT mycommand\n") ==
        Lines{"2|JSONArgsRecommended|JSON arguments recommended for ENTRYPOINT to prevent unintended behavior "
              "related to OS signals"});
  CHECK(run("FROM scratch\nSHELL [\"/bin/x\"]\nCMD mycommand\n").empty());
  CHECK(run("FROM scratch\nCMD [\"a\"]\nCMD [\"b\"]\n") ==
        Lines{"2|MultipleInstructionsDisallowed|Multiple CMD instructions should not be used in the same stage "
              "because only the last one will be used"});
  CHECK(run("FROM scratch\nWORKDIR app/\nWORKDIR more\n") ==
        Lines{"2|WorkdirRelativePath|Relative workdir \"app/\" can have unexpected results if the base image changes"});
  CHECK(run("FROM scratch\nEXPOSE 80/TCP 1.2.3.4:80:80\n") ==
        Lines{"2|ExposeProtoCasing|Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
              "2|ExposeInvalidFormat|EXPOSE instruction should not define an IP address or host-port mapping, found "
              "'1.2.3.4:80:80'"});
}

TEST_CASE("CopyIgnoredFile: context sources only, never with exceptions in .dockerignore") {
  auto m = PatternMatcher::create({"Dockerfile"});
  REQUIRE(m.ok());
  CheckOptions o;
  o.dockerignore = &*m;
  CHECK(run("FROM scratch\nCOPY Dockerfile .\nADD ./Dockerfile /x\nCOPY --from=img Dockerfile .\n", o) ==
        Lines{"2|CopyIgnoredFile|Attempting to Copy file \"Dockerfile\" that is excluded by .dockerignore",
              "3|CopyIgnoredFile|Attempting to Add file \"Dockerfile\" that is excluded by .dockerignore"});
  auto star = PatternMatcher::create({"*"});
  o.dockerignore = &*star;
  CHECK(run("FROM scratch\nCOPY . .\n", o) ==
        Lines{"2|CopyIgnoredFile|Attempting to Copy file \".\" that is excluded by .dockerignore"});
  auto with_exception = PatternMatcher::create({"**", "!Dockerfile"});
  o.dockerignore = &*with_exception;
  CHECK(run("FROM scratch\nCOPY x .\n", o).empty());
}

TEST_CASE("the directive, the build arg and the comments above an instruction configure the checks") {
  CHECK(run("# check=skip=FromAsCasing\nFROM scratch as base\n").empty());
  CHECK(run("# check=skip=all\nFROM scratch as base\n").empty());
  CheckOptions o;
  o.build_args = {{"BUILDKIT_DOCKERFILE_CHECK", "skip=StageNameCasing"}};
  CHECK(run("# check=skip=all\nFROM scratch as Base\n", o) ==
        Lines{"2|FromAsCasing|'as' and 'FROM' keywords' casing do not match"});
  CHECK(run("FROM scratch\n# check=skip=MaintainerDeprecated // fine here\nMAINTAINER me\nMAINTAINER you\n") ==
        Lines{"4|MaintainerDeprecated|Maintainer instruction is deprecated in favor of using label"});
  // an empty `#` line ends the comment block above the instruction
  CHECK(run("FROM scratch\n# check=skip=MaintainerDeprecated\n#\nMAINTAINER me\n").size() == 1);
  // experimental rules run only when named
  CHECK(run("# check=experimental=InvalidDefinitionDescription\n# bar the bar\nARG foo=1\nFROM scratch\n") ==
        Lines{"3|InvalidDefinitionDescription|Comment for ARG should follow the format: `# foo <description>`"});
  CHECK(run("# bar the bar\nARG foo=1\nFROM scratch\n").empty());
}

TEST_CASE("error=true turns warnings into one error naming the rules") {
  auto ast = parse_dockerfile("# check=error=true\nFROM scratch as Base\n");
  REQUIRE(ast.ok());
  auto report = run_checks(*ast, CheckOptions{});
  REQUIRE(report.ok());
  CHECK(report->error == "lint violation found for rules: FromAsCasing, StageNameCasing");
  ast = parse_dockerfile("# check=foo\nFROM scratch\n");
  REQUIRE(ast.ok());
  auto bad = run_checks(*ast, CheckOptions{});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("Dockerfile:1:1: failed to parse check options: invalid check option \"foo\"", 0) == 0);
}

TEST_CASE("the excerpt is BuildKit's: the lines around the warning, >>> on its lines") {
  std::vector<std::string> lines = {"# c", "FROM scratch as base", "COPY a b", ""};
  CHECK(format_excerpt("Dockerfile", lines, 2, 2) ==
        "Dockerfile:2\n--------------------\n"
        "   1 |     # c\n"
        "   2 | >>> FROM scratch as base\n"
        "   3 |     COPY a b\n"
        "   4 |     \n"
        "--------------------\n");
  CHECK(format_excerpt("Dockerfile", lines, 0, 0).empty());
}

#include "parser/checks/linter.hpp"

TEST_CASE("valid_reference: plain names (checked by hand) and the rest (the regex) agree with distribution/reference") {
  using mkimage::parser::checks::detail::valid_reference;
  for (const char* ok : {"scratch", "busybox", "alpine:3.19", "library/ubuntu:22.04", "a.b_c-d/e__f:T_1.x-y",
                         "localhost:5000/app", "Registry.Example.com/app:v1", "a---b", "app@sha256:0123456789abcdef0123456789abcdef"}) {
    CAPTURE(ok);
    CHECK(valid_reference(ok));
  }
  for (const char* bad : {"", "Busybox", "a..b", "a/", "/a", "app:", "app:-x", "app:tag:tag", "a b", ":tag",
                          "app:" "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_reference(bad));
  }
}
