// ADD: local tar archives (auto-extract, --unpack=false), http(s) URLs
// (served by a tiny in-process HTTP server on 127.0.0.1), --checksum.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "../skip.hpp"
#include "copy_fixture.hpp"
#include "util/sha256.hpp"

using namespace mkimage;
using namespace mkimage::testing;
namespace fs = std::filesystem;

namespace {

// Serves `body` for any GET path except "/missing" (404) until destroyed.
class HttpServer {
public:
  explicit HttpServer(std::string body) : m_body(std::move(body)) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    REQUIRE(::listen(m_fd, 8) == 0);
    m_thread = std::thread([this] { serve(); });
  }
  ~HttpServer() {
    m_stop = true;
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(m_port) + path; }
  int requests() const { return m_requests; }

private:
  void serve() {
    while (!m_stop) {
      int c = ::accept(m_fd, nullptr, nullptr);
      if (c < 0) return;
      ++m_requests;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      std::string resp;
      if (req.find("GET /missing") == 0) {
        resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else {
        resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(m_body.size()) +
               "\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nConnection: close\r\n\r\n" + m_body;
      }
      std::size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = ::write(c, resp.data() + off, resp.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::close(c);
    }
  }
  std::string m_body;
  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_requests{0};
  std::thread m_thread;
};

builder::CopyOp add_op(std::vector<std::string> sources, std::string dest) {
  auto op = copy_op(std::move(sources), std::move(dest));
  op.kind = builder::CopyKind::add;
  return op;
}

void make_tar(const fs::path& dir, const std::string& flags, const fs::path& out) {
  std::string cmd = "tar -C '" + dir.string() + "' --owner=12 --group=34 " + flags + " -cf '" + out.string() + "' .";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

}  // namespace

PRIVILEGED_TEST_CASE("ADD extracts local tar archives (plain, gzip, bzip2, xz) into the destination") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  fs::path src = f.tmp / "tree";
  write_file(src / "bin/tool", "#!/bin/sh\n", 0755);
  write_file(src / "etc/conf", "c\n", 0640);
  fs::create_symlink("../bin/tool", src / "etc/tool-link");
  for (auto [name, flag] : {std::pair{"a.tar", ""}, std::pair{"a.tar.gz", "-z"}, std::pair{"a.tar.bz2", "-j"},
                            std::pair{"a.tar.xz", "-J"}}) {
    make_tar(src, flag, f.ctx / name);
    std::string dest = std::string("/x/") + name + "/";
    CHECK(f.run(add_op({name}, dest)) == "");
    fs::path out = f.rootfs / ("x/" + std::string(name));
    CHECK(read_file(out / "bin/tool") == "#!/bin/sh\n");
    CHECK(mode_of(out / "bin/tool") == 0755);
    CHECK(mode_of(out / "etc/conf") == 0640);
    CHECK(link_of(out / "etc/tool-link") == "../bin/tool");
    if (geteuid() == 0) CHECK(meta(out / "etc/conf") == "12:34 640");  // the archive's owner is kept
  }
  // --unpack=false copies the archive as a file.
  auto op = add_op({"a.tar.gz"}, "/raw/");
  op.flags.unpack = false;
  CHECK(f.run(op) == "");
  CHECK(fs::is_regular_file(f.rootfs / "raw/a.tar.gz"));
  // COPY never extracts.
  CHECK(f.run(copy_op({"a.tar"}, "/copied/")) == "");
  CHECK(fs::is_regular_file(f.rootfs / "copied/a.tar"));
  // A gzip file that is not a tar is copied as is.
  REQUIRE(std::system(("echo hello | gzip > '" + (f.ctx / "plain.gz").string() + "'").c_str()) == 0);
  CHECK(f.run(add_op({"plain.gz"}, "/gz/")) == "");
  CHECK(fs::is_regular_file(f.rootfs / "gz/plain.gz"));
  // --chown applies to extracted entries.
  op = add_op({"a.tar"}, "/owned/");
  op.flags.chown = "7:8";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "owned/etc/conf") == "7:8 640");
}

PRIVILEGED_TEST_CASE("ADD archive entries cannot escape the destination") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  // An archive with a symlink to "/" followed by a file through it, and "../" names.
  fs::path src = f.tmp / "evil";
  fs::create_directories(src);
  fs::create_symlink("/", src / "root-link");
  REQUIRE(std::system(("cd '" + src.string() + "' && tar -cf ../evil.tar root-link && mkdir -p p && echo pwn > p/f && "
                       "tar --transform='s,^p/f,root-link/etc/pwned,' -rf ../evil.tar p/f && "
                       "echo up > up && tar --transform='s,^up,../../up-escape,' -rf ../evil.tar up")
                          .c_str()) == 0);
  fs::copy_file(f.tmp / "evil.tar", f.ctx / "evil.tar");
  CHECK(f.run(add_op({"evil.tar"}, "/d/")) == "");
  // "root-link/etc/pwned" resolves inside the destination directory; "../../up-escape" is clamped.
  CHECK(read_file(f.rootfs / "d/etc/pwned") == "pwn\n");
  CHECK_FALSE(fs::exists(f.rootfs / "etc/pwned"));
  CHECK(fs::exists(f.rootfs / "d/up-escape"));
  CHECK_FALSE(fs::exists(f.tmp / "up-escape"));
  CHECK_FALSE(fs::exists("/etc/pwned"));
}

PRIVILEGED_TEST_CASE("ADD of an http URL: file name from the path, mode 0600, Last-Modified, --checksum") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  HttpServer server("remote bytes\n");
  CHECK(f.run(add_op({server.url("/files/data.txt?x=1")}, "/dl/")) == "");
  CHECK(read_file(f.rootfs / "dl/data.txt") == "remote bytes\n");
  CHECK(meta(f.rootfs / "dl/data.txt") == "0:0 600");
  CHECK(lstat_of(f.rootfs / "dl/data.txt").st_mtime == 1445412480);
  CHECK(f.run(add_op({server.url("/")}, "/un/")) == "");
  CHECK(fs::exists(f.rootfs / "un/__unnamed__"));
  CHECK(f.run(add_op({server.url("/x")}, "/named")) == "");
  CHECK(read_file(f.rootfs / "named") == "remote bytes\n");

  auto good = "sha256:" + util::sha256_hex("remote bytes\n");
  auto op = add_op({server.url("/c.txt")}, "/sum/");
  op.flags.checksum = good;
  CHECK(f.run(op) == "");
  CHECK(read_file(f.rootfs / "sum/c.txt") == "remote bytes\n");
  op.flags.checksum = "sha256:" + util::sha256_hex("other");
  CHECK(f.run(op).find("checksum mismatch") != std::string::npos);
  op.flags.checksum = "md5:abc";
  CHECK(f.run(op).find("only sha256") != std::string::npos);

  CHECK(f.run(add_op({server.url("/missing")}, "/m/")).find("404") != std::string::npos);

  // With --checksum the key needs no download: the digest is the checksum's.
  op.flags.checksum = good;
  int before = server.requests();
  builder::PlanOptions po;
  po.scratch_dir = f.scratch;
  auto plan = builder::plan_copy(op, f.context_source(), po);
  REQUIRE(plan.ok());
  CHECK(server.requests() == before);
  auto d1 = builder::copy_content_digest(*plan, nullptr);
  REQUIRE(d1.ok());
  // Without a checksum the download's digest is the key; same bytes, same digest.
  auto op2 = add_op({server.url("/c.txt")}, "/sum/");
  auto plan2 = builder::plan_copy(op2, f.context_source(), po);
  REQUIRE(plan2.ok());
  CHECK(server.requests() == before + 1);
  auto d2 = builder::copy_content_digest(*plan2, nullptr);
  REQUIRE(d2.ok());
  CHECK(*d1 == *d2);
}

PRIVILEGED_TEST_CASE("ADD of a URL with --unpack=true extracts a tar") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  fs::path src = f.tmp / "t";
  write_file(src / "inside.txt", "in\n");
  make_tar(src, "-z", f.tmp / "t.tgz");
  HttpServer server(read_file(f.tmp / "t.tgz"));
  auto op = add_op({server.url("/t.tgz")}, "/u/");
  CHECK(f.run(op) == "");
  CHECK(fs::is_regular_file(f.rootfs / "u/t.tgz"));  // URLs are not unpacked by default
  op.flags.unpack = true;
  op.dest = "/v/";
  CHECK(f.run(op) == "");
  CHECK(read_file(f.rootfs / "v/inside.txt") == "in\n");
}
