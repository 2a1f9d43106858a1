// builder/private_network.hpp: the resolv.conf a RUN step's private network
// gets; (as root) its start, readiness and teardown.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "builder/private_network.hpp"
#include "../skip.hpp"

using mkimage::builder::PrivateNetwork;

TEST_CASE("private network resolv.conf: the host's without loopback and IPv6 nameservers") {
  CHECK(PrivateNetwork::container_resolv_conf("search example.org\nnameserver 192.0.2.53\noptions ndots:2\n") ==
        "search example.org\nnameserver 192.0.2.53\noptions ndots:2\n");
  CHECK(PrivateNetwork::container_resolv_conf("nameserver 127.0.0.1\nnameserver 2001:db8::1\nnameserver 10.1.1.1\n") ==
        "nameserver 10.1.1.1\n");
}

TEST_CASE("private network resolv.conf: slirp4netns's forwarder when only loopback resolvers are left") {
  // systemd-resolved's stub: not reachable from the namespace
  CHECK(PrivateNetwork::container_resolv_conf("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n") ==
        "options edns0 trust-ad\nsearch .\nnameserver 10.0.2.3\n");
  CHECK(PrivateNetwork::container_resolv_conf("") == "nameserver 10.0.2.3\n");
  CHECK(PrivateNetwork::container_resolv_conf("nameserver ::1\n") == "nameserver 10.0.2.3\n");
}

namespace {

bool slirp4netns_in_path() { return std::system("command -v slirp4netns >/dev/null 2>&1") == 0; }

// Whether a process whose command line names `path` (our namespace file) runs.
bool process_names(const std::string& path) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream f(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(f)), {});
    if (cmd.find(path) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

PRIVILEGED_TEST_CASE("private network: start, ready, and a teardown that removes the namespace at once") {
  SKIP_IF_MISSING(mkimage_test::unless_root("network namespaces"));
  SKIP_IF_MISSING(slirp4netns_in_path() ? "" : "slirp4netns (apt-get install slirp4netns)");
  auto net = PrivateNetwork::start();
  REQUIRE(net.ok());
  std::string path = (*net)->netns_path().string();
  CHECK(std::filesystem::exists(path));
  CHECK((*net)->resolv_conf().find("nameserver") != std::string::npos);
  REQUIRE((*net)->ready().ok());
  CHECK((*net)->ready().ok());  // again: the same answer
  CHECK(process_names(path));   // slirp4netns runs on it
  (*net)->teardown();
  CHECK(!std::filesystem::exists(path));  // gone before slirp4netns is reaped
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    gone = !process_names(path);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(gone);  // reaped by its thread
}

PRIVILEGED_TEST_CASE("private network: a missing slirp4netns is reported by ready(), every time it is asked") {
  SKIP_IF_MISSING(mkimage_test::unless_root("network namespaces"));
  ::setenv("MKIMAGE_SLIRP4NETNS", "/nonexistent/slirp4netns", 1);
  auto net = PrivateNetwork::start();
  ::unsetenv("MKIMAGE_SLIRP4NETNS");
  REQUIRE(net.ok());
  std::string path = (*net)->netns_path().string();
  auto first = (*net)->ready();
  REQUIRE(!first.ok());
  CHECK(first.error().message.find("slirp4netns not found") != std::string::npos);
  auto second = (*net)->ready();
  REQUIRE(!second.ok());
  CHECK(second.error().message == first.error().message);
  net->reset();
  CHECK(!std::filesystem::exists(path));
}
