// Flattened exports: the rootfs of an image as one tar, or as a directory
// (store/archive.hpp export_rootfs_tar, export_local).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/archive.hpp"
#include "store/layer_apply.hpp"
#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

Result<void> export_local(Store& store, const Image& image, const fs::path& dest) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) return Error{"mkdir \"" + dest.string() + "\": " + ec.message()};
  for (std::size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Digest& blob = image.manifest.layers[i].digest;
    if (!store.blobs().exists(blob)) return Error{"layer blob " + blob.str() + " is missing"};
    auto r = apply_layer(store.blobs().path(blob), dest, ApplyMode::flat);
    if (!r) return Error{"export layer " + std::to_string(i) + ": " + r.error().message};
  }
  return {};
}

Result<void> export_rootfs_tar(Store& store, const Image& image, const fs::path& out) {
  MKIMAGE_TRY(fs::path work, make_temp_dir(store.root(), "rootfs"));
  TempPath guard(work);
  fs::path rootfs = work / "rootfs";
  MKIMAGE_TRY_VOID(export_local(store, image, rootfs));

  int fd = 1;
  std::string tmp_out;
  if (out != "-") {
    fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    tmp_out = (dir / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
    fd = ::mkstemp(tmp_out.data());
    if (fd < 0) return util::sys_error("create", tmp_out);
    ::fchmod(fd, 0644);
  }
  FdSink sink(fd, out.string());
  auto w = write_layer_from_dir(rootfs, sink);
  if (fd != 1) {
    bool ok = w.ok() && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp_out.c_str(), out.c_str()) != 0) {
      ::unlink(tmp_out.c_str());
      if (!w) return w.error();
      return util::sys_error("write", out.string());
    }
  }
  if (!w) return w.error();
  return {};
}

}  // namespace mkimage::store
