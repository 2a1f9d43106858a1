#include <doctest/doctest.h>

#include "store/image.hpp"

using namespace mkimage::store;

TEST_CASE("Timestamp formats like Go and parses RFC 3339") {
  CHECK(Timestamp{0, 0}.str() == "1970-01-01T00:00:00Z");
  CHECK(Timestamp{1700000000, 0}.str() == "2023-11-14T22:13:20Z");
  CHECK(Timestamp{1700000000, 120000000}.str() == "2023-11-14T22:13:20.12Z");
  CHECK(Timestamp{1700000000, 1}.str() == "2023-11-14T22:13:20.000000001Z");
  auto t = Timestamp::parse("2023-11-14T22:13:20.12Z");
  REQUIRE(t.ok());
  CHECK(*t == Timestamp{1700000000, 120000000});
  auto off = Timestamp::parse("2023-11-15T00:13:20+02:00");
  REQUIRE(off.ok());
  CHECK(off->seconds == 1700000000);
  auto leap = Timestamp::parse("2024-02-29T12:00:00Z");
  REQUIRE(leap.ok());
  CHECK(leap->str() == "2024-02-29T12:00:00Z");
  CHECK(Timestamp::parse("1969-12-31T23:59:59Z")->seconds == -1);
  for (const char* bad : {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z", "2023-11-14T22:13:20.Z",
                          "2023-11-14T22:13:20Zjunk", "2023/11/14T22:13:20Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(Timestamp::parse(bad).ok());
  }
}

namespace {

ImageConfig sample_config() {
  ImageConfig c;
  c.created = Timestamp{1700000000, 0};
  c.author = "someone";
  c.config.user = "1000:1000";
  c.config.exposed_ports = {"80/tcp", "53/udp"};
  c.config.env = {"PATH=/usr/bin:/bin", "A=b=c"};
  c.config.entrypoint = std::vector<std::string>{"/bin/sh", "-c"};
  c.config.cmd = std::vector<std::string>{};
  c.config.volumes = {"/data"};
  c.config.working_dir = "/app";
  c.config.labels = {{"org.example", "1"}};
  c.config.stop_signal = "SIGTERM";
  c.config.healthcheck = HealthConfig{{"CMD-SHELL", "true"}, 30000000000, 5000000000, 0, 0, 3};
  c.config.on_build = {"RUN echo hi"};
  c.config.shell = {"/bin/bash", "-c"};
  c.diff_ids = {DiffId{Digest::sha256_of("l0")}, DiffId{Digest::sha256_of("l1")}};
  c.history = {HistoryEntry{Timestamp{1700000000, 0}, "COPY x /", "", "", false},
               HistoryEntry{Timestamp{1700000000, 0}, "ENV A=b=c", "", "buildkit.dockerfile.v0", true},
               HistoryEntry{std::nullopt, "RUN make", "", "", false}};
  return c;
}

}  // namespace

TEST_CASE("Image config JSON uses image-spec keys and round-trips") {
  ImageConfig c = sample_config();
  auto j = to_json(c);
  CHECK(j["architecture"] == "amd64");
  CHECK(j["os"] == "linux");
  CHECK(j["created"] == "2023-11-14T22:13:20Z");
  CHECK(j["rootfs"]["type"] == "layers");
  CHECK(j["rootfs"]["diff_ids"].size() == 2);
  CHECK(j["config"]["ExposedPorts"]["80/tcp"].is_object());
  CHECK(j["config"]["Volumes"]["/data"].is_object());
  CHECK(j["config"]["Cmd"].is_array());
  CHECK(j["config"]["Cmd"].empty());
  CHECK(j["config"]["Healthcheck"]["Interval"] == 30000000000LL);
  CHECK(j["history"][1]["empty_layer"] == true);
  CHECK_FALSE(j["history"][0].contains("empty_layer"));
  CHECK_FALSE(j["config"].contains("ArgsEscaped"));

  std::string bytes = serialize(c);
  CHECK(bytes == serialize(c));  // deterministic
  auto back = parse_image_config(bytes);
  REQUIRE(back.ok());
  CHECK(*back == c);
  CHECK(serialize(*back) == bytes);

  // Cmd absent vs. empty are different.
  ImageConfig none = c;
  none.config.cmd.reset();
  CHECK_FALSE(to_json(none)["config"].contains("Cmd"));
}

TEST_CASE("Image config parses docker's output, including null fields") {
  const char* docker = R"({"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Entrypoint":null,
    "Labels":null,"OnBuild":null,"WorkingDir":"","ArgsEscaped":true},"created":"2023-05-19T20:19:21.987654321Z",
    "history":[{"created":"2023-05-19T20:19:21Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "}],
    "os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]}})";
  auto c = parse_image_config(docker);
  REQUIRE(c.ok());
  CHECK(c->created->nanos == 987654321);
  CHECK_FALSE(c->config.entrypoint.has_value());
  CHECK(c->config.cmd == std::vector<std::string>{"sh"});
  CHECK(c->config.args_escaped == true);
  CHECK(c->config.env_value("PATH") == "/bin");
  CHECK_FALSE(c->config.env_value("HOME").has_value());
  c->config.set_env("PATH", "/usr/bin");
  c->config.set_env("HOME", "/root");
  CHECK(c->config.env == std::vector<std::string>{"PATH=/usr/bin", "HOME=/root"});

  CHECK_FALSE(parse_image_config("[]").ok());
  CHECK_FALSE(parse_image_config("{").ok());
  CHECK_FALSE(parse_image_config(R"({"rootfs":{"type":"x","diff_ids":[]}})").ok());
  CHECK_FALSE(parse_image_config(R"({"rootfs":{"type":"layers","diff_ids":["sha256:00"]}})").ok());
  CHECK_FALSE(parse_image_config(R"({"rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":"A=1"}})").ok());
  CHECK_FALSE(parse_image_config(R"({"rootfs":{"type":"layers","diff_ids":[]},"created":"yesterday"})").ok());
}

TEST_CASE("Manifest and index JSON round trip") {
  Manifest m;
  m.config = Descriptor{MediaType::of(media_types::oci_config), Digest::sha256_of("c"), 10, {}, std::nullopt};
  m.layers = {Descriptor{MediaType::of(media_types::oci_layer), Digest::sha256_of("l"), 2048, {}, std::nullopt}};
  auto j = to_json(m);
  CHECK(j["schemaVersion"] == 2);
  CHECK(j["mediaType"] == media_types::oci_manifest);
  auto back = parse_manifest(serialize(m));
  REQUIRE(back.ok());
  CHECK(*back == m);
  CHECK_FALSE(parse_manifest(R"({"schemaVersion":1})").ok());
  CHECK_FALSE(parse_manifest(R"({"schemaVersion":2,"layers":[]})").ok());
  CHECK_FALSE(parse_manifest(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})").ok());

  ImageIndex idx;
  Descriptor d{MediaType::of(media_types::oci_manifest), Digest::sha256_of("m"), 300, {}, std::nullopt};
  d.annotations[annotations::ref_name] = "goals:latest";
  idx.manifests.push_back(d);
  auto ib = parse_image_index(serialize(idx));
  REQUIRE(ib.ok());
  CHECK(*ib == idx);
  CHECK(to_json(idx)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "goals:latest");
  CHECK_FALSE(parse_image_index(R"({"schemaVersion":2})").ok());
}

// Inputs found by fuzzing (testdata/fuzz/oci_json/regressions/): a known key with
// the wrong JSON type is an error naming the document, never an exception.
TEST_CASE("Manifest, index and config with mistyped keys are errors, not exceptions") {
  auto config = parse_image_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":[]}})");
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().message == "invalid image config: rootfs.type is not \"layers\"");
  CHECK_FALSE(parse_image_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":null}})").ok());
  for (const char* version : {"\"2\"", "null", "2.5", "[2]", "{}"}) {
    CAPTURE(version);
    auto m = parse_manifest(std::string(R"({"schemaVersion":)") + version + R"(,"config":{},"layers":[]})");
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().message == "invalid image manifest: schemaVersion is not 2");
    auto i = parse_image_index(std::string(R"({"schemaVersion":)") + version + R"(,"manifests":[]})");
    REQUIRE_FALSE(i.ok());
    CHECK(i.error().message == "invalid image index: schemaVersion is not 2");
  }
  const std::string entry = R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                            Digest::sha256_of("m").str() + R"(","size":1,"platform":)";
  auto bad = parse_image_index(R"({"schemaVersion":2,"manifests":[)" + entry + R"({"architecture":7}}]})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "invalid descriptor: platform.architecture is not a string");
  auto absent = parse_image_index(R"({"schemaVersion":2,"manifests":[)" + entry + R"({"os":"linux","variant":null}}]})");
  REQUIRE(absent.ok());
  CHECK(absent->manifests[0].platform->architecture.empty());
  CHECK(absent->manifests[0].platform->os == "linux");
}
