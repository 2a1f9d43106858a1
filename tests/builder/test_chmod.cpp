#include <doctest/doctest.h>

#include "builder/chmod.hpp"

using namespace mkimage::builder;

namespace {
mode_t apply(const char* spec, mode_t mode, bool dir = false) {
  auto c = ChmodSpec::parse(spec);
  REQUIRE_MESSAGE(c.ok(), spec);
  return c->apply(mode, dir);
}
}  // namespace

TEST_CASE("chmod: octal values up to 07777") {
  CHECK(apply("755", 0600) == 0755);
  CHECK(apply("0644", 0777) == 0644);
  CHECK(apply("4755", 0) == 04755);
  CHECK(apply("7777", 0) == 07777);
  CHECK_FALSE(ChmodSpec::parse("10000").ok());
  CHECK_FALSE(ChmodSpec::parse("778").ok());
  CHECK_FALSE(ChmodSpec::parse("").ok());
  CHECK(ChmodSpec::parse("10000").error().message.find("invalid chmod value 10000") == 0);
}

TEST_CASE("chmod: symbolic modes") {
  CHECK(apply("u+x", 0644) == 0744);
  CHECK(apply("+x", 0644) == 0755);
  CHECK(apply("a=rX", 0640) == 0444);
  CHECK(apply("a=rX", 0740) == 0555);
  CHECK(apply("a=rX", 0600, true) == 0555);
  CHECK(apply("go-w", 0666) == 0644);
  CHECK(apply("u=rwx,g=rx,o=", 0) == 0750);
  CHECK(apply("g=u", 0700) == 0770);
  CHECK(apply("u+s", 0755) == 04755);
  CHECK(apply("+t", 0777, true) == 01777);
  CHECK(apply("o-rwx", 0777) == 0770);
  CHECK_FALSE(ChmodSpec::parse("u").ok());
  CHECK_FALSE(ChmodSpec::parse("u+x,").ok());
  CHECK_FALSE(ChmodSpec::parse("z+x").ok());
  CHECK_FALSE(ChmodSpec::parse("u+q").ok());
}
