#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdio>
#include <random>
#include <string>

#include "layer_test_util.hpp"
#include "store/decompressing_sink.hpp"
#include "store/parallel_gzip.hpp"
#include "temp_dir.hpp"

using namespace mkimage::store;
using layer_test::StringSink;

namespace {
std::string gz(const std::string& in, unsigned threads, std::size_t step) {
  StringSink out;
  ParallelGzip z(out, 6, threads);
  for (std::size_t i = 0; i < in.size(); i += step) REQUIRE(z.write(in.data() + i, std::min(step, in.size() - i)).ok());
  REQUIRE(z.finish().ok());
  return out.bytes;
}

std::string gunzip_zlib(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  char buf[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int r;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    r = inflate(&z, Z_NO_FLUSH);
    REQUIRE((r == Z_OK || r == Z_STREAM_END));
    out.append(buf, sizeof buf - z.avail_out);
  } while (r != Z_STREAM_END);
  CHECK(z.avail_in == 0);  // one member, nothing after it
  inflateEnd(&z);
  return out;
}

// Text-like input with repeats across block boundaries (so dictionaries matter).
std::string sample(std::size_t n) {
  std::mt19937 rng(42);
  std::string words[] = {"layer ", "digest ", "manifest ", "sha256 ", "config ", "blob ", "\n", "tar "};
  std::string s;
  while (s.size() < n) s += words[rng() % 8] + std::to_string(rng() % 100);
  s.resize(n);
  return s;
}
}  // namespace

TEST_CASE("ParallelGzip: standard gzip, the same bytes for any thread count and write size") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{131072}, std::size_t{131073},
                        std::size_t{5 * 1024 * 1024 + 17}}) {
    std::string in = sample(n);
    std::string a = gz(in, 1, 1 << 20);
    CHECK(gz(in, 2, 4096) == a);
    CHECK(gz(in, 3, 100003) == a);
    CHECK(gunzip_zlib(a) == in);
    StringSink out;
    DecompressingSink d(Compression::gzip, out);
    REQUIRE(d.write(a.data(), a.size()).ok());
    REQUIRE(d.finish().ok());
    CHECK(out.bytes == in);
    if (n > 1000) CHECK(a.size() < n / 2);  // it compresses (dictionaries carry across blocks)
  }
}

TEST_CASE("ParallelGzip: gzip(1) reads what it writes") {
  mkimage::test::TempDir dir;
  std::string in = sample(3 * 1024 * 1024);
  std::string z = gz(in, 2, 65536);
  std::string path = (dir.path() / "x.gz").string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(z.data(), 1, z.size(), f);
  std::fclose(f);
  CHECK(std::system(("gzip -t " + path).c_str()) == 0);
}
