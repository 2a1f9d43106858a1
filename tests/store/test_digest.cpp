#include <doctest/doctest.h>

#include "store/digest.hpp"

using namespace mkimage::store;

TEST_CASE("Digest from_hex, short_id and ordering") {
  auto a = Digest::sha256_of("abc");
  CHECK(a.valid());
  CHECK_FALSE(Digest{}.valid());
  auto h = Digest::from_hex(a.hex());
  REQUIRE(h.ok());
  CHECK(*h == a);
  CHECK(a.short_id().size() == 12);
  CHECK_FALSE(Digest::from_hex("abc").ok());
  CHECK_FALSE(Digest::from_hex(std::string(64, 'g')).ok());
  CHECK_FALSE(Digest::parse("").ok());
  CHECK_FALSE(Digest::parse("sha256:" + a.hex() + "0").ok());
  auto b = Digest::sha256_of("abd");
  CHECK((a < b) != (b < a));
}

TEST_CASE("ChainId follows image-spec config.md") {
  DiffId l0{Digest::sha256_of("layer0")};
  DiffId l1{Digest::sha256_of("layer1")};
  ChainId c0 = chain_id_of(nullptr, l0);
  CHECK(c0.digest == l0.digest);
  ChainId c1 = chain_id_of(&c0, l1);
  CHECK(c1.digest == Digest::sha256_of(l0.digest.str() + " " + l1.digest.str()));
  CHECK_FALSE(c1 == chain_id_of(nullptr, l1));
}
