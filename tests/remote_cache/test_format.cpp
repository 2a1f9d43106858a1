#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "remote_cache/format.hpp"
#include "store/media_type.hpp"

using namespace mkimage::remote_cache;
namespace store = mkimage::store;
using nlohmann::json;

namespace {

store::Digest digest_of(const std::string& text) { return store::Digest::sha256_of(text); }

Layer layer(const std::string& name) {
  store::Descriptor blob{store::MediaType::of(std::string(store::media_types::oci_layer_gzip)), digest_of(name + ".gz"), 123, {},
                         std::nullopt};
  return Layer{store::DiffId{digest_of(name)}, blob, 456};
}

RecordSet sample() {
  RecordSet set;
  set.layers = {layer("one"), layer("two")};
  set.records.push_back(Record{digest_of("key-b").str(), set.layers[1].diff_id, "2024-01-02T03:04:05Z"});
  set.records.push_back(Record{digest_of("key-a").str(), set.layers[0].diff_id, "2024-01-01T00:00:00Z"});
  set.records.push_back(Record{digest_of("key-c").str(), std::nullopt, "2024-01-03T00:00:00Z"});
  set.mounts.push_back(Mount{"/root/.cache", 1});
  return set;
}

bool mentions(const mkimage::util::Error& e, const std::string& text) {
  return e.message.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("record set: serialize and parse round trip") {
  RecordSet set = sample();
  auto back = parse_record_set(serialize(set));
  REQUIRE(back.ok());
  // parse gives the canonical order: records sorted by key
  RecordSet want = set;
  std::sort(want.records.begin(), want.records.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  CHECK(*back == want);
  CHECK(serialize(*back) == serialize(set));
}

TEST_CASE("record set: canonical JSON, whatever the order of the records") {
  RecordSet a = sample(), b = sample();
  std::reverse(b.records.begin(), b.records.end());
  CHECK(serialize(a) == serialize(b));
  json j = json::parse(serialize(a));
  REQUIRE(j["records"].size() == 3);
  CHECK(j["records"][0]["key"] < j["records"][1]["key"]);
  CHECK(j["records"][1]["key"] < j["records"][2]["key"]);
  CHECK(j["version"] == 1);
  // the manifest over the same set and bytes is the same too
  std::string bytes = serialize(a);
  CHECK(manifest_json(a, bytes) == manifest_json(b, serialize(b)));
}

TEST_CASE("record set: an unknown format version is refused by name") {
  json j = json::parse(serialize(sample()));
  j["version"] = 2;
  auto r = parse_record_set(j.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "cache format version 2 is not supported (this mkimage reads version 1)");
  // a version that wraps to 1 as a 32-bit int is not version 1
  j["version"] = 4294967297LL;
  r = parse_record_set(j.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "4294967297 is not supported"));
  j.erase("version");
  r = parse_record_set(j.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "no format version"));
}

TEST_CASE("record set: truncated or garbage bytes are an error, never a crash") {
  std::string good = serialize(sample());
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, good.size() / 2, good.size() - 1})
    CHECK_FALSE(parse_record_set(good.substr(0, n)).ok());
  CHECK_FALSE(parse_record_set("\x1f\x8b\x08garbage").ok());
  CHECK_FALSE(parse_record_set("[]").ok());
  CHECK_FALSE(parse_record_set(R"({"version":1})").ok());
  CHECK_FALSE(parse_record_set(R"({"version":1,"records":{}})").ok());
  CHECK_FALSE(parse_record_set(R"({"version":1,"records":[42]})").ok());
  CHECK_FALSE(parse_record_set(R"({"version":1,"records":[],"layers":{}})").ok());
  CHECK_FALSE(parse_record_set(R"({"version":1,"records":[],"layers":[{"diff_id":"sha256:zz","blob":{}}]})").ok());
  CHECK(parse_record_set(R"({"version":1,"records":[]})").ok());
}

TEST_CASE("record set: a key twice is refused") {
  json j = json::parse(serialize(sample()));
  j["records"].push_back(j["records"][0]);
  auto r = parse_record_set(j.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "appears twice"));
}

TEST_CASE("record set: a mount past the layers is refused") {
  json j = json::parse(serialize(sample()));
  j["mounts"][0]["layer"] = 2;  // two layers: 0 and 1
  auto r = parse_record_set(j.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "names a layer that does not exist"));
  j["mounts"][0]["layer"] = -1;
  CHECK_FALSE(parse_record_set(j.dump()).ok());
}

TEST_CASE("record set: keys and diff_ids must be digests") {
  json j = json::parse(serialize(sample()));
  j["records"][0]["key"] = "RUN make";
  auto r = parse_record_set(j.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "is not a digest"));
  j = json::parse(serialize(sample()));
  j["records"][0]["diff_id"] = "sha256:../../etc/passwd";
  CHECK_FALSE(parse_record_set(j.dump()).ok());
  j["records"][0]["diff_id"] = 7;
  CHECK_FALSE(parse_record_set(j.dump()).ok());
}

TEST_CASE("cache manifest: config descriptor and layers checked against the records") {
  RecordSet set = sample();
  std::string bytes = serialize(set);
  std::string manifest = manifest_json(set, bytes);
  auto config = cache_manifest_config(manifest);
  REQUIRE(config.ok());
  CHECK(config->digest == store::Digest::sha256_of(bytes));
  CHECK(config->size == static_cast<std::int64_t>(bytes.size()));
  CHECK(check_layers(manifest, set).ok());

  RecordSet other = set;
  other.layers[1].blob.digest = digest_of("other");
  auto r = check_layers(manifest, other);
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "layer 1 differs"));
  other = set;
  other.layers[0].blob.size = 1;
  CHECK_FALSE(check_layers(manifest, other).ok());
  other = set;
  other.layers[0].blob.media_type = store::MediaType::of(std::string(store::media_types::oci_layer_zstd));
  CHECK_FALSE(check_layers(manifest, other).ok());
  other = set;
  other.layers.pop_back();
  r = check_layers(manifest, other);
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "lists 2 layers, its records 1"));
  CHECK_FALSE(check_layers(manifest.substr(0, manifest.size() / 2), set).ok());
}

TEST_CASE("cache manifest: not a cache, truncated") {
  RecordSet set = sample();
  std::string manifest = manifest_json(set, serialize(set));
  CHECK_FALSE(cache_manifest_config(manifest.substr(0, manifest.size() - 3)).ok());
  CHECK_FALSE(cache_manifest_config("").ok());
  json m = json::parse(manifest);
  m["config"]["mediaType"] = std::string(store::media_types::oci_config);
  auto r = cache_manifest_config(m.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "not an mkimage cache manifest"));
}
