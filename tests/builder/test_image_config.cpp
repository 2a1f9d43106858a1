// Image config state (builder/image_config.hpp): docker's metadata rules.
#include <doctest/doctest.h>

#include "builder/image_config.hpp"

using namespace mkimage;
using namespace mkimage::builder;

TEST_CASE("scratch has the default PATH and nothing else") {
  auto c = ConfigState::scratch();
  REQUIRE(c.config().config.env.size() == 1);
  CHECK(c.config().config.env[0].rfind("PATH=", 0) == 0);
  CHECK(c.config().architecture == "amd64");
  CHECK(c.config().os == "linux");
  CHECK_FALSE(c.config().config.cmd.has_value());
}

TEST_CASE("ENV replaces a key in place and appends new ones") {
  auto c = ConfigState::scratch();
  c.set_env("A", "1");
  c.set_env("B", "2");
  c.set_env("A", "3");
  auto env = c.config().config.env;
  REQUIRE(env.size() == 3);
  CHECK(env[1] == "A=3");
  CHECK(env[2] == "B=2");
  CHECK(c.env_value("A") == std::optional<std::string>("3"));
  CHECK_FALSE(c.env_value("C").has_value());
}

TEST_CASE("ENTRYPOINT clears an inherited CMD but not one set in the same stage") {
  store::ImageConfig base;
  base.config.cmd = std::vector<std::string>{"/bin/busybox", "echo", "from-base"};
  auto inherited = ConfigState::from_base(base);
  inherited.set_entrypoint({"/bin/busybox", "echo"});
  CHECK_FALSE(inherited.config().config.cmd.has_value());
  REQUIRE(inherited.config().config.entrypoint.has_value());

  auto same_stage = ConfigState::from_base(base);
  same_stage.set_cmd({"x"});
  same_stage.set_entrypoint({"/bin/sh", "-c", "y"});
  REQUIRE(same_stage.config().config.cmd.has_value());
  CHECK(*same_stage.config().config.cmd == std::vector<std::string>{"x"});

  // FROM <stage>: a CMD of the parent stage counts as inherited.
  auto parent = ConfigState::scratch();
  parent.set_cmd({"a"});
  auto child = ConfigState::from_stage(parent);
  child.set_entrypoint({"b"});
  CHECK_FALSE(child.config().config.cmd.has_value());

  // ENTRYPOINT [] clears the entrypoint.
  child.set_entrypoint({});
  CHECK_FALSE(child.config().config.entrypoint.has_value());
}

TEST_CASE("a base image gets the default PATH; its ONBUILD triggers are not inherited") {
  store::ImageConfig base;
  base.config.env = {"A=1"};
  base.config.on_build = {"RUN echo hi"};
  auto c = ConfigState::from_base(base);
  REQUIRE(c.config().config.env.size() == 2);
  CHECK(c.config().config.env[0].rfind("PATH=", 0) == 0);
  CHECK(c.base_triggers() == std::vector<std::string>{"RUN echo hi"});
  CHECK(c.config().config.on_build.empty());
  c.add_onbuild("RUN echo child");
  CHECK(c.config().config.on_build == std::vector<std::string>{"RUN echo child"});

  store::ImageConfig with_path;
  with_path.config.env = {"PATH=/opt/bin"};
  CHECK(ConfigState::from_base(with_path).config().config.env == std::vector<std::string>{"PATH=/opt/bin"});
}

TEST_CASE("labels merge, ports and volumes are sets, history records empty layers") {
  auto c = ConfigState::scratch();
  c.add_label("a", "1");
  c.add_label("b", "2");
  c.add_label("a", "3");
  CHECK(c.config().config.labels.at("a") == "3");
  CHECK(c.config().config.labels.size() == 2);
  c.add_exposed_port("80/tcp");
  c.add_exposed_port("80/tcp");
  c.add_volume("/data");
  CHECK(c.config().config.exposed_ports.size() == 1);
  CHECK(c.config().config.volumes.count("/data") == 1);

  store::Timestamp t{1700000000, 0};
  store::DiffId d{store::Digest::sha256_of("layer")};
  c.add_history("COPY a /a # buildkit", t, d);
  c.add_history("ENV A=1", t, std::nullopt);
  auto cfg = c.finish(t);
  REQUIRE(cfg.history.size() == 2);
  CHECK_FALSE(cfg.history[0].empty_layer);
  CHECK(cfg.history[1].empty_layer);
  CHECK(cfg.history[1].comment == "buildkit.dockerfile.v0");
  CHECK(cfg.diff_ids.size() == 1);
  CHECK(cfg.created == std::optional<store::Timestamp>(t));
}

TEST_CASE("workdir, user, shell, stopsignal, maintainer, healthcheck") {
  auto c = ConfigState::scratch();
  c.set_workdir("/srv");
  c.set_user("1000:1000");
  c.set_shell({"/bin/bash", "-c"});
  c.set_stopsignal("SIGTERM");
  c.set_maintainer("someone");
  store::HealthConfig hc;
  hc.test = {"CMD-SHELL", "true"};
  hc.interval_ns = 30000000000;
  hc.retries = 3;
  c.set_healthcheck(hc);
  const auto& cc = c.config().config;
  CHECK(c.workdir() == "/srv");
  CHECK(c.user() == "1000:1000");
  CHECK(cc.shell == std::vector<std::string>{"/bin/bash", "-c"});
  CHECK(cc.stop_signal == "SIGTERM");
  CHECK(c.config().author == "someone");
  REQUIRE(cc.healthcheck.has_value());
  CHECK(cc.healthcheck->retries == 3);
}

TEST_CASE("EXPOSE keys: default tcp, lower-cased protocol, ranges, errors") {
  CHECK(expose_keys("8080") == std::optional<std::vector<std::string>>({"8080/tcp"}));
  CHECK(expose_keys("53/UDP") == std::optional<std::vector<std::string>>({"53/udp"}));
  CHECK(expose_keys("8000-8002/tcp") ==
        std::optional<std::vector<std::string>>({"8000/tcp", "8001/tcp", "8002/tcp"}));
  CHECK_FALSE(expose_keys("http").has_value());
  CHECK_FALSE(expose_keys("80/xyz").has_value());
  CHECK_FALSE(expose_keys("70000").has_value());
}

TEST_CASE("created time: SOURCE_DATE_EPOCH wins") {
  CHECK(created_time(1234).seconds == 1234);
  CHECK(created_time(std::nullopt).seconds > 1700000000);
}

TEST_CASE("WorkingDir defaults to / like BuildKit") {
  CHECK(ConfigState::scratch().workdir() == "/");
  store::ImageConfig base;
  CHECK(ConfigState::from_base(base).workdir() == "/");
  base.config.working_dir = "/srv";
  CHECK(ConfigState::from_base(base).workdir() == "/srv");
}
