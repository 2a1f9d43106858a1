// Flattened exports: the rootfs of an image as one tar, or as a directory
// (store/archive.hpp export_rootfs_tar, export_local).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "store/archive.hpp"
#include "store/layer_apply.hpp"
#include "store/owner.hpp"
#include "store/root.hpp"
#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

// Applies every layer of `image`, in order, onto the directory `dir`.
Result<void> apply_image_layers(Store& store, const Image& image, const fs::path& dir) {
  for (std::size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Digest& blob = image.manifest.layers[i].digest;
    if (!store.blobs().exists(blob)) return Error{"layer blob " + blob.str() + " is missing"};
    auto r = apply_layer(store.blobs().path(blob), dir, ApplyMode::flat);
    if (!r) return Error{"export layer " + std::to_string(i) + ": " + r.error().message};
  }
  return {};
}

bool is_dir(const struct stat& st) { return S_ISDIR(st.st_mode); }

// Moves every entry of `from` into `to` (the same file system, so nothing is
// copied and no space is needed): a non-directory replaces what `to` has under
// its name, a directory is merged into an existing directory of `to` and gives
// it its mode, owner and times.
Result<void> merge_into(const fs::path& from, const fs::path& to) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(from, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return Error{"list \"" + from.string() + "\": " + ec.message()};
  for (const auto& n : names) {
    fs::path src = from / n, dst = to / n;
    struct stat s, d;
    if (::lstat(src.c_str(), &s) != 0) return util::sys_error("lstat", src.string());
    bool exists = ::lstat(dst.c_str(), &d) == 0;
    if (exists && is_dir(s) && is_dir(d)) {
      // entries move out of src and into dst: both must be writable meanwhile
      ::chmod(src.c_str(), 0700);
      ::chmod(dst.c_str(), 0700);
      MKIMAGE_TRY_VOID(merge_into(src, dst));
      if (::geteuid() == 0 && ::lchown(dst.c_str(), s.st_uid, s.st_gid) != 0) {
        return util::sys_error("chown", dst.string());
      }
      if (::chmod(dst.c_str(), s.st_mode & 07777) != 0) return util::sys_error("chmod", dst.string());
      struct timespec times[2] = {s.st_atim, s.st_mtim};
      ::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW);
      if (::rmdir(src.c_str()) != 0) return util::sys_error("rmdir", src.string());
      continue;
    }
    if (exists && (is_dir(s) || is_dir(d))) MKIMAGE_TRY_VOID(remove_tree(dst));
    if (::rename(src.c_str(), dst.c_str()) != 0) return util::sys_error("rename to", dst.string());
  }
  return {};
}

}  // namespace

// The rootfs is made in a staging directory inside `dest` (the same file system
// even when `dest` is a mount point), flushed with syncfs(2) (a full disk may
// show only at write-back), then moved into `dest` by renames. A failure leaves
// `dest` as it was (removed if this call made it).
Result<void> export_local(Store& store, const Image& image, const fs::path& dest) {
  std::error_code ec;
  bool made = !fs::exists(fs::symlink_status(dest, ec));
  fs::create_directories(dest, ec);
  if (ec) return Error{"mkdir \"" + dest.string() + "\": " + ec.message()};
  std::string stage = (dest / ".mkimage-export-XXXXXX").string();
  if (!::mkdtemp(stage.data())) {
    auto e = util::sys_error("mkdtemp", stage);
    if (made) fs::remove(dest, ec);
    return e;
  }
  auto done = [&]() -> Result<void> {
    if (::chmod(stage.c_str(), 0755) != 0) return util::sys_error("chmod", stage);
    MKIMAGE_TRY_VOID(apply_image_layers(store, image, stage));
    int fd = ::open(stage.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return util::sys_error("open", stage);
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return util::sys_error("sync", dest.string(), err);
    MKIMAGE_TRY_VOID(merge_into(stage, dest));
    if (::rmdir(stage.c_str()) != 0) return util::sys_error("rmdir", stage);
    return fsync_dir(dest);
  }();
  if (!done) {
    (void)remove_tree(stage);
    if (made) (void)remove_tree(dest);
    return done.error();
  }
  return {};
}

Result<void> export_rootfs_tar(Store& store, const Image& image, const fs::path& out) {
  MKIMAGE_TRY(fs::path work, make_temp_dir(store.root(), "rootfs"));
  TempPath guard(work);
  fs::path rootfs = work / "rootfs";
  std::error_code ec;
  fs::create_directories(rootfs, ec);
  if (ec) return Error{"mkdir \"" + rootfs.string() + "\": " + ec.message()};
  MKIMAGE_TRY_VOID(apply_image_layers(store, image, rootfs));

  int fd = 1;
  std::string tmp_out;
  if (out != "-") {
    fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    (void)sweep_dead_save_temps(dir);  // what a killed export left (store/owner.hpp)
    tmp_out = save_temp_template(out);
    fd = ::mkstemp(tmp_out.data());
    if (fd < 0) return util::sys_error("create", tmp_out);
    ::fchmod(fd, 0644);
  }
  FdSink sink(fd, out.string());
  auto w = write_layer_from_dir(rootfs, sink);
  if (fd != 1) {
    // every step checked: a full disk may show only at fsync or close
    std::optional<Error> failed;
    if (!w) failed = w.error();
    if (!failed && ::fsync(fd) != 0) failed = util::sys_error("fsync", tmp_out);
    if (::close(fd) != 0 && !failed) failed = util::sys_error("close", tmp_out);
    if (!failed && ::rename(tmp_out.c_str(), out.c_str()) != 0) failed = util::sys_error("rename to", out.string());
    if (failed) {
      ::unlink(tmp_out.c_str());
      return *failed;
    }
  }
  if (!w) return w.error();
  return {};
}

}  // namespace mkimage::store
