#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "store/descriptor.hpp"
#include "store/media_type.hpp"

using namespace mkimage::store;

TEST_CASE("MediaType parse, classify and compression") {
  auto m = MediaType::parse("application/vnd.oci.image.layer.v1.tar+gzip");
  REQUIRE(m.ok());
  CHECK(m->is_layer());
  CHECK(m->layer_compression() == Compression::gzip);
  CHECK(MediaType::of(media_types::oci_layer).layer_compression() == Compression::none);
  CHECK(MediaType::of(media_types::oci_layer_zstd).layer_compression() == Compression::zstd);
  CHECK(MediaType::of(media_types::docker_layer_gzip).layer_compression() == Compression::gzip);
  CHECK(MediaType::of(media_types::docker_layer).is_layer());
  CHECK(MediaType::of(media_types::oci_manifest).is_manifest());
  CHECK(MediaType::of(media_types::docker_manifest).is_manifest());
  CHECK(MediaType::of(media_types::oci_index).is_index());
  CHECK(MediaType::of(media_types::docker_config).is_config());
  CHECK_FALSE(MediaType::of(media_types::oci_config).is_layer());
  CHECK(oci_layer_media_type(Compression::zstd).str() == media_types::oci_layer_zstd);
  CHECK(docker_layer_media_type(Compression::gzip).str() == media_types::docker_layer_gzip);
  CHECK(docker_layer_media_type(Compression::none).str() == media_types::docker_layer);
  CHECK(MediaType::parse("text/plain; charset=utf-8").ok());
  CHECK_FALSE(MediaType::parse("").ok());
  CHECK_FALSE(MediaType::parse("noslash").ok());
  CHECK_FALSE(MediaType::parse("a/").ok());
  CHECK_FALSE(MediaType::parse("a b/c").ok());
  for (Compression c : {Compression::none, Compression::gzip, Compression::zstd}) {
    auto back = parse_compression(compression_name(c));
    REQUIRE(back.ok());
    CHECK(*back == c);
  }
  CHECK_FALSE(parse_compression("bzip2").ok());
}

TEST_CASE("Descriptor JSON round trip and invalid descriptors") {
  Descriptor d;
  d.media_type = MediaType::of(media_types::oci_manifest);
  d.digest = Digest::sha256_of("x");
  d.size = 42;
  d.annotations[annotations::ref_name] = "goals:latest";
  d.platform = Platform{};
  auto j = descriptor_to_json(d);
  CHECK(j["mediaType"] == media_types::oci_manifest);
  CHECK(j["size"] == 42);
  CHECK(j["platform"]["architecture"] == "amd64");
  auto back = descriptor_from_json(j);
  REQUIRE(back.ok());
  CHECK(*back == d);

  Descriptor plain{MediaType::of(media_types::oci_layer), Digest::sha256_of("y"), 1, {}, std::nullopt};
  auto pj = descriptor_to_json(plain);
  CHECK_FALSE(pj.contains("annotations"));
  CHECK_FALSE(pj.contains("platform"));

  CHECK_FALSE(descriptor_from_json(nlohmann::json::array()).ok());
  CHECK_FALSE(descriptor_from_json({{"mediaType", "a/b"}, {"size", 1}}).ok());
  CHECK_FALSE(descriptor_from_json({{"mediaType", "a/b"}, {"digest", "sha256:00"}, {"size", 1}}).ok());
  CHECK_FALSE(descriptor_from_json({{"mediaType", "a/b"}, {"digest", d.digest.str()}, {"size", -1}}).ok());
  CHECK_FALSE(descriptor_from_json({{"mediaType", "a/b"}, {"digest", d.digest.str()}, {"size", "1"}}).ok());
}
