// Layer compression for images leaving the store (image-spec layer.md media types
// +gzip / +zstd; the Compression enum and media types are in store/media_type.hpp):
// streamed, deterministic (the same tar and level always give the
// same bytes, so a compressed descriptor can be remembered by diff_id), and
// decompression of gzip/zstd/xz/bzip2 or plain input when images come in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/digest.hpp"
#include "store/layer_writer.hpp"
#include "store/media_type.hpp"
#include "util/result.hpp"

namespace mkimage::store {

// Default levels: gzip 6 (zlib's and BuildKit's default), zstd 3 (BuildKit's default).
constexpr int k_default_gzip_level = 6;
constexpr int k_default_zstd_level = 3;

// Digest and size (bytes) of a byte stream that went through a sink.
struct StreamDigest {
  Digest digest;
  std::int64_t size = 0;
};

// A ByteSink that compresses what it receives into `out` and hashes the compressed
// bytes. level 0 = the default for the algorithm. Gzip output has no file name and
// mtime 0, and is deflated on every core in 128 KiB blocks (store/parallel_gzip.hpp:
// the same bytes for the same input whatever the core count); zstd uses one
// worker thread. Compression::none passes bytes through.
class CompressingSink : public ByteSink {
public:
  CompressingSink(Compression c, ByteSink& out, int level = 0);
  ~CompressingSink() override;
  CompressingSink(const CompressingSink&) = delete;
  CompressingSink& operator=(const CompressingSink&) = delete;

  util::Result<void> write(const void* data, std::size_t size) override;
  // Flushes the compressor; returns digest and size of the compressed stream.
  // Call exactly once, after the last write().
  util::Result<StreamDigest> finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Compresses the file `src` into `out`. Errors: I/O naming the path.
util::Result<StreamDigest> compress_file(const std::filesystem::path& src, Compression c, ByteSink& out,
                                         int level = 0);

// Writes the decompressed bytes of `src` (gzip, zstd, xz, bzip2 or plain, detected
// from the content) into `out`; returns digest and size of the decompressed bytes
// (for a layer: its diff_id). Errors: I/O, corrupt compressed data.
util::Result<StreamDigest> decompress_file(const std::filesystem::path& src, ByteSink& out);

// The compression of a file from its first bytes (gzip 1f 8b, zstd 28 b5 2f fd);
// Compression::none for anything else. Errors: cannot read.
util::Result<Compression> detect_compression(const std::filesystem::path& path);

}  // namespace mkimage::store
