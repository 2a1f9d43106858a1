// Streaming layer decompression for blobs arriving over the network (a registry
// pull): bytes pushed in as they arrive come out decompressed into another
// ByteSink, so a layer is never held in memory or written twice.
// Handles image-spec layer.md's compressions: gzip (also several concatenated
// members, as `docker` and `pigz` may write), zstd (any number of frames) and none.
#pragma once

#include <memory>

#include "store/layer_writer.hpp"
#include "store/media_type.hpp"
#include "util/result.hpp"

namespace mkimage::store {

class DecompressingSink : public ByteSink {
public:
  DecompressingSink(Compression c, ByteSink& out);
  ~DecompressingSink() override;
  DecompressingSink(const DecompressingSink&) = delete;
  DecompressingSink& operator=(const DecompressingSink&) = delete;

  // Errors: corrupt compressed data ("gzip: invalid ..."), the out sink's errors.
  util::Result<void> write(const void* data, std::size_t size) override;
  // Checks the stream ended cleanly. Errors: truncated input ("gzip: unexpected
  // end of stream"). Call once, after the last write().
  util::Result<void> finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace mkimage::store
