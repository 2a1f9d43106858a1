#include "net/http.hpp"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

namespace mkimage::net {

namespace {

// The libcurl entry points used here, resolved from libcurl.so.4 (the soname of
// Debian's libcurl4 / libcurl3-gnutls ABI) once per process.
struct Curl {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
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
              resolve(lib, "curl_easy_reset", c.easy_reset) && resolve(lib, "curl_easy_setopt", c.easy_setopt) &&
              resolve(lib, "curl_easy_perform", c.easy_perform) && resolve(lib, "curl_easy_getinfo", c.easy_getinfo) &&
              resolve(lib, "curl_easy_cleanup", c.easy_cleanup) &&
              resolve(lib, "curl_easy_strerror", c.easy_strerror) &&
              resolve(lib, "curl_slist_append", c.slist_append) &&
              resolve(lib, "curl_slist_free_all", c.slist_free_all);
    if (!ok) {
      c.load_error = "libcurl.so.4 lacks an expected function";
      return;
    }
    if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) c.load_error = "libcurl initialisation failed";
  });
  return c;
}

constexpr std::size_t k_error_body_limit = 64 * 1024;

struct Transfer {
  CURL* handle = nullptr;
  const HttpRequest* req = nullptr;
  const HttpBodySink* sink = nullptr;
  HttpResponse* resp = nullptr;
  bool sink_failed = false;
  bool started = false;  // on_response was called
  std::optional<util::Error> source_error;
  std::size_t body_offset = 0;  // into req->body for string bodies sent with UPLOAD
};

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

size_t on_header(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  std::string_view line(ptr, n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new response (redirect, 100 Continue)
    return n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->resp->headers.emplace_back(lower(std::string(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return n;
}

size_t on_body(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  long status = 0;
  curl().easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (t->req->error_body_separately && status >= 300) {
    std::string& eb = t->resp->error_body;
    eb.append(ptr, std::min(n, k_error_body_limit - std::min(eb.size(), k_error_body_limit)));
    return n;
  }
  if (!t->started) {
    t->started = true;
    if (t->req->on_response) t->req->on_response(status, t->resp->headers);
  }
  if (!t->sink || !*t->sink) return n;
  if (!(*t->sink)(ptr, n)) {
    t->sink_failed = true;
    return 0;
  }
  t->resp->body_bytes += static_cast<std::int64_t>(n);
  return n;
}

size_t on_read(char* buf, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t want = size * nitems;
  if (t->req->body) {
    const std::string& b = *t->req->body;
    size_t n = std::min(want, b.size() - t->body_offset);
    std::copy_n(b.data() + t->body_offset, n, buf);
    t->body_offset += n;
    return n;
  }
  auto got = t->req->body_source(buf, want);
  if (!got.ok()) {
    t->source_error = got.error();
    return CURL_READFUNC_ABORT;
  }
  return *got;
}

// The system CA bundle followed by `extra` (docker adds certs.d CAs to the system pool).
std::string ca_bundle_with(const std::string& extra) {
  std::string out;
  for (const char* sys : {"/etc/ssl/certs/ca-certificates.crt"}) {
    std::ifstream in(sys, std::ios::binary);
    if (in) out.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ifstream in(extra, std::ios::binary);
  if (in) {
    out += "\n";
    out.append(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

void set_method_and_body(const Curl& c, CURL* h, const HttpRequest& req, Transfer& t) {
  bool has_body = req.body.has_value() || static_cast<bool>(req.body_source);
  if (req.method == "HEAD") {
    c.easy_setopt(h, CURLOPT_NOBODY, 1L);
    return;
  }
  if (has_body) {
    // Every body goes through the read callback with a known size when there is one.
    c.easy_setopt(h, CURLOPT_UPLOAD, 1L);
    c.easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    c.easy_setopt(h, CURLOPT_READDATA, &t);
    curl_off_t size = req.body ? static_cast<curl_off_t>(req.body->size()) : static_cast<curl_off_t>(req.body_size);
    if (size >= 0) c.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
    if (req.method != "PUT") c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    return;
  }
  if (req.method == "POST") {
    c.easy_setopt(h, CURLOPT_POST, 1L);
    c.easy_setopt(h, CURLOPT_POSTFIELDS, "");
    c.easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
  } else if (req.method == "PUT" || req.method == "PATCH") {
    c.easy_setopt(h, CURLOPT_UPLOAD, 1L);
    c.easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    c.easy_setopt(h, CURLOPT_READDATA, &t);
    c.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(0));
    if (req.method != "PUT") c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

}  // namespace

bool is_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  std::string want = lower(std::string(name));
  for (const auto& [k, v] : headers)
    if (k == want) return v;
  return std::nullopt;
}

HttpClient::HttpClient() = default;

HttpClient::~HttpClient() {
  if (m_handle) curl().easy_cleanup(static_cast<CURL*>(m_handle));
}

util::Result<HttpResponse> HttpClient::perform(const HttpRequest& req, const HttpBodySink& sink) {
  const Curl& c = curl();
  if (!c.load_error.empty()) return util::Error{c.load_error};
  if (!m_handle) {
    m_handle = c.easy_init();
    if (!m_handle) return util::Error{"curl_easy_init failed"};
  } else {
    c.easy_reset(static_cast<CURL*>(m_handle));  // keeps the connection cache
  }
  CURL* h = static_cast<CURL*>(m_handle);
  HttpResponse resp;
  Transfer t;
  t.handle = h;
  t.req = &req;
  t.sink = &sink;
  t.resp = &resp;
  char errbuf[CURL_ERROR_SIZE] = {0};
  c.easy_setopt(h, CURLOPT_URL, req.url.c_str());
  if (req.follow_redirects) {
    c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    c.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }
  c.easy_setopt(h, CURLOPT_FILETIME, req.want_filetime ? 1L : 0L);
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (req.connect_timeout_s > 0) c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  if (req.stall_timeout_s > 0) {
    c.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    c.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req.stall_timeout_s);
  }
  c.easy_setopt(h, CURLOPT_USERAGENT, "mkimage");
  c.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  c.easy_setopt(h, CURLOPT_HEADERDATA, &t);
  c.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  c.easy_setopt(h, CURLOPT_WRITEDATA, &t);
  std::string ca_blob;
  if (!req.tls.ca_file.empty()) {
    ca_blob = ca_bundle_with(req.tls.ca_file);
    curl_blob blob{ca_blob.data(), ca_blob.size(), CURL_BLOB_NOCOPY};
    c.easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!req.tls.client_cert.empty()) {
    c.easy_setopt(h, CURLOPT_SSLCERT, req.tls.client_cert.c_str());
    c.easy_setopt(h, CURLOPT_SSLKEY, req.tls.client_key.c_str());
  }
  set_method_and_body(c, h, req, t);
  curl_slist* list = nullptr;
  for (const auto& [k, v] : req.headers) list = c.slist_append(list, (k + ": " + v).c_str());
  list = c.slist_append(list, "Expect:");  // no 100-continue round trip before bodies
  c.easy_setopt(h, CURLOPT_HTTPHEADER, list);
  CURLcode rc = c.easy_perform(h);
  c.slist_free_all(list);
  c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  long filetime = -1;
  if (req.want_filetime) c.easy_getinfo(h, CURLINFO_FILETIME, &filetime);
  if (filetime >= 0) resp.mtime_s = filetime;
  if (t.source_error) return *t.source_error;
  if (t.sink_failed) return util::Error{"writing the response body failed"};
  if (rc != CURLE_OK) {
    if (rc == CURLE_OPERATION_TIMEDOUT && req.stall_timeout_s > 0)
      return util::Error{"no data for " + std::to_string(req.stall_timeout_s) + " s (stalled): " + errbuf};
    std::string msg = errbuf[0] ? errbuf : c.easy_strerror(rc);
    // docker's words for the two commonest failures, after libcurl's own.
    if (rc == CURLE_COULDNT_CONNECT) {
      long os_errno = 0;
      c.easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED) msg += " (connect: connection refused)";
    } else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
      msg += " (lookup: no such host)";
    }
    return util::Error{msg};
  }
  return resp;
}

util::Result<HttpResponse> http_get(const std::string& url, const HttpBodySink& sink, const HttpGetOptions& options) {
  std::string prefix = "download \"" + url + "\": ";
  HttpRequest req;
  req.url = url;
  req.follow_redirects = true;
  req.want_filetime = options.want_filetime;
  req.connect_timeout_s = options.connect_timeout_s;
  HttpClient client;
  auto r = client.perform(req, sink);
  if (!r.ok()) return util::Error{prefix + r.error().message};
  if (r->status >= 400)
    return util::Error{prefix + "The requested URL returned error: " + std::to_string(r->status)};
  return r;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace mkimage::net
