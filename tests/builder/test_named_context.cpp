// --build-context values (include/mkimage/build.hpp parse_build_context): buildx's
// forms and error words, and the normalised names references are matched on.
#include <doctest/doctest.h>

#include "mkimage/build.hpp"

using mkimage::NamedContext;
using mkimage::parse_build_context;

namespace {
bool mentions(const mkimage::Result<NamedContext>& r, const std::string& text) {
  return !r.ok() && r.error().message.find(text) != std::string::npos;
}
}  // namespace

TEST_CASE("build context: a directory, an image, an OCI layout") {
  auto d = parse_build_context("base=../assets/dir");
  REQUIRE(d.ok());
  CHECK(d->name == "base");
  CHECK(d->kind == NamedContext::Kind::directory);
  CHECK(d->path == "../assets/dir");

  auto i = parse_build_context("busybox=docker-image://alpine:3.19");
  REQUIRE(i.ok());
  CHECK(i->kind == NamedContext::Kind::image);
  CHECK(i->reference == "alpine:3.19");
  auto scratch = parse_build_context("busybox=docker-image://scratch");
  REQUIRE(scratch.ok());
  CHECK(scratch->reference == "scratch");

  const std::string dg = "sha256:" + std::string(64, 'a');
  auto o = parse_build_context("foo=oci-layout:///tmp/layout:v1@" + dg);
  REQUIRE(o.ok());
  CHECK(o->kind == NamedContext::Kind::oci_layout);
  CHECK(o->path == "/tmp/layout");
  CHECK(o->tag == "v1");
  CHECK(o->digest == dg);
  auto bare = parse_build_context("foo=oci-layout://layout");
  REQUIRE(bare.ok());
  CHECK(bare->path == "layout");
  CHECK(bare->tag.empty());
  CHECK(bare->digest.empty());
}

TEST_CASE("build context: names are normalised like BuildKit's lookup") {
  CHECK(parse_build_context("docker.io/library/alpine:latest=d")->name == "alpine");
  CHECK(parse_build_context("alpine=d")->name == "alpine");
  CHECK(parse_build_context("alpine:3.19=d")->name == "alpine:3.19");
  CHECK(parse_build_context("docker.io/me/app:1=d")->name == "me/app:1");
  CHECK(parse_build_context("localhost:5000/app=d")->name == "localhost:5000/app");
}

TEST_CASE("build context: errors in buildx's words") {
  CHECK(mentions(parse_build_context("nodir"), "invalid context value: nodir, expected key=value"));
  CHECK(mentions(parse_build_context("Base=dir"), "invalid context name Base"));
  CHECK(mentions(parse_build_context("a="), "invalid context value"));
  CHECK(mentions(parse_build_context("a=docker-image://"), "no image reference"));
  CHECK(mentions(parse_build_context("a=docker-image://Bad"), "invalid context a"));
  CHECK(mentions(parse_build_context("a=oci-layout://dir@sha256:zz"), "invalid oci-layout digest"));
  CHECK(mentions(parse_build_context("a=https://example.com/x.git"), "unsupported context source"));
}
