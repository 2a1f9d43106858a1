#include "store/http.hpp"

#include <curl/curl.h>
#include <dlfcn.h>

#include <mutex>

namespace mkimage::store {

namespace {

// The libcurl entry points used here, resolved from libcurl.so.4 (the soname of
// Debian's libcurl4 / libcurl3-gnutls ABI) once per process.
struct Curl {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  std::string load_error;  // "" = loaded and initialised
};

template <class F>
bool resolve(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(lib, name));
  return out != nullptr;
}

const Curl& curl() {
  static Curl c;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      c.load_error = std::string("cannot load libcurl.so.4 (install libcurl4): ") + (why ? why : "unknown error");
      return;
    }
    bool ok = resolve(lib, "curl_global_init", c.global_init) && resolve(lib, "curl_easy_init", c.easy_init) &&
              resolve(lib, "curl_easy_setopt", c.easy_setopt) && resolve(lib, "curl_easy_perform", c.easy_perform) &&
              resolve(lib, "curl_easy_getinfo", c.easy_getinfo) &&
              resolve(lib, "curl_easy_cleanup", c.easy_cleanup) &&
              resolve(lib, "curl_easy_strerror", c.easy_strerror);
    if (!ok) {
      c.load_error = "libcurl.so.4 lacks an expected function";
      return;
    }
    if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) c.load_error = "libcurl initialisation failed";
  });
  return c;
}

struct Transfer {
  const HttpBodySink* sink = nullptr;
  bool sink_failed = false;
};

size_t on_body(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (!(*t->sink)(ptr, n)) {
    t->sink_failed = true;
    return 0;
  }
  return n;
}

}  // namespace

bool is_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

util::Result<HttpResponse> http_get(const std::string& url, const HttpBodySink& sink, const HttpGetOptions& options) {
  std::string prefix = "download \"" + url + "\": ";
  const Curl& c = curl();
  if (!c.load_error.empty()) return util::Error{prefix + c.load_error};
  CURL* h = c.easy_init();
  if (!h) return util::Error{prefix + "curl_easy_init failed"};
  Transfer transfer{&sink};
  char errbuf[CURL_ERROR_SIZE] = {0};
  c.easy_setopt(h, CURLOPT_URL, url.c_str());
  c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  c.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  c.easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  c.easy_setopt(h, CURLOPT_FILETIME, options.want_filetime ? 1L : 0L);
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (options.connect_timeout_s > 0) c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  c.easy_setopt(h, CURLOPT_USERAGENT, "mkimage");
  c.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  c.easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  CURLcode rc = c.easy_perform(h);
  HttpResponse r;
  c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  long filetime = -1;
  if (options.want_filetime) c.easy_getinfo(h, CURLINFO_FILETIME, &filetime);
  c.easy_cleanup(h);
  if (transfer.sink_failed) return util::Error{prefix + "writing the download failed"};
  if (rc != CURLE_OK) return util::Error{prefix + (errbuf[0] ? errbuf : c.easy_strerror(rc))};
  if (filetime >= 0) r.mtime_s = filetime;
  return r;
}

}  // namespace mkimage::store
