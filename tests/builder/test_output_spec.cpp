#include <doctest/doctest.h>

#include <mkimage/build.hpp>

using namespace mkimage;

TEST_CASE("--output: type, dest and compression") {
  auto o = parse_output_spec("type=oci,dest=out.tar,compression=zstd");
  REQUIRE(o.ok());
  CHECK(o->type == OutputType::oci);
  CHECK(o->dest == "out.tar");
  REQUIRE(o->compression.has_value());
  CHECK(*o->compression == Compression::zstd);
  o = parse_output_spec("type=oci,dest=out.tar,compression=gzip");
  REQUIRE(o.ok());
  CHECK(o->compression == Compression::gzip);
  o = parse_output_spec("type=oci,dest=out.tar");
  REQUIRE(o.ok());
  CHECK_FALSE(o->compression.has_value());  // --compression decides
  // A compression mkimage cannot write is an error, not silently gzip.
  CHECK_FALSE(parse_output_spec("type=oci,dest=out.tar,compression=estargz").ok());
  o = parse_output_spec("out");
  REQUIRE(o.ok());
  CHECK(o->type == OutputType::local);
  CHECK(o->dest == "out");
  CHECK_FALSE(parse_output_spec("type=oci,dest=o.tar,bogus=1").ok());
}
