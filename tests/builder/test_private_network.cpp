// builder/private_network.hpp: the resolv.conf a RUN step's private network gets.
#include <doctest/doctest.h>

#include "builder/private_network.hpp"

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
