// HTTP(S) client over libcurl: one request at a time per HttpClient, any method,
// request and response headers, streamed request and response bodies, Range
// requests and redirects left to the caller (the registry client strips
// credentials when a redirect leaves the registry's host).
//
// libcurl is loaded with dlopen("libcurl.so.4") on the first request, not linked:
// it and the ~35 libraries it depends on (TLS, Kerberos, LDAP, IDN, ...) take about
// 8 ms to map and relocate on every process start, which is a quarter of a fully
// cached rebuild. Processes that never send a request never load it.
//
// Example (a GET into memory):
//   net::HttpClient http;
//   std::string body;
//   MKIMAGE_TRY(auto r, http.perform({.url = "https://example.org/"},
//                                    [&](const char* p, std::size_t n) { body.append(p, n); return true; }));
//   if (r.status != 200) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace mkimage::net {

// True for "http://..." and "https://..." (the sources ADD and import download).
bool is_url(std::string_view source);

// Header fields in order; names as sent or (in responses) lower-cased.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Supplies a request body: copies up to `size` bytes into `buf` and returns how
// many (0 = end of body). An error aborts the request with that error.
using BodySource = std::function<util::Result<std::size_t>(char* buf, std::size_t size)>;

// Receives a response body in chunks; returning false aborts the transfer (the
// error then says "writing failed").
using HttpBodySink = std::function<bool(const char* data, std::size_t size)>;

// TLS settings for one host (docker's /etc/docker/certs.d/HOST/ layout).
struct TlsFiles {
  std::string ca_file;      // extra CA bundle (PEM); "" = the system CA store only
  std::string client_cert;  // client certificate (PEM), with client_key
  std::string client_key;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  Headers headers;             // sent as given, e.g. {"Accept", "..."}
  // The body: `body` bytes when set, else `body_source` with `body_size` bytes
  // (-1 = unknown: sent chunked). Neither = no body.
  std::optional<std::string> body;
  BodySource body_source;
  std::int64_t body_size = -1;
  bool follow_redirects = false;  // true: up to 10, for ADD/import downloads
  bool want_filetime = false;     // ask for the server's Last-Modified
  long connect_timeout_s = 30;    // seconds; 0 = libcurl's default
  // Abort when less than 1 byte arrived or left in this many seconds (0 = never).
  long stall_timeout_s = 0;
  TlsFiles tls;
  // Bodies of responses with status >= 300 go to HttpResponse::error_body (up to
  // 64 KiB) instead of the sink, so a caller streaming a blob never sees an
  // error document as content.
  bool error_body_separately = true;
  // Called once with the status and headers of a response whose body goes to
  // the sink, before its first byte (a resumed download learns there whether
  // the server honoured its Range: 206, or sent everything again: 200).
  std::function<void(long status, const Headers& headers)> on_response;
};

struct HttpResponse {
  long status = 0;                      // the final status (after redirects, if followed)
  Headers headers;                      // of that response, names lower-cased
  std::string error_body;               // see HttpRequest::error_body_separately
  std::optional<std::int64_t> mtime_s;  // Last-Modified, seconds since the epoch, when asked and sent
  std::int64_t body_bytes = 0;          // bytes given to the sink

  // The first value of header `name` (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// One connection cache (keep-alive) and one request at a time. Not thread-safe:
// give each thread its own client.
class HttpClient {
public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `req` and streams the response body into `sink` (may be empty: the body
  // is dropped). Any HTTP status is a success here; the caller judges it.
  // Errors (transport only): libcurl cannot be loaded (the message names
  // libcurl.so.4 and the loader's reason), DNS/connect/TLS failures, a stalled
  // transfer ("no data for N s"), a body source's error, a sink that returned false.
  // Messages are libcurl's text, with no prefix: callers add what they were doing.
  util::Result<HttpResponse> perform(const HttpRequest& req, const HttpBodySink& sink = {});

private:
  void* m_handle = nullptr;  // CURL*
};

struct HttpGetOptions {
  bool want_filetime = false;   // ask for the server's Last-Modified
  long connect_timeout_s = 30;  // seconds; 0 = libcurl's default
};

// GETs `url`, following redirects, for `ADD <url>` and `import <url>`. Errors:
// those of HttpClient::perform and HTTP status >= 400 ("The requested URL returned
// error: 404"). Every message starts with `download "URL": `.
util::Result<HttpResponse> http_get(const std::string& url, const HttpBodySink& sink,
                                    const HttpGetOptions& options = {});

// Percent-encodes a URL query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

}  // namespace mkimage::net
