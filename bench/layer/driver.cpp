// bench/layer driver: times mkimage's layer commit (directory → tar → sha256 →
// blob file, fsync included) and export compression (gzip, zstd) on one tree.
//   bench_layer_driver commit ROOT DIR          prints "commit SECONDS BYTES DIFF_ID"
//   bench_layer_driver commit-run ROOT DIR      the same as a RUN step's commit
//                                               (builder/layers.cpp: the diff_id is the
//                                               blob digest, the blob written with O_DIRECT)
//   bench_layer_driver hash-only ROOT DIR       the tar + sha256 pass alone, no blob
//                                               (what a commit would cost without
//                                               writing the blob: docs/design/layers.md)
//   bench_layer_driver export ROOT DIFF_ID ALG  prints "export-ALG SECONDS BYTES"
#include <chrono>
#include <cstdio>
#include <string>

#include "store/archive.hpp"
#include "store/layer_writer.hpp"
#include "store/store.hpp"

using namespace mkimage;

namespace {
class BlobSink : public store::ByteSink {
public:
  explicit BlobSink(store::BlobWriter& w) : m_w(w) {}
  util::Result<void> write(const void* d, std::size_t n) override { return m_w.write(d, n); }

private:
  store::BlobWriter& m_w;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class NullSink : public store::ByteSink {
public:
  util::Result<void> write(const void*, std::size_t) override { return {}; }
};

int fail(const std::string& m) {
  std::fprintf(stderr, "bench_layer_driver: %s\n", m.c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return fail("usage: commit|commit-run|hash-only ROOT DIR | export ROOT DIFF_ID gzip|zstd");
  std::string mode = argv[1];
  auto st = store::Store::open(argv[2]);
  if (!st) return fail(st.error().message);
  if (mode == "hash-only") {
    double t0 = now();
    NullSink sink;
    auto layer = store::write_layer_from_dir(argv[3], sink);
    if (!layer) return fail(layer.error().message);
    std::printf("hash-only %.3f %lld %s\n", now() - t0, static_cast<long long>(layer->size),
                layer->diff_id.digest.str().c_str());
    return 0;
  }
  if (mode == "commit" || mode == "commit-run") {
    bool run = mode == "commit-run";
    double t0 = now();
    auto w = (*st)->blobs().writer(run ? store::BlobHashing::caller : store::BlobHashing::writer);
    if (!w) return fail(w.error().message);
    if (run) w->use_direct_io();
    BlobSink sink(*w);
    auto layer = store::write_layer_from_dir(argv[3], sink);
    if (!layer) return fail(layer.error().message);
    auto info = w->commit(layer->diff_id.digest, layer->size);
    if (!info) return fail(info.error().message);
    auto added = (*st)->add_layer(*info, std::nullopt);
    if (!added) return fail(added.error().message);
    double t1 = now();
    std::printf("%s %.3f %lld %s\n", mode.c_str(), t1 - t0, static_cast<long long>(layer->size), layer->diff_id.digest.str().c_str());
    return 0;
  }
  if (mode == "export" && argc >= 5) {
    auto d = store::Digest::parse(argv[3]);
    if (!d) return fail(d.error().message);
    auto c = store::parse_compression(argv[4]);
    if (!c) return fail(c.error().message);
    double t0 = now();
    auto desc = store::compressed_layer(**st, store::DiffId{*d}, *c);
    if (!desc) return fail(desc.error().message);
    double t1 = now();
    std::printf("export-%s %.3f %lld\n", argv[4], t1 - t0, static_cast<long long>(desc->size));
    return 0;
  }
  return fail("unknown mode " + mode);
}
