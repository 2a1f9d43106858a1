#include "store/parallel_gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <future>
#include <thread>

namespace mkimage::store {

using util::Error;
using util::Result;

namespace {

constexpr std::size_t k_block = 128 * 1024;  // pigz's default
constexpr std::size_t k_window = 32 * 1024;  // deflate's window: the dictionary size

struct Deflated {
  std::string bytes;
  std::uint32_t crc = 0;
  std::string error;
};

// One block as raw deflate: sync-flushed (byte aligned, not final) or, for the
// last block, finished.
Deflated deflate_block(const std::string& in, const std::string& dict, int level, bool last) {
  Deflated d;
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    d.error = "gzip: deflateInit2 failed";
    return d;
  }
  if (!dict.empty()) deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size()));
  d.bytes.resize(deflateBound(&z, static_cast<uLong>(in.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(d.bytes.data());
  z.avail_out = static_cast<uInt>(d.bytes.size());
  int r = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
  if ((last && r != Z_STREAM_END) || (!last && r != Z_OK) || z.avail_in != 0) d.error = "gzip: deflate failed";
  d.bytes.resize(d.bytes.size() - z.avail_out);
  deflateEnd(&z);
  d.crc = static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size())));
  return d;
}

void put_le32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

ParallelGzip::ParallelGzip(ByteSink& out, int level, unsigned threads) : m_out(out), m_level(level) {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  m_threads = threads ? threads : std::min(cores, 8u);
}

ParallelGzip::~ParallelGzip() = default;

Result<void> ParallelGzip::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    if (m_blocks.empty() || m_blocks.back().size() == k_block) {
      // A batch of 4 blocks a thread is compressed at once, then the next starts.
      if (m_blocks.size() == 4 * m_threads) MKIMAGE_TRY_VOID(flush_batch(false));
      m_blocks.emplace_back();
      m_blocks.back().reserve(k_block);
    }
    std::string& b = m_blocks.back();
    std::size_t n = std::min(size, k_block - b.size());
    b.append(p, n);
    p += n;
    size -= n;
  }
  return {};
}

Result<void> ParallelGzip::flush_batch(bool last) {
  if (!m_header_written) {
    // mtime 0, no name, OS "Unix": as zlib's own gzip wrapper writes it.
    const unsigned char xfl = m_level == 9 ? 2 : (m_level == 1 ? 4 : 0);
    const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3};
    MKIMAGE_TRY_VOID(m_out.write(header, sizeof header));
    m_header_written = true;
  }
  if (last && m_blocks.empty()) m_blocks.emplace_back();  // an empty stream still needs a final block
  std::vector<std::future<Deflated>> jobs;
  for (std::size_t i = 0; i < m_blocks.size(); ++i) {
    const std::string& dict = i == 0 ? m_dict : m_blocks[i - 1];
    std::string tail = dict.size() > k_window ? dict.substr(dict.size() - k_window) : dict;
    bool final_block = last && i + 1 == m_blocks.size();
    jobs.push_back(std::async(std::launch::async, deflate_block, std::cref(m_blocks[i]), std::move(tail), m_level,
                              final_block));
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Deflated d = jobs[i].get();
    if (!d.error.empty()) {
      for (std::size_t k = i + 1; k < jobs.size(); ++k) jobs[k].wait();
      return Error{d.error};
    }
    m_crc = static_cast<std::uint32_t>(crc32_combine(m_crc, d.crc, static_cast<z_off_t>(m_blocks[i].size())));
    m_size += m_blocks[i].size();
    MKIMAGE_TRY_VOID(m_out.write(d.bytes.data(), d.bytes.size()));
  }
  const std::string& prev = m_blocks.back();
  m_dict = prev.size() >= k_window ? prev.substr(prev.size() - k_window) : m_dict.substr(m_dict.size() - std::min(m_dict.size(), k_window - prev.size())) + prev;
  m_blocks.clear();
  return {};
}

Result<void> ParallelGzip::finish() {
  MKIMAGE_TRY_VOID(flush_batch(true));
  std::string trailer;
  put_le32(trailer, m_crc);
  put_le32(trailer, static_cast<std::uint32_t>(m_size & 0xffffffffu));
  return m_out.write(trailer.data(), trailer.size());
}

}  // namespace mkimage::store
