#include "registry/client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "registry/errors.hpp"
#include "util/sha256.hpp"

namespace mkimage::registry {

namespace {
constexpr const char* k_not_found = " not found: ";  // in get_manifest's 404 error
}  // namespace

bool Client::is_manifest_not_found(const util::Error& e) { return e.message.find(k_not_found) != std::string::npos; }

namespace fs = std::filesystem;
using util::Error;
using util::Result;

struct Client::EndpointState {
  Endpoint endpoint;
  Authorizer auth;
  std::mutex mutex;  // guards endpoint.base_url / scheme_probe (the scheme may change once)
  std::atomic<bool> dead{false};  // a mirror that refused a connection is not asked again
  EndpointState(Endpoint e, std::optional<Credentials> c, long connect_timeout_s, long stall_timeout_s)
      : endpoint(std::move(e)), auth(std::move(c), endpoint.tls, connect_timeout_s, stall_timeout_s) {}

  std::string base() {
    std::lock_guard lock(mutex);
    return endpoint.base_url;
  }
  // Loopback endpoints start on plain HTTP (no TLS set-up: loading the CA
  // store costs ~40 ms a connection) and switch to HTTPS once when the server
  // shows it speaks TLS: a 400 naming HTTPS (Go's "Client sent an HTTP request
  // to an HTTPS server", nginx's "plain HTTP request was sent to HTTPS port"; a
  // HEAD gets the status only), or a connection closed without an answer. No
  // credentials have been sent by then: the first request of a client carries
  // none. Returns true when the request should be sent again on the new base.
  bool switch_to_https(const std::string& failed_base, const net::HttpResponse* r, const util::Error* e,
                       const std::string& method) {
    std::lock_guard lock(mutex);
    if (endpoint.base_url != failed_base) return true;  // another thread switched already
    if (!endpoint.scheme_probe || !endpoint.base_url.starts_with("http://")) return false;
    bool tls_server = false;
    if (r) {
      tls_server = r->status == 400 && (method == "HEAD" || r->error_body.find("HTTPS") != std::string::npos);
    } else if (e) {
      const std::string& m = e->message;
      tls_server = m.find("Empty reply") != std::string::npos || m.find("reset by peer") != std::string::npos ||
                   m.find("Recv failure") != std::string::npos;
    }
    if (!tls_server) return false;
    endpoint.base_url = "https://" + endpoint.base_url.substr(7);
    endpoint.scheme_probe = false;
    return true;
  }
  // A real answer on the current scheme: it stays.
  void confirm_scheme() {
    std::lock_guard lock(mutex);
    endpoint.scheme_probe = false;
  }
};

// One logical request: rebuilt for every attempt, redirect and re-authorisation.
struct Client::Call {
  std::string method = "GET";
  std::string url;  // absolute, or a path starting with /v2/ on the endpoint
  net::Headers headers;
  std::vector<std::string> scopes;
  std::function<void(net::HttpRequest&)> set_body;  // restartable body, if any
  net::HttpBodySink sink;
  std::function<void(long, const net::Headers&)> on_response;
  bool retry = true;  // retry transport errors, 429 and 5xx
};

namespace {

// "scheme://host[:port]" of a URL.
std::string origin_of(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos) return "";
  auto slash = url.find('/', p + 3);
  return url.substr(0, slash);
}

std::string resolve_url(const std::string& base, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("/")) return origin_of(base) + location;
  auto q = base.find('?');
  std::string path = base.substr(0, q);
  return path.substr(0, path.rfind('/') + 1) + location;
}

// Refused connections and unknown hosts do not heal in seconds.
bool hopeless(const std::string& m) {
  return m.find("connection refused") != std::string::npos || m.find("no such host") != std::string::npos ||
         m.find("asked for credentials (not sent)") != std::string::npos;
}

bool is_redirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }
bool is_retryable(long s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

// Bounded exponential backoff: 0.25 s, 0.5 s, 1 s, ... at most 10 s; a server's
// Retry-After (seconds) wins, at most 60 s.
void back_off(int attempt, const net::HttpResponse* r) {
  double s = std::min(10.0, 0.25 * std::pow(2.0, attempt - 1));
  if (r) {
    if (auto ra = r->header("retry-after")) {
      try {
        s = std::clamp(std::stod(*ra), 0.0, 60.0);
      } catch (...) {
      }
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(s * 1000)));
}

std::string with_query(const std::string& url, const std::string& kv) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + kv;
}

const char* k_manifest_accept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

}  // namespace

Result<std::unique_ptr<Client>> Client::open(const RegistryConfig& config, const CredentialStore& creds,
                                             const std::string& domain, bool push) {
  MKIMAGE_TRY(auto c, creds.get(domain));
  return std::make_unique<Client>(config, std::move(c), domain, push);
}

Client::Client(const RegistryConfig& config, std::optional<Credentials> credentials, const std::string& domain,
               bool push)
    : m_config(config), m_domain(domain), m_push(push) {
  for (auto& e : endpoints_for(config, domain, !push)) {
    // Mirrors get no credentials of the registry they mirror.
    auto c = e.mirror ? std::optional<Credentials>{} : credentials;
    m_endpoints.push_back(
        std::make_unique<EndpointState>(std::move(e), std::move(c), config.connect_timeout_s, config.stall_timeout_s));
  }
}

Client::~Client() = default;

std::unique_ptr<net::HttpClient> Client::borrow() {
  std::lock_guard lock(m_pool_mutex);
  if (m_pool.empty()) return std::make_unique<net::HttpClient>();
  auto h = std::move(m_pool.back());
  m_pool.pop_back();
  return h;
}

void Client::give_back(std::unique_ptr<net::HttpClient> h) {
  std::lock_guard lock(m_pool_mutex);
  m_pool.push_back(std::move(h));
}

Result<net::HttpResponse> Client::send(EndpointState& ep, Call& call) {
  auto http = borrow();
  struct Return {
    Client* c;
    std::unique_ptr<net::HttpClient>& h;
    ~Return() { c->give_back(std::move(h)); }
  } give_back_later{this, http};

  std::string base = ep.base();
  bool reauthorised = false;
  for (int attempt = 1;; ++attempt) {
    MKIMAGE_TRY(std::string authz, ep.auth.authorization(call.scopes, *http));
    std::string url = call.url.starts_with("/") ? base + call.url : call.url;
    std::int64_t delivered = 0;
    Result<net::HttpResponse> res = Error{"no request sent"};
    for (int redirects = 0;; ++redirects) {
      net::HttpRequest req;
      req.method = call.method;
      req.url = url;
      req.headers = call.headers;
      bool own_host = origin_of(url) == origin_of(base);
      if (own_host && !authz.empty()) req.headers.emplace_back("Authorization", authz);
      if (own_host) req.tls = ep.endpoint.tls;
      if (call.set_body) call.set_body(req);
      req.connect_timeout_s = m_config.connect_timeout_s;
      req.stall_timeout_s = m_config.stall_timeout_s;
      req.on_response = call.on_response;
      res = http->perform(req, [&](const char* p, std::size_t n) {
        delivered += static_cast<std::int64_t>(n);
        return !call.sink || call.sink(p, n);
      });
      if (!res.ok() || !is_redirect(res->status) || redirects >= 10) break;
      auto loc = res->header("location");
      if (!loc) break;
      url = resolve_url(url, *loc);
      if (call.method == "HEAD" || call.method == "GET") continue;
      if (res->status == 303) call.method = "GET";
    }
    bool own = origin_of(url) == origin_of(base);
    if (own && delivered == 0 &&
        ep.switch_to_https(base, res.ok() ? &*res : nullptr, res.ok() ? nullptr : &res.error(), call.method)) {
      std::string old = base;
      base = ep.base();
      if (call.url.starts_with(old)) call.url = base + call.url.substr(old.size());
      --attempt;
      continue;
    }
    if (own && res.ok() && res->status != 400) ep.confirm_scheme();
    if (!res.ok()) {
      // A transfer that delivered bytes is the caller's to resume.
      if (delivered == 0 && call.retry && !hopeless(res.error().message) && attempt < m_config.max_attempts) {
        back_off(attempt, nullptr);
        continue;
      }
      return Error{call.method + " \"" + url + "\": " + res.error().message};
    }
    // Only the registry itself may ask for credentials: a 401 from a host a
    // redirect led to must not make us send them (or fetch a token) anywhere.
    if (res->status == 401 && origin_of(url) != origin_of(base))
      return Error{call.method + " \"" + url + "\": the redirect target asked for credentials (not sent)"};
    if (res->status == 401 && !reauthorised) {
      auto www = res->header("www-authenticate");
      if (www && ep.auth.learn(*www)) {
        ep.auth.forget(call.scopes);
        reauthorised = true;
        --attempt;
        continue;
      }
    }
    if (res->status == 401 && reauthorised && ep.auth.basic_without_credentials())
      return Error{call.method + " \"" + url + "\": no basic auth credentials"};
    if (is_retryable(res->status) && call.retry && attempt < m_config.max_attempts) {
      back_off(attempt, &*res);
      continue;
    }
    return res;
  }
}

Result<void> Client::check_api() {
  EndpointState& ep = *m_endpoints.back();
  Call c;
  c.url = "/v2/";
  MKIMAGE_TRY(auto r, send(ep, c));
  if (r.status == 200) return {};
  std::string url = ep.base() + "/v2/";
  if (r.status == 401) {
    std::string t = response_error_text(r);
    return Error{"login attempt to " + url + " failed with status: 401 Unauthorized" + (t.empty() ? "" : " (" + t + ")")};
  }
  return Error{"Get \"" + url + "\": " + status_text(r)};
}

Result<FetchedManifest> Client::get_manifest(const std::string& repository, const std::string& reference) {
  std::string what = m_domain + "/" + repository + (reference.starts_with("sha256:") ? "@" : ":") + reference;
  std::optional<Error> last;
  for (std::size_t i = 0; i < m_endpoints.size(); ++i) {
    bool is_last = i + 1 == m_endpoints.size();
    EndpointState& ep = *m_endpoints[i];
    if (!is_last && ep.dead) continue;
    std::string body;
    bool too_big = false;
    Call c;
    c.url = "/v2/" + repository + "/manifests/" + reference;
    c.headers = {{"Accept", k_manifest_accept}};
    c.scopes = {repository_scope(repository, m_push)};
    c.sink = [&](const char* p, std::size_t n) {
      if (body.size() + n > k_max_manifest_bytes) {
        too_big = true;
        return false;
      }
      body.append(p, n);
      return true;
    };
    c.on_response = [&](long, const net::Headers&) { body.clear(); };
    auto r = send(ep, c);
    if (too_big) return Error{"manifest for " + what + " exceeds the 4 MiB limit"};
    if (!is_last && (!r.ok() || r->status != 200)) {
      last = r.ok() ? Error{"manifest for " + what + ": " + status_text(*r)} : r.error();
      if (!r.ok()) ep.dead = true;  // a mirror that fails to answer is not asked again
      continue;  // the next mirror, then the registry
    }
    if (!r.ok()) return Error{"manifest for " + what + ": " + r.error().message};
    if (r->status == 404) return Error{"manifest for " + what + k_not_found + status_text(*r)};
    if (r->status == 401 || r->status == 403) {
      return Error{"pull access denied for " + m_domain + "/" + repository +
                   ", repository does not exist or may require 'mkimage login': " + status_text(*r)};
    }
    if (r->status != 200) return Error{"manifest for " + what + ": " + status_text(*r)};
    FetchedManifest m;
    m.digest = store::Digest::sha256_of(body);
    if (reference.starts_with("sha256:") && m.digest.str() != reference)
      return Error{"manifest for " + what + ": digest mismatch: the registry sent " + m.digest.str()};
    std::string ct = r->header("content-type").value_or("");
    if (auto semi = ct.find(';'); semi != std::string::npos) ct = ct.substr(0, semi);
    auto mt = store::MediaType::parse(ct);
    if (mt.ok()) m.media_type = *mt;
    m.bytes = std::move(body);
    return m;
  }
  return last ? *last : Error{"manifest for " + what + ": no endpoint"};
}

Result<std::vector<std::string>> Client::list_tags(const std::string& repository) {
  std::vector<std::string> tags;
  std::string url = "/v2/" + repository + "/tags/list";
  for (int page = 0; page < 100 && !url.empty(); ++page) {
    EndpointState& ep = *m_endpoints.back();
    std::string body;
    Call c;
    c.url = url;
    c.scopes = {repository_scope(repository, m_push)};
    c.sink = [&](const char* p, std::size_t n) {
      if (body.size() + n > k_max_manifest_bytes) return false;
      body.append(p, n);
      return true;
    };
    MKIMAGE_TRY(auto r, send(ep, c));
    if (r.status != 200) return Error{"list tags of " + m_domain + "/" + repository + ": " + status_text(r)};
    try {
      auto j = nlohmann::json::parse(body);
      if (j.contains("tags") && j["tags"].is_array())
        for (const auto& t : j["tags"])
          if (t.is_string()) tags.push_back(t.get<std::string>());
    } catch (const std::exception& e) {
      return Error{"list tags of " + m_domain + "/" + repository + ": malformed answer: " + e.what()};
    }
    url.clear();
    if (auto link = r.header("link"); link && link->find("rel=\"next\"") != std::string::npos) {
      auto a = link->find('<'), b = link->find('>');
      if (a != std::string::npos && b != std::string::npos && b > a) url = link->substr(a + 1, b - a - 1);
    }
  }
  return tags;
}

Result<std::optional<std::int64_t>> Client::blob_size(const std::string& repository, const store::Digest& digest) {
  EndpointState& ep = *m_endpoints.back();
  Call c;
  c.method = "HEAD";
  c.url = "/v2/" + repository + "/blobs/" + digest.str();
  c.scopes = {repository_scope(repository, m_push)};
  MKIMAGE_TRY(auto r, send(ep, c));
  if (r.status == 404) return std::optional<std::int64_t>{};
  if (r.status != 200)
    return Error{"HEAD blob " + digest.str() + " in " + m_domain + "/" + repository + ": " + status_text(r)};
  std::int64_t size = -1;
  if (auto cl = r.header("content-length")) {
    try {
      size = std::stoll(*cl);
    } catch (...) {
    }
  }
  return std::optional<std::int64_t>{size};
}

Result<void> Client::get_blob(const std::string& repository, const store::Descriptor& blob, const BlobChunkSink& sink,
                              const ProgressFn& progress, const std::vector<std::string>& urls) {
  std::int64_t received = 0;
  std::optional<Error> sink_error;
  std::int64_t skip = 0;
  auto make_call = [&](const std::string& url) {
    Call c;
    c.url = url;
    c.scopes = {repository_scope(repository, m_push)};
    if (received > 0) c.headers.emplace_back("Range", "bytes=" + std::to_string(received) + "-");
    c.on_response = [&](long status, const net::Headers&) { skip = status == 206 ? 0 : received; };
    c.sink = [&](const char* p, std::size_t n) {
      if (skip > 0) {
        std::size_t drop = static_cast<std::size_t>(std::min<std::int64_t>(skip, static_cast<std::int64_t>(n)));
        skip -= static_cast<std::int64_t>(drop);
        p += drop;
        n -= drop;
        if (n == 0) return true;
      }
      if (received + static_cast<std::int64_t>(n) > blob.size) {
        sink_error = Error{"blob " + blob.digest.str() + " is larger than its descriptor's " +
                           std::to_string(blob.size) + " bytes"};
        return false;
      }
      if (auto w = sink(p, n); !w.ok()) {
        sink_error = w.error();
        return false;
      }
      received += static_cast<std::int64_t>(n);
      if (progress) progress(received);
      return true;
    };
    return c;
  };
  std::optional<Error> last;
  // Foreign layers: their URLs first, then the registry (docker does the same).
  std::vector<std::pair<EndpointState*, std::string>> sources;
  for (const auto& u : urls)
    if (net::is_url(u)) sources.emplace_back(nullptr, u);
  for (auto& ep : m_endpoints) sources.emplace_back(ep.get(), "/v2/" + repository + "/blobs/" + blob.digest.str());
  for (std::size_t si = 0; si < sources.size(); ++si) {
    auto [ep, url] = sources[si];
    bool is_last = si + 1 == sources.size();
    if (ep && !is_last && ep->dead) continue;
    int stalls = 0;
    while (true) {
      std::int64_t before = received;
      Call c = make_call(url);
      Result<net::HttpResponse> r = Error{""};
      if (ep) {
        r = send(*ep, c);
      } else {
        net::HttpClient plain;
        net::HttpRequest req;
        req.url = url;
        req.follow_redirects = true;
        req.headers = c.headers;
        req.on_response = c.on_response;
        req.connect_timeout_s = m_config.connect_timeout_s;
        req.stall_timeout_s = m_config.stall_timeout_s;
        r = plain.perform(req, c.sink);
      }
      if (sink_error) return *sink_error;
      if (r.ok() && (r->status == 200 || r->status == 206)) {
        if (received == blob.size) return {};
        last = Error{"blob " + blob.digest.str() + ": the registry sent " + std::to_string(received) + " of " +
                     std::to_string(blob.size) + " bytes"};
      } else if (r.ok()) {
        last = Error{"blob " + blob.digest.str() + " in " + m_domain + "/" + repository + ": " + status_text(*r)};
        break;  // a status error: the next source
      } else {
        last = r.error();
        // A mirror gets no second chance, and hopeless errors none anywhere.
        if (received == before && ((ep && !is_last) || hopeless(r.error().message))) {
          if (ep && !is_last) ep->dead = true;
          break;  // the next source
        }
      }
      // A dropped or short transfer resumes where it stopped. An attempt that
      // moved at least 1 MiB (or the rest of the blob) starts the count afresh;
      // one that trickled a few bytes counts, so a stalling server ends.
      std::int64_t moved = received - before;
      if (moved >= std::min<std::int64_t>(1 << 20, blob.size - before)) {
        stalls = 0;
        continue;
      }
      if (++stalls >= m_config.max_attempts) break;
      back_off(stalls, nullptr);
    }
  }
  return last ? *last : Error{"blob " + blob.digest.str() + ": no source"};
}

Result<std::string> Client::start_upload(EndpointState& ep, const std::string& repository,
                                         const std::vector<std::string>& scopes) {
  Call c;
  c.method = "POST";
  c.url = "/v2/" + repository + "/blobs/uploads/";
  c.scopes = scopes;
  MKIMAGE_TRY(auto r, send(ep, c));
  auto loc = r.header("location");
  if (r.status != 202 || !loc)
    return Error{"start upload to " + m_domain + "/" + repository + ": " + status_text(r)};
  return resolve_url(ep.base() + c.url, *loc);
}

Result<bool> Client::mount_blob(const std::string& repository, const store::Digest& digest, const std::string& from) {
  EndpointState& ep = *m_endpoints.back();
  Call c;
  c.method = "POST";
  c.url = "/v2/" + repository + "/blobs/uploads/?mount=" + net::url_encode(digest.str()) + "&from=" + net::url_encode(from);
  c.scopes = {repository_scope(repository, true), repository_scope(from, false)};
  MKIMAGE_TRY(auto r, send(ep, c));
  if (r.status == 201) return true;
  if (r.status == 202) {
    if (auto loc = r.header("location")) {
      Call d;
      d.method = "DELETE";
      d.url = resolve_url(ep.base() + "/v2/", *loc);
      d.scopes = c.scopes;
      d.retry = false;
      (void)send(ep, d);  // cancelling the upload it opened is a courtesy
    }
  }
  return false;
}

namespace {

struct FileBody {
  int fd = -1;
  ~FileBody() {
    if (fd >= 0) ::close(fd);
  }
};

// Sets req's body to bytes [offset, offset+length) of fd.
void file_body(net::HttpRequest& req, int fd, std::int64_t offset, std::int64_t length, const ProgressFn& progress,
               std::int64_t progress_base) {
  auto pos = std::make_shared<std::int64_t>(0);
  req.body_size = length;
  req.body_source = [fd, offset, length, pos, progress, progress_base](char* buf, std::size_t n) -> Result<std::size_t> {
    std::int64_t left = length - *pos;
    if (left <= 0) return std::size_t{0};
    ssize_t got = ::pread(fd, buf, static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(n))),
                          offset + *pos);
    if (got < 0) return util::sys_error("read", "blob");
    if (got == 0) return Error{"blob file is shorter than its descriptor"};
    *pos += got;
    if (progress) progress(progress_base + *pos);
    return static_cast<std::size_t>(got);
  };
}

}  // namespace

Result<void> Client::upload_blob(const std::string& repository, const store::Descriptor& blob, const fs::path& path,
                                 const ProgressFn& progress) {
  EndpointState& ep = *m_endpoints.back();
  FileBody f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return util::sys_error("open", path.string());
  std::vector<std::string> scopes = {repository_scope(repository, true)};
  std::string what = "upload " + blob.digest.str() + " to " + m_domain + "/" + repository;
  bool chunked = blob.size > m_config.upload_chunk_size;
  std::optional<Error> last;
  for (int attempt = 1; attempt <= m_config.max_attempts; ++attempt) {
    if (attempt > 1) back_off(attempt - 1, nullptr);
    MKIMAGE_TRY(std::string loc, start_upload(ep, repository, scopes));
    std::int64_t offset = 0;
    bool refused_chunks = false;
    while (chunked && offset < blob.size) {
      std::int64_t n = std::min(m_config.upload_chunk_size, blob.size - offset);
      Call c;
      c.method = "PATCH";
      c.url = loc;
      c.scopes = scopes;
      c.retry = false;
      c.headers = {{"Content-Type", "application/octet-stream"},
                   {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + n - 1)}};
      c.set_body = [&, offset, n](net::HttpRequest& req) { file_body(req, f.fd, offset, n, progress, offset); };
      auto r = send(ep, c);
      if (!r.ok()) {
        last = Error{what + ": " + r.error().message};
        break;
      }
      if (r->status != 202) {
        if (r->status >= 400 && r->status < 500 && r->status != 401 && offset == 0) refused_chunks = true;
        last = Error{what + ": " + status_text(*r)};
        break;
      }
      if (auto l = r->header("location")) loc = resolve_url(loc, *l);
      offset += n;
    }
    if (refused_chunks) {
      chunked = false;  // this registry takes one PUT only
      continue;
    }
    if (chunked && offset < blob.size) continue;
    Call put;
    put.method = "PUT";
    put.url = with_query(loc, "digest=" + net::url_encode(blob.digest.str()));
    put.scopes = scopes;
    put.retry = false;
    put.headers = {{"Content-Type", "application/octet-stream"}};
    if (!chunked) {
      put.set_body = [&](net::HttpRequest& req) { file_body(req, f.fd, 0, blob.size, progress, 0); };
    } else {
      put.set_body = [](net::HttpRequest& req) { req.body = std::string(); };
    }
    auto r = send(ep, put);
    if (!r.ok()) {
      last = Error{what + ": " + r.error().message};
      continue;
    }
    if (r->status == 201 || r->status == 204) return {};
    last = Error{what + ": " + status_text(*r)};
    if (r->status >= 400 && r->status < 500 && r->status != 408) return *last;  // refused: retrying will not help
  }
  return last ? *last : Error{what + ": failed"};
}

Result<store::Digest> Client::put_manifest(const std::string& repository, const std::string& reference,
                                           const std::string& bytes, const store::MediaType& media_type) {
  EndpointState& ep = *m_endpoints.back();
  Call c;
  c.method = "PUT";
  c.url = "/v2/" + repository + "/manifests/" + reference;
  c.scopes = {repository_scope(repository, true)};
  c.headers = {{"Content-Type", media_type.str()}};
  c.set_body = [&](net::HttpRequest& req) { req.body = bytes; };
  MKIMAGE_TRY(auto r, send(ep, c));
  if (r.status != 201 && r.status != 200 && r.status != 202)
    return Error{"put manifest " + m_domain + "/" + repository + ":" + reference + ": " + status_text(r)};
  return store::Digest::sha256_of(bytes);
}

}  // namespace mkimage::registry
