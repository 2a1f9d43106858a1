// gzip on several cores, as pigz does: the input is cut into fixed blocks of
// 128 KiB, each deflated on its own thread with the previous block's last 32 KiB
// as its dictionary and ended with a sync flush, and the raw deflate blocks are
// written in order between one gzip header and trailer (CRC-32 combined). The
// output is a standard single-member gzip stream, and for a given input and
// level it is always the same bytes, whatever the number of threads: block
// boundaries depend only on the input.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/layer_writer.hpp"
#include "util/result.hpp"

namespace mkimage::store {

class ParallelGzip {
public:
  // `threads`: compressing threads (0 = the number of cores, at most 8).
  ParallelGzip(ByteSink& out, int level, unsigned threads = 0);
  ~ParallelGzip();
  ParallelGzip(const ParallelGzip&) = delete;
  ParallelGzip& operator=(const ParallelGzip&) = delete;

  // Errors: the out sink's, deflate failures.
  util::Result<void> write(const void* data, std::size_t size);
  // Writes the last block and the trailer. Call once, after the last write().
  util::Result<void> finish();

private:
  util::Result<void> flush_batch(bool last);

  ByteSink& m_out;
  int m_level;
  unsigned m_threads;
  std::vector<std::string> m_blocks;  // full blocks waiting, the last one filling
  std::string m_dict;                 // the last 32 KiB before m_blocks[0]
  std::uint32_t m_crc = 0;
  std::uint64_t m_size = 0;
  bool m_header_written = false;
};

}  // namespace mkimage::store
