#include "store/compression.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <vector>

#include "store/archive_error.hpp"
#include "store/parallel_gzip.hpp"
#include "util/fd.hpp"
#include "util/sha256.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {
constexpr std::size_t k_chunk = 1 << 20;  // bytes

using util::Fd;
}  // namespace

struct CompressingSink::Impl {
  // Hands what the parallel gzip encoder writes to emit().
  struct EmitSink : ByteSink {
    Impl* impl;
    explicit EmitSink(Impl* i) : impl(i) {}
    Result<void> write(const void* p, std::size_t n) override { return impl->emit(p, n); }
  };

  Compression c;
  ByteSink& out;
  EmitSink emit_sink{this};
  std::unique_ptr<ParallelGzip> pgz;  // gzip: blocks deflated on every core (store/parallel_gzip.hpp)
  util::Sha256 hash;
  std::int64_t size = 0;
  std::vector<unsigned char> buf;
  ZSTD_CCtx* zc = nullptr;
  std::optional<Error> init_error;

  Impl(Compression comp, ByteSink& o, int level) : c(comp), out(o) {
    buf.resize(k_chunk);
    if (c == Compression::gzip) {
      pgz = std::make_unique<ParallelGzip>(emit_sink, level ? level : k_default_gzip_level);
    } else if (c == Compression::zstd) {
      zc = ZSTD_createCCtx();
      if (!zc || ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, level ? level : k_default_zstd_level)) ||
          ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 1))) {
        init_error = Error{"zstd: cannot create a compression context"};
      } else {
        // One worker thread compresses while this thread reads and hashes (as the
        // zstd CLI does). Output is the same for any worker count >= 1; a library
        // built without threads refuses the parameter and compresses inline.
        (void)ZSTD_CCtx_setParameter(zc, ZSTD_c_nbWorkers, 1);
      }
    }
  }
  ~Impl() {
    if (zc) ZSTD_freeCCtx(zc);
  }

  Result<void> emit(const void* p, std::size_t n) {
    if (n == 0) return {};
    hash.update(p, n);
    size += static_cast<std::int64_t>(n);
    return out.write(p, n);
  }

  Result<void> zstd(const void* data, std::size_t size_in, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, size_in, 0};
    for (;;) {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      std::size_t left = ZSTD_compressStream2(zc, &o, &in, mode);
      if (ZSTD_isError(left)) return Error{std::string("zstd: ") + ZSTD_getErrorName(left)};
      MKIMAGE_TRY_VOID(emit(buf.data(), o.pos));
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return {};
    }
  }
};

CompressingSink::CompressingSink(Compression c, ByteSink& out, int level)
    : m_impl(std::make_unique<Impl>(c, out, level)) {}
CompressingSink::~CompressingSink() = default;

Result<void> CompressingSink::write(const void* data, std::size_t size) {
  auto& m = *m_impl;
  if (m.init_error) return *m.init_error;
  // zlib takes at most 4 GiB per call (uInt)
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    std::size_t n = std::min<std::size_t>(size, 1u << 30);
    switch (m.c) {
      case Compression::none: MKIMAGE_TRY_VOID(m.emit(p, n)); break;
      case Compression::gzip: MKIMAGE_TRY_VOID(m.pgz->write(p, n)); break;
      case Compression::zstd: MKIMAGE_TRY_VOID(m.zstd(p, n, ZSTD_e_continue)); break;
    }
    p += n;
    size -= n;
  }
  return {};
}

Result<StreamDigest> CompressingSink::finish() {
  auto& m = *m_impl;
  if (m.init_error) return *m.init_error;
  if (m.c == Compression::gzip) MKIMAGE_TRY_VOID(m.pgz->finish());
  if (m.c == Compression::zstd) MKIMAGE_TRY_VOID(m.zstd(nullptr, 0, ZSTD_e_end));
  return StreamDigest{Digest::from_bytes(m.hash.finish()), m.size};
}

Result<StreamDigest> compress_file(const fs::path& src, Compression c, ByteSink& out, int level) {
  Fd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) return util::sys_error("open", src.string());
  ::posix_fadvise(fd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  CompressingSink sink(c, out, level);
  std::vector<char> buf(k_chunk);
  for (;;) {
    ssize_t n = ::read(fd.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("read", src.string());
    }
    if (n == 0) break;
    MKIMAGE_TRY_VOID(sink.write(buf.data(), static_cast<std::size_t>(n)));
  }
  return sink.finish();
}

Result<StreamDigest> decompress_file(const fs::path& src, ByteSink& out) {
  archive* a = archive_read_new();
  struct Closer {
    archive* a;
    ~Closer() { archive_read_free(a); }
  } closer{a};
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  archive_read_support_format_empty(a);
  if (archive_read_open_filename(a, src.c_str(), k_chunk) != ARCHIVE_OK) {
    return Error{"open \"" + src.string() + "\": " + archive_error_text(a)};
  }
  util::Sha256 hash;
  std::int64_t size = 0;
  archive_entry* e = nullptr;
  int r = archive_read_next_header(a, &e);
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
    const void* buf;
    size_t n;
    la_int64_t off;
    for (;;) {
      int rr = archive_read_data_block(a, &buf, &n, &off);
      if (rr == ARCHIVE_EOF) break;
      if (rr < ARCHIVE_WARN) return Error{"decompress \"" + src.string() + "\": " + archive_error_text(a)};
      if (off != size) return Error{"decompress \"" + src.string() + "\": unexpected sparse data"};
      hash.update(buf, n);
      size += static_cast<std::int64_t>(n);
      MKIMAGE_TRY_VOID(out.write(buf, n));
    }
  } else if (r != ARCHIVE_EOF) {
    return Error{"decompress \"" + src.string() + "\": " + archive_error_text(a)};
  }
  return StreamDigest{Digest::from_bytes(hash.finish()), size};
}

Result<Compression> detect_compression(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) return util::sys_error("open", path.string());
  unsigned char m[4] = {};
  ssize_t n = ::read(fd.fd, m, sizeof m);
  if (n < 0) return util::sys_error("read", path.string());
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return Compression::gzip;
  if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return Compression::zstd;
  return Compression::none;
}

}  // namespace mkimage::store
