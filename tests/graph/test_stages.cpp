// Stages and the build graph: references, --target, reachability, cycles.
#include <doctest/doctest.h>

#include <algorithm>

#include "plan_test_util.hpp"

using namespace plan_test;

namespace {

PlanOptions target(const std::string& t) {
  PlanOptions o;
  o.target = t;
  return o;
}

std::vector<int> stage_indexes(const Plan& p) {
  std::vector<int> out;
  for (const auto& s : p.stages) out.push_back(s.index);
  return out;
}

}  // namespace

TEST_CASE("only stages reachable from the target are planned, in dependency order") {
  const std::string df =
      "FROM scratch AS base\nRUN true\n"
      "FROM base AS build\nRUN true\n"
      "FROM scratch AS unrelated\nRUN true\n"
      "FROM scratch AS final\nCOPY --from=build /out /out\n";
  auto p = plan_ok(df);
  CHECK(stage_indexes(p) == std::vector<int>{0, 1, 3});
  CHECK(p.target == 3);
  REQUIRE(p.edges.size() == 2);
  CHECK(p.edges[0].from == 1);
  CHECK(p.edges[0].to == 0);
  CHECK(p.edges[0].kind == StageEdge::Kind::base);
  CHECK(p.edges[1].from == 3);
  CHECK(p.edges[1].to == 1);
  CHECK(p.edges[1].kind == StageEdge::Kind::copy_from);
  CHECK(p.edges[1].step == 0);
  p = plan_ok(df, target("unrelated"));
  CHECK(stage_indexes(p) == std::vector<int>{2});
  p = plan_ok(df, target("BUILD"));  // target names are case-insensitive
  CHECK(stage_indexes(p) == std::vector<int>{0, 1});
  CHECK(p.find_stage(1)->base.kind == StageBase::Kind::stage);
  CHECK(p.find_stage(1)->base.stage == 0);
}

TEST_CASE("stage names are case-insensitive in FROM and COPY --from") {
  auto p = plan_ok("FROM scratch AS Builder\nFROM BUILDER\nCOPY --from=bUiLdEr /a /b\n");
  CHECK(p.find_stage(0)->name == "builder");
  CHECK(p.find_stage(1)->base.kind == StageBase::Kind::stage);
  CHECK(step_as<CopyInstruction>(p, 1, 0).from_stage == 0);
}

TEST_CASE("COPY --from: stage index, image reference, variable") {
  auto p = plan_ok("FROM scratch\nRUN true\nFROM scratch\nCOPY --from=0 /a /b\nCOPY --from=alpine:3.19 /etc/os-release /\n");
  CHECK(step_as<CopyInstruction>(p, 1, 0).from_stage == 0);
  const auto& img = step_as<CopyInstruction>(p, 1, 1);
  CHECK(img.from_stage == -1);
  CHECK(img.from_image == "alpine:3.19");
  CHECK(p.find_stage(1)->images_used == std::vector<std::string>{"alpine:3.19"});
  CHECK(first_line(plan_error("FROM scratch\nCOPY --from=3 /a /b\n")) == "Dockerfile:2:6: invalid stage index 3");
  CHECK(first_line(plan_error("ARG S=x\nFROM scratch\nCOPY --from=$S /a /b\n")) ==
        "Dockerfile:3:6: variable expansion is not supported for --from, define a new stage with FROM using ARG from "
        "global scope as a workaround");
}

TEST_CASE("unknown target: error with the nearest stage name") {
  const std::string df = "FROM scratch AS builder\nFROM scratch AS runtime\n";
  CHECK(plan_error(df, target("buidler")) ==
        "Dockerfile: target stage \"buidler\" could not be found (did you mean builder?)\n");
  CHECK(plan_error(df, target("zzz")) == "Dockerfile: target stage \"zzz\" could not be found\n");
}

TEST_CASE("a reference to a later stage is an error") {
  CHECK(first_line(plan_error("FROM scratch AS a\nCOPY --from=b /x /y\nFROM scratch AS b\nRUN true\n", target("a"))) ==
        "Dockerfile:2:6: cannot copy from stage \"b\", it needs to be defined before current stage \"a\"");
  CHECK(first_line(plan_error("FROM scratch AS a\nRUN --mount=from=b,target=/m true\nFROM scratch AS b\n",
                              target("a"))) ==
        "Dockerfile:2:13: cannot mount from stage \"b\" to \"a\", stage needs to be defined before current command");
  // FROM <later stage name> is an image reference, not a stage.
  auto p = plan_ok("FROM later AS first\nFROM scratch AS later\n", target("first"));
  REQUIRE(p.stages.size() == 1);
  CHECK(p.stages[0].base.kind == StageBase::Kind::image);
  CHECK(p.stages[0].base.image == "later");
}

TEST_CASE("circular dependencies are detected") {
  CHECK(first_line(plan_error("FROM scratch AS a\nCOPY --from=a /x /y\n")) ==
        "Dockerfile:1:1: circular dependency detected on stage: a");
  CHECK(first_line(plan_error(
            "FROM scratch AS a\nCOPY --from=b /x /y\nFROM scratch AS b\nCOPY --from=a /x /y\n")) ==
        "Dockerfile:1:1: circular dependency detected on stage: a");
}

TEST_CASE("FROM: global args, blank base, scratch, image") {
  auto p = plan_ok("ARG TAG=3.19\nFROM alpine:${TAG} AS a\nFROM SCRATCH\n", target("a"));
  CHECK(p.find_stage(0)->base.image == "alpine:3.19");
  CHECK(p.find_stage(0)->from.image == "alpine:3.19");
  p = plan_ok("FROM SCRATCH\n");
  CHECK(p.stages[0].base.kind == StageBase::Kind::scratch);
  CHECK(first_line(plan_error("ARG EMPTY\nFROM ${EMPTY}\n")) ==
        "Dockerfile:2:6: base name (${EMPTY}) should not be blank");
  CHECK(first_line(plan_error("RUN true\nFROM scratch\n")) == "Dockerfile:1:1: no build stage in current context");
  CHECK(plan_error("ARG A=1\n") == "Dockerfile: dockerfile contains no stages to build\n");
}

TEST_CASE("an unknown image close to a stage name is reported with a suggestion") {
  PlanOptions o;
  o.resolve_base_image = [](const std::string&) -> std::optional<BaseImageInfo> { return std::nullopt; };
  o.target = "app";
  CHECK(first_line(plan_error("FROM scratch AS builder\nFROM buidler AS app\n", o)) ==
        "Dockerfile:2:6: base image \"buidler\" not found (did you mean stage \"builder\"?)");
  // Far from every stage name: planned as an image with an empty config.
  auto p = plan_ok("FROM scratch AS builder\nFROM debian:12 AS app\n", o);
  CHECK(p.find_stage(1)->base.kind == StageBase::Kind::image);
}

TEST_CASE("display names") {
  auto p = plan_ok("FROM scratch\nFROM scratch AS named\nCOPY --from=0 /a /b\n");
  CHECK(p.find_stage(0)->display_name() == "stage-0");
  CHECK(p.find_stage(1)->display_name() == "named");
}

TEST_CASE("named contexts: a stage AS NAME is replaced, a FROM reference is redirected, stages win over contexts") {
  mkimage::graph::PlanOptions o;
  o.named_context = [](const std::string& ref) -> std::optional<std::string> {
    if (ref == "base" || ref == "alpine" || ref == "docker.io/library/alpine:latest") return std::string(ref == "base" ? "base" : "alpine");
    return std::nullopt;
  };
  std::vector<std::string> asked;
  o.resolve_base_image = [&](const std::string& ref) -> std::optional<mkimage::graph::BaseImageInfo> {
    asked.push_back(ref);
    mkimage::graph::BaseImageInfo info;
    info.env = {"FROM_CTX=" + ref};
    info.onbuild = {"RUN echo trigger"};
    return info;
  };
  auto p = mkimage::graph::plan_dockerfile(
      "FROM busybox AS base\nRUN echo replaced\n"
      "FROM docker.io/library/alpine:latest AS img\nRUN echo kept\n"
      "FROM base\nRUN echo child\nCOPY --from=img /x /x\n", o);
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
  const auto* base = p->find_stage(0);
  REQUIRE(base);
  CHECK(base->base.kind == mkimage::graph::StageBase::Kind::context);
  CHECK(base->base.image == "base");
  CHECK(base->base.replaces_stage);
  CHECK(base->steps.empty());  // neither its own RUN nor the context's ONBUILD trigger
  CHECK(base->config_env.front() == "FROM_CTX=base");
  const auto* img = p->find_stage(1);
  REQUIRE(img);
  CHECK(img->base.kind == mkimage::graph::StageBase::Kind::context);
  CHECK(img->base.image == "alpine");
  CHECK_FALSE(img->base.replaces_stage);
  REQUIRE(img->steps.size() == 2);  // the context image's ONBUILD trigger, then its own RUN
  CHECK(img->steps[0].from_onbuild);
  const auto* child = p->find_stage(2);
  REQUIRE(child);
  CHECK(child->base.kind == mkimage::graph::StageBase::Kind::stage);  // FROM base: the (replaced) stage
  CHECK(child->base.stage == 0);
  CHECK(std::find(asked.begin(), asked.end(), "busybox") == asked.end());  // the replaced FROM is never resolved
}
