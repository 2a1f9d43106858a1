#include <doctest/doctest.h>

#include "store/digest.hpp"
#include "util/sha256.hpp"

using namespace mkimage;

TEST_CASE("sha256 of known vectors") {
  CHECK(util::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(util::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  util::Sha256 h;
  h.update("a");
  h.update("bc");
  CHECK(h.finish_hex() == util::sha256_hex("abc"));
}

TEST_CASE("Digest parse and format round-trip") {
  auto d = store::Digest::parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(d.ok());
  CHECK(d->str() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(d->short_id() == "ba7816bf8f01");
  CHECK_FALSE(store::Digest::parse("sha512:abc").ok());
  CHECK_FALSE(store::Digest::parse("sha256:ABC").ok());
  CHECK_FALSE(store::Digest::parse("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").ok());
}
