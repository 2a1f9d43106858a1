#include "store/import.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include "store/layer_apply.hpp"
#include "store/layer_writer.hpp"
#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

size_t curl_write(char* p, size_t size, size_t n, void* ctx) {
  auto* sink = static_cast<FdSink*>(ctx);
  return sink->write(p, size * n).ok() ? size * n : 0;
}

}  // namespace

bool is_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

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

Result<void> download(const std::string& url, const fs::path& dest) {
  static const bool init = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!init) return Error{"libcurl initialisation failed"};
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return util::sys_error("create", dest.string());
  FdSink sink(fd, dest.string());
  CURL* c = curl_easy_init();
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mkimage");
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
  CURLcode r = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  ::close(fd);
  if (r != CURLE_OK) return Error{"download \"" + url + "\": " + (err[0] ? err : curl_easy_strerror(r))};
  if (status >= 400) return Error{"download \"" + url + "\": HTTP status " + std::to_string(status)};
  return {};
}

Result<Image> import_rootfs(Store& store, const std::string& source, const ImportOptions& options) {
  MKIMAGE_TRY(fs::path work, make_temp_dir(store.root(), "import"));
  TempPath guard(work);

  fs::path tarball = source;
  if (source == "-") {
    tarball = work / "input";
    MKIMAGE_TRY_VOID(copy_fd_to_file(0, "-", tarball));
  } else if (is_url(source)) {
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
