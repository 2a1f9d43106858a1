// HTTP(S) GET through libcurl, for `ADD <url>` and `mkimage import <url>`.
//
// libcurl is loaded with dlopen("libcurl.so.4") on the first download, not linked:
// it and the ~35 libraries it depends on (TLS, Kerberos, LDAP, IDN, ...) take about
// 8 ms to map and relocate on every process start, which is a quarter of a fully
// cached rebuild. Builds without a URL source never load it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mkimage::store {

// True for "http://..." and "https://..." (the sources ADD and import download).
bool is_url(std::string_view source);

struct HttpGetOptions {
  bool want_filetime = false;      // ask for the server's Last-Modified
  long connect_timeout_s = 30;     // seconds; 0 = libcurl's default
};

struct HttpResponse {
  long status = 0;                      // final HTTP status after redirects (up to 10)
  std::optional<std::int64_t> mtime_s;  // Last-Modified, seconds since the epoch, when asked and sent
};

// Receives the body in chunks; returning false aborts the transfer (the error then
// says "writing failed").
using HttpBodySink = std::function<bool(const char* data, std::size_t size)>;

// GETs `url`, following redirects. Errors: libcurl cannot be loaded (the message
// names libcurl.so.4 and the loader's reason), network/TLS failures and HTTP
// status >= 400 (libcurl's message), a sink that returned false.
// Every message starts with `download "URL": `.
util::Result<HttpResponse> http_get(const std::string& url, const HttpBodySink& sink,
                                    const HttpGetOptions& options = {});

}  // namespace mkimage::store
