#include <doctest/doctest.h>

#include "registry/auth.hpp"

using namespace mkimage::registry;

TEST_CASE("WWW-Authenticate: docker's Bearer challenge") {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params["realm"] == "https://auth.docker.io/token");
  CHECK(c[0].params["service"] == "registry.docker.io");
  CHECK(c[0].params["scope"] == "repository:samalba/my-app:pull,push");
}

TEST_CASE("WWW-Authenticate: Basic, token values, several challenges, escapes") {
  auto c = parse_www_authenticate(R"(Basic realm="basic-realm")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].params["realm"] == "basic-realm");

  c = parse_www_authenticate(R"(Negotiate, Bearer realm=http://127.0.0.1:1/t, service=reg)");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "negotiate");
  CHECK(c[1].params["realm"] == "http://127.0.0.1:1/t");
  CHECK(c[1].params["service"] == "reg");

  c = parse_www_authenticate(R"(Bearer realm="a\"b")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].params["realm"] == "a\"b");

  CHECK(parse_www_authenticate("").empty());
  CHECK(parse_www_authenticate("realm=x").empty());  // a parameter without a scheme
}

TEST_CASE("repository scopes ask for pull, or pull and push") {
  CHECK(repository_scope("library/node", false) == "repository:library/node:pull");
  CHECK(repository_scope("me/app", true) == "repository:me/app:pull,push");
}

TEST_CASE("Authorizer sends nothing before a challenge, Basic after a Basic one") {
  mkimage::net::HttpClient http;  // never used: no token is fetched for Basic
  Authorizer anon(std::nullopt, {}, 1);
  auto h = anon.authorization({"repository:x:pull"}, http);
  REQUIRE(h.ok());
  CHECK(h->empty());
  CHECK(anon.learn(R"(Basic realm="r")"));
  h = anon.authorization({"repository:x:pull"}, http);
  REQUIRE(h.ok());
  CHECK(h->empty());  // anonymous: no credentials to send

  Authorizer user(Credentials{"u", "p", ""}, {}, 1);
  CHECK_FALSE(user.knows_challenge());
  CHECK(user.learn(R"(Basic realm="r")"));
  CHECK(user.knows_challenge());
  h = user.authorization({}, http);
  REQUIRE(h.ok());
  CHECK(*h == "Basic dTpw");  // base64("u:p")
  CHECK_FALSE(user.learn("Negotiate"));
}
