// ADD of http(s) URLs: downloads with libcurl.
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "builder/copy_internal.hpp"
#include "util/sha256.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

std::once_flag g_curl_init;
std::atomic<unsigned> g_download_seq{0};

struct Sink {
  std::FILE* file = nullptr;
  util::Sha256 hash;
  bool failed = false;
};

size_t on_data(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t n = size * nmemb;
  if (std::fwrite(ptr, 1, n, s->file) != n) {
    s->failed = true;
    return 0;
  }
  s->hash.update(ptr, n);
  return n;
}

}  // namespace

bool is_url(std::string_view s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

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

util::Result<Download> download_url(const std::string& url, const fs::path& dir) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (dir.empty()) return util::Error{"download " + url + ": no scratch directory"};
  fs::path file = dir / ("download-" + std::to_string(::getpid()) + "-" + std::to_string(g_download_seq++));
  Sink sink;
  sink.file = std::fopen(file.c_str(), "wbx");
  if (!sink.file) return util::sys_error("create", file.string());
  CURL* c = curl_easy_init();
  if (!c) {
    std::fclose(sink.file);
    return util::Error{"download " + url + ": curl_easy_init failed"};
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mkimage");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(c);
  long filetime = -1;
  curl_easy_getinfo(c, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup(c);
  bool close_ok = std::fclose(sink.file) == 0;
  if (rc != CURLE_OK || sink.failed || !close_ok) {
    std::error_code ec;
    fs::remove(file, ec);
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (sink.failed || !close_ok) why = "writing " + file.string() + " failed";
    return util::Error{"download " + url + ": " + why};
  }
  Download d;
  d.file = file;
  d.digest = store::Digest::from_bytes(sink.hash.finish());
  if (filetime >= 0) d.mtime_s = filetime;
  return d;
}

}  // namespace mkimage::builder
