#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "net/http.hpp"

using namespace mkimage::net;

TEST_CASE("url_encode and is_url") {
  CHECK(url_encode("sha256:ab/c d~") == "sha256%3Aab%2Fc%20d~");
  CHECK(url_encode("repository:x:pull,push") == "repository%3Ax%3Apull%2Cpush");
  CHECK(is_url("https://x"));
  CHECK(is_url("http://x"));
  CHECK_FALSE(is_url("ftp://x"));
}

namespace {
// A one-connection HTTP server on 127.0.0.1 that records the request and answers `reply`.
struct OneShotServer {
  int fd = -1;
  int port = 0;
  std::string request;
  std::thread t;
  explicit OneShotServer(std::string reply) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::listen(fd, 1);
    t = std::thread([this, reply] {
      int c = ::accept(fd, nullptr, nullptr);
      char buf[65536];
      // Read the head, then as many body bytes as Content-Length says.
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      std::size_t want = 0;
      if (auto p = request.find("Content-Length: "); p != std::string::npos) want = std::stoul(request.substr(p + 16));
      while (request.size() - (request.find("\r\n\r\n") + 4) < want) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      (void)!::write(c, reply.data(), reply.size());
      ::close(c);
    });
  }
  ~OneShotServer() {
    if (t.joinable()) t.join();
    ::close(fd);
  }
};
}  // namespace

TEST_CASE("HttpClient: method, request headers and a streamed body; response headers and status") {
  OneShotServer srv("HTTP/1.1 201 Created\r\nLocation: /v2/x/blobs/uploads/1\r\nDocker-Content-Digest: sha256:ab\r\n"
                    "Content-Length: 2\r\nConnection: close\r\n\r\nok");
  HttpClient http;
  HttpRequest req;
  req.method = "PATCH";
  req.url = "http://127.0.0.1:" + std::to_string(srv.port) + "/v2/x";
  req.headers = {{"Content-Range", "0-9"}, {"X-Test", "1"}};
  std::string payload = "0123456789";
  std::size_t off = 0;
  req.body_size = 10;
  req.body_source = [&](char* buf, std::size_t n) -> mkimage::util::Result<std::size_t> {
    std::size_t k = std::min<std::size_t>(n, std::min<std::size_t>(3, payload.size() - off));
    payload.copy(buf, k, off);
    off += k;
    return k;
  };
  std::string body;
  auto r = http.perform(req, [&](const char* p, std::size_t n) {
    body.append(p, n);
    return true;
  });
  srv.t.join();
  REQUIRE(r.ok());
  CHECK(r->status == 201);
  CHECK(r->header("location") == "/v2/x/blobs/uploads/1");
  CHECK(r->header("DOCKER-CONTENT-DIGEST") == "sha256:ab");
  CHECK(body == "ok");  // a 2xx body goes to the sink
  CHECK(srv.request.starts_with("PATCH /v2/x HTTP/1.1\r\n"));
  CHECK(srv.request.find("Content-Range: 0-9\r\n") != std::string::npos);
  CHECK(srv.request.find("X-Test: 1\r\n") != std::string::npos);
  CHECK(srv.request.ends_with("\r\n\r\n0123456789"));
}

TEST_CASE("HttpClient: error bodies go to error_body, not the sink; a refused connection is an error") {
  OneShotServer srv("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 13\r\n"
                    "Connection: close\r\n\r\n{\"errors\":[]}");
  HttpClient http;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(srv.port) + "/v2/";
  std::string body;
  auto r = http.perform(req, [&](const char* p, std::size_t n) {
    body.append(p, n);
    return true;
  });
  srv.t.join();
  REQUIRE(r.ok());
  CHECK(r->status == 404);
  CHECK(r->error_body == "{\"errors\":[]}");
  CHECK(body.empty());
  req.url = "http://127.0.0.1:1/";
  auto refused = http.perform(req);
  CHECK_FALSE(refused.ok());
}
