#include <doctest/doctest.h>

#include "mkimage/build.hpp"

using mkimage::CacheSpec;
using mkimage::CacheType;
using mkimage::parse_cache_spec;

namespace {
bool mentions(const mkimage::Result<CacheSpec>& r, const std::string& text) {
  return !r.ok() && r.error().message.find(text) != std::string::npos;
}
}  // namespace

TEST_CASE("cache spec: a bare value is a registry ref") {
  auto c = parse_cache_spec("reg.example:5000/app:cache", false);
  REQUIRE(c.ok());
  CHECK(c->type == CacheType::registry);
  CHECK(c->ref == "reg.example:5000/app:cache");
  CHECK_FALSE(c->mode_max);
  CHECK(mentions(parse_cache_spec("", false), "--cache-from needs a value"));
}

TEST_CASE("cache spec: type=registry, type=local") {
  auto c = parse_cache_spec("type=registry,ref=r/app:cache,mode=max", true);
  REQUIRE(c.ok());
  CHECK(c->type == CacheType::registry);
  CHECK(c->ref == "r/app:cache");
  CHECK(c->mode_max);
  CHECK(mentions(parse_cache_spec("type=registry", true), "type=registry needs ref=REF"));
  c = parse_cache_spec("type=local,dest=/srv/cache", true);
  REQUIRE(c.ok());
  CHECK(c->type == CacheType::local);
  CHECK(c->dir == "/srv/cache");
  c = parse_cache_spec("type=local,src=/srv/cache", false);
  REQUIRE(c.ok());
  CHECK(c->dir == "/srv/cache");
  CHECK(mentions(parse_cache_spec("type=local", true), "type=local needs dest=DIR"));
  CHECK(mentions(parse_cache_spec("type=local,mode=max", true), "type=local needs dest=DIR"));
  CHECK(mentions(parse_cache_spec("type=local", false), "type=local needs src=DIR"));
  CHECK(mentions(parse_cache_spec("type=s3,bucket=b", true), "unknown key \"bucket\""));
  CHECK(mentions(parse_cache_spec("type=gha", true), "unsupported cache type \"gha\""));
}

TEST_CASE("cache spec: type=inline exports only") {
  auto c = parse_cache_spec("type=inline", true);
  REQUIRE(c.ok());
  CHECK(c->type == CacheType::inline_records);
  CHECK(mentions(parse_cache_spec("type=inline", false), "type=inline is not a source"));
}

TEST_CASE("cache spec: options and their errors") {
  CHECK(mentions(parse_cache_spec("type=registry,ref=r/a,colour=red", true), "--cache-to: unknown key \"colour\""));
  CHECK(mentions(parse_cache_spec("type=registry,ref=r/a,colour=red", false), "--cache-from: unknown key"));
  CHECK(mentions(parse_cache_spec("type=registry,ref", true), "invalid field \"ref\""));
  CHECK(mentions(parse_cache_spec("type=registry,ref=r/a,mode=all", true), "mode must be min or max"));
  auto c = parse_cache_spec("type=registry,ref=r/a,mode=min", true);
  REQUIRE(c.ok());
  CHECK_FALSE(c->mode_max);

  c = parse_cache_spec("type=registry,ref=r/a,compression=zstd", true);
  REQUIRE(c.ok());
  REQUIRE(c->compression);
  CHECK(*c->compression == mkimage::Compression::zstd);
  CHECK(mentions(parse_cache_spec("type=registry,ref=r/a,compression=lz4", true), "gzip or zstd"));

  c = parse_cache_spec("type=registry,ref=r/a,ignore-error=true,mounts=1", true);
  REQUIRE(c.ok());
  CHECK(c->ignore_error);
  CHECK(c->mounts);
  CHECK(c->mounts_max_size == std::int64_t{512} << 20);
  CHECK(mentions(parse_cache_spec("type=registry,ref=r/a,ignore-error=yes", true), "true or false"));

  c = parse_cache_spec("type=local,dest=/d,mounts-max-size=64m", true);
  REQUIRE(c.ok());
  CHECK(c->mounts_max_size == std::int64_t{64} << 20);
  c = parse_cache_spec("type=local,dest=/d,mounts-max-size=2GiB", true);
  REQUIRE(c.ok());
  CHECK(c->mounts_max_size == std::int64_t{2} << 30);
  c = parse_cache_spec("type=local,dest=/d,mounts-max-size=1000", true);
  REQUIRE(c.ok());
  CHECK(c->mounts_max_size == 1000);
  CHECK(mentions(parse_cache_spec("type=local,dest=/d,mounts-max-size=lots", true), "is not a size"));
  CHECK(mentions(parse_cache_spec("type=local,dest=/d,mounts-max-size=5q", true), "unknown unit"));
  CHECK(mentions(parse_cache_spec("type=local,dest=/d,mounts-max-size=-1m", true), "negative"));
  CHECK_FALSE(parse_cache_spec("type=local,dest=/d,mounts-max-size=99999999999999999999", true).ok());
  // an overflowing size is refused, not wrapped
  CHECK_FALSE(parse_cache_spec("type=local,dest=/d,mounts-max-size=9000000000000g", true).ok());
  // buildx options mkimage accepts and ignores
  CHECK(parse_cache_spec("type=registry,ref=r/a,oci-mediatypes=true,image-manifest=true", true).ok());
}

TEST_CASE("cache spec: a malformed registry ref is refused before the build") {
  CHECK(mentions(parse_cache_spec("type=registry,ref=UPPER::bad//ref", true), "--cache-to: invalid reference"));
  CHECK(mentions(parse_cache_spec("UPPER::bad//ref", false), "--cache-from: invalid reference"));
  CHECK(parse_cache_spec("type=registry,ref=127.0.0.1:5000/app:cache", true).ok());
}
