#include <doctest/doctest.h>

#include <string>

#include "store/compression.hpp"
#include "layer_test_util.hpp"
#include "store/decompressing_sink.hpp"

using namespace mkimage::store;
using layer_test::StringSink;

namespace {
std::string compress(Compression c, const std::string& in) {
  StringSink out;
  CompressingSink z(c, out);
  REQUIRE(z.write(in.data(), in.size()).ok());
  REQUIRE(z.finish().ok());
  return out.bytes;
}

// Feeds `in` in chunks of `step` bytes.
mkimage::util::Result<std::string> inflate(Compression c, const std::string& in, std::size_t step) {
  StringSink out;
  DecompressingSink d(c, out);
  for (std::size_t i = 0; i < in.size(); i += step) {
    MKIMAGE_TRY_VOID(d.write(in.data() + i, std::min(step, in.size() - i)));
  }
  MKIMAGE_TRY_VOID(d.finish());
  return out.bytes;
}
}  // namespace

TEST_CASE("DecompressingSink: gzip, zstd and none, in any chunking") {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += std::to_string(i * 7919 % 1000) + ",";
  for (Compression c : {Compression::gzip, Compression::zstd, Compression::none}) {
    std::string z = compress(c, text);
    for (std::size_t step : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{7}}) {
      if (step == 7 && z.size() > 300000) continue;
      auto r = inflate(c, z, step);
      REQUIRE(r.ok());
      CHECK(*r == text);
    }
  }
}

TEST_CASE("DecompressingSink: concatenated gzip members and zstd frames") {
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    std::string z = compress(c, "hello ") + compress(c, "world");
    auto r = inflate(c, z, 3);
    REQUIRE(r.ok());
    CHECK(*r == "hello world");
  }
}

TEST_CASE("DecompressingSink: truncated and corrupt input are errors") {
  std::string text(100000, 'x');
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    std::string z = compress(c, text);
    auto r = inflate(c, z.substr(0, z.size() / 2), 1000);
    CHECK_FALSE(r.ok());
    CHECK_FALSE(inflate(c, "", 1).ok());
    std::string bad = z;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0xff);
    bad[5] = static_cast<char>(bad[5] ^ 0x55);
    auto rb = inflate(c, bad, 1000);
    if (rb.ok()) CHECK(*rb != text);  // a flipped byte is caught by the format or by the diff_id check
  }
}
