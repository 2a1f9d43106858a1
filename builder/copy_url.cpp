// ADD of http(s) URLs: downloads through store/http.hpp (libcurl, loaded on first use).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "builder/copy_internal.hpp"
#include "builder/url_cache.hpp"
#include "net/http.hpp"
#include "util/sha256.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

std::atomic<unsigned> g_download_seq{0};

}  // namespace

std::string url_file_name(const std::string& url) {
  // The path: after "scheme://host", before "?" or "#".
  auto start = url.find("://");
  std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  auto slash = rest.find('/');
  if (slash == std::string::npos) return "__unnamed__";
  std::string path = rest.substr(slash);
  auto q = path.find_first_of("?#");
  if (q != std::string::npos) path = path.substr(0, q);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  auto last = path.rfind('/');
  std::string base = path.substr(last + 1);
  if (base.empty() || base == "." || base == "/") return "__unnamed__";
  return base;
}

util::Result<Download> download_url(const std::string& url, const fs::path& dir, const fs::path& cache_dir) {
  if (dir.empty()) return util::Error{"download \"" + url + "\": no scratch directory"};
  std::error_code ec;
  fs::create_directories(dir, ec);  // created on first use: cached steps never need it
  fs::path file = dir / ("download-" + std::to_string(::getpid()) + "-" + std::to_string(g_download_seq++));
  if (auto kept = url_cache_revalidate(cache_dir, url)) {
    // A link (else a copy) of the kept bytes: the plan owns its file, and a
    // later re-keep of this URL never changes it underneath.
    fs::create_hard_link(kept->file, file, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(kept->file, file, ec);
    }
    if (!ec) {
      kept->file = file;
      return *kept;
    }
  }
  std::FILE* out = std::fopen(file.c_str(), "wbx");
  if (!out) return util::sys_error("create", file.string());
  util::Sha256 hash;
  net::HttpGetOptions options;
  options.want_filetime = true;
  auto got = net::http_get(
      url,
      [&](const char* data, std::size_t n) {
        if (std::fwrite(data, 1, n, out) != n) return false;
        hash.update(data, n);
        return true;
      },
      options);
  bool close_ok = std::fclose(out) == 0;
  if (!got || !close_ok) {
    std::error_code ec;
    fs::remove(file, ec);
    if (!got) return got.error();
    return util::Error{"download \"" + url + "\": writing " + file.string() + " failed"};
  }
  Download d;
  d.file = file;
  d.digest = store::Digest::from_bytes(hash.finish());
  d.mtime_s = got->mtime_s;
  if (auto etag = got->header("etag")) url_cache_keep(cache_dir, url, *etag, d);
  return d;
}

}  // namespace mkimage::builder
