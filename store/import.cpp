#include "store/import.hpp"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include "net/http.hpp"
#include "store/layer_apply.hpp"
#include "store/layer_writer.hpp"
#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

std::string host_architecture() {
  struct utsname u;
  if (::uname(&u) != 0) return "amd64";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m.starts_with("armv")) return "arm";
  if (m == "i386" || m == "i686") return "386";
  if (m == "ppc64le") return "ppc64le";
  if (m == "s390x") return "s390x";
  if (m == "riscv64") return "riscv64";
  return m;
}

namespace {

// Downloads `url` to `dest` (net/http.hpp). Errors: http_get's, creating `dest`.
Result<void> download(const std::string& url, const fs::path& dest) {
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return util::sys_error("create", dest.string());
  FdSink sink(fd, dest.string());
  auto got = net::http_get(url, [&](const char* data, std::size_t n) { return sink.write(data, n).ok(); });
  ::close(fd);
  if (!got) return got.error();
  return {};
}

}  // namespace

Result<Image> import_rootfs(Store& store, const std::string& source, const ImportOptions& options) {
  MKIMAGE_TRY(fs::path work, make_temp_dir(store.root(), "import"));
  TempPath guard(work);

  fs::path tarball = source;
  if (source == "-") {
    tarball = work / "input";
    MKIMAGE_TRY_VOID(copy_fd_to_file(0, "-", tarball));
  } else if (net::is_url(source)) {
    tarball = work / "input";
    MKIMAGE_TRY_VOID(download(source, tarball));
  } else if (!fs::exists(tarball)) {
    return Error{"import: \"" + source + "\": No such file or directory"};
  }

  fs::path rootfs = work / "rootfs";
  fs::create_directories(rootfs);
  auto applied = apply_layer(tarball, rootfs, ApplyMode::flat);
  if (!applied) return Error{"import: " + applied.error().message};

  MKIMAGE_TRY(BlobWriter w, store.blobs().writer());
  BlobSink sink(w);
  MKIMAGE_TRY(WrittenLayer layer, write_layer_from_dir(rootfs, sink));
  MKIMAGE_TRY(BlobInfo info, w.commit(layer.diff_id.digest, layer.size));
  MKIMAGE_TRY_VOID(store.add_blob(info, oci_layer_media_type(Compression::none)));

  ImageConfig cfg;
  cfg.created = options.created ? *options.created : Timestamp::now();
  cfg.architecture = options.architecture.empty() ? host_architecture() : options.architecture;
  cfg.os = "linux";
  cfg.config = options.config;
  cfg.diff_ids = {layer.diff_id};
  HistoryEntry h;
  h.created = cfg.created;
  h.comment = options.message.empty() ? "Imported from " + source : options.message;
  cfg.history = {h};
  Descriptor d{oci_layer_media_type(Compression::none), info.digest, info.size, {}, std::nullopt};
  MKIMAGE_TRY(Image img, store.put_image(cfg, {d}));
  if (options.tag) {
    Reference r = options.tag->tag() ? *options.tag : options.tag->with_tag("latest");
    MKIMAGE_TRY_VOID(store.tag(r, img.record.manifest));
    MKIMAGE_TRY(img, store.load(img.record.manifest));
  }
  return img;
}

}  // namespace mkimage::store
