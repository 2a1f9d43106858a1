#include <doctest/doctest.h>

#include "store/reference.hpp"

using mkimage::store::Reference;

TEST_CASE("Reference normalises short names like docker") {
  auto r = Reference::parse("goals");
  REQUIRE(r.ok());
  CHECK(r->domain() == "docker.io");
  CHECK(r->path() == "library/goals");
  CHECK(r->tag() == "latest");
  CHECK(r->str() == "docker.io/library/goals:latest");
  CHECK(r->familiar() == "goals:latest");
  CHECK(r->familiar_repository() == "goals");
}

TEST_CASE("Reference keeps domains, ports, paths, tags and digests") {
  const std::string dg = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  struct Case {
    const char* in;
    const char* full;
    const char* familiar;
  } cases[] = {
      {"goals:1.0", "docker.io/library/goals:1.0", "goals:1.0"},
      {"me/app", "docker.io/me/app:latest", "me/app:latest"},
      {"docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"},
      {"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"localhost/app:x", "localhost/app:x", "localhost/app:x"},
      {"localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3"},
      {"quay.io/org/img", "quay.io/org/img:latest", "quay.io/org/img:latest"},
      {"a.b__c-d--e", "docker.io/library/a.b__c-d--e:latest", "a.b__c-d--e:latest"},
      {"Registry.Example.com/x", "Registry.Example.com/x:latest", "Registry.Example.com/x:latest"},
      // a Docker Hub path whose first component reads as a domain keeps
      // docker.io: the short form would name another registry
      // (testdata/fuzz/reference/regressions/familiar-dotted-namespace)
      {"docker.io/my.org/app:1", "docker.io/my.org/app:1", "docker.io/my.org/app:1"},
      {"docker.io/localhost/app", "docker.io/localhost/app:latest", "docker.io/localhost/app:latest"},
      {"docker.io/a.b", "docker.io/library/a.b:latest", "a.b:latest"},
      // an official name of 64 hex digits keeps "library/": alone it reads
      // as an image ID (testdata/fuzz/reference/regressions/familiar-64-hex)
      {"library/aaaaaaaaaaaaaaaaaaaaaaaaaa87230aaaaaaaaaaaaaaaaaa87230aaaaaaaaaa",
       "docker.io/library/aaaaaaaaaaaaaaaaaaaaaaaaaa87230aaaaaaaaaaaaaaaaaa87230aaaaaaaaaa:latest",
       "library/aaaaaaaaaaaaaaaaaaaaaaaaaa87230aaaaaaaaaaaaaaaaaa87230aaaaaaaaaa:latest"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto r = Reference::parse(c.in);
    REQUIRE(r.ok());
    CHECK(r->str() == c.full);
    CHECK(r->familiar() == c.familiar);
    auto again = Reference::parse(r->str());
    REQUIRE(again.ok());
    CHECK(*again == *r);
    auto short_again = Reference::parse(r->familiar());
    REQUIRE(short_again.ok());
    CHECK(*short_again == *r);
  }
  auto d = Reference::parse("goals@" + dg);
  REQUIRE(d.ok());
  CHECK_FALSE(d->tag().has_value());
  CHECK(d->digest()->str() == dg);
  CHECK(d->familiar() == "goals@" + dg);
  auto td = Reference::parse("goals:v1@" + dg);
  REQUIRE(td.ok());
  CHECK(td->str() == "docker.io/library/goals:v1@" + dg);
  CHECK(td->with_tag("v2").str() == "docker.io/library/goals:v2");
}

// Found by fuzzing (testdata/fuzz/reference/regressions/name-too-long-once-normalised):
// a short name under 255 characters whose full name is longer printed as text
// that did not parse back. Docker counts the full name, domain included.
TEST_CASE("Reference limits the full name to 255 characters") {
  std::string at_limit(255 - std::string("docker.io/library/").size(), 'a');
  auto ok = Reference::parse(at_limit);
  REQUIRE(ok.ok());
  CHECK(ok->repository().size() == 255);
  CHECK(Reference::parse(ok->str()).ok());
  auto bad = Reference::parse(at_limit + "b");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("repository name longer than 255 characters") != std::string::npos);
  CHECK_FALSE(Reference::parse("docker.io/library/" + at_limit + "b").ok());
}

TEST_CASE("Reference rejects invalid input with a reason") {
  const char* bad[] = {
      "",
      "Goals",
      "goals:",
      ":tag",
      "goals:-bad",
      "goals:a/b",
      "-goals",
      "goals-",
      "go..als",
      "goals/",
      "/goals",
      "goals@sha256:abc",
      "goals@md5:d41d8cd98f00b204e9800998ecf8427e",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "exa_mple.com:port/x",
      "with space",
  };
  for (const char* b : bad) {
    CAPTURE(b);
    auto r = Reference::parse(b);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().message.find("invalid reference") != std::string::npos);
  }
  CHECK_FALSE(Reference::parse(std::string(129, 'a').insert(0, "x:")).ok());
  CHECK_FALSE(Reference::parse(std::string(256, 'a')).ok());
  CHECK(Reference::parse("x:" + std::string(128, 'a')).ok());
  auto upper = Reference::parse("Goals");
  CHECK(upper.error().message.find("lowercase") != std::string::npos);
}
