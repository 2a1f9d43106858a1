// The private network of a RUN step (NetworkMode::isolated): a network
// namespace of its own, with outbound access through slirp4netns (Debian
// package slirp4netns), the user-space network stack rootless podman and
// BuildKit's rootless mode use: it turns the namespace's packets into
// ordinary socket calls on the host (docs/design/sandbox.md says why
// slirp4netns rather than pasta, and what it costs).
//
// Layout (slirp4netns's): the namespace has `lo` and `eth0` (as BuildKit's steps see) with
// 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3, IPv4 only (docker's
// default bridge has no IPv6 either), MTU 65520. slirp4netns runs with
// --disable-host-loopback: the gateway does not lead to the host's loopback,
// so a step reaches the internet and the host's non-loopback addresses (as a
// docker bridge container does) but no service bound to the host's 127.0.0.1.
// /etc/resolv.conf (docker's rule): the host's, without loopback and IPv6
// nameservers; when none is left, `nameserver 10.0.2.3` (slirp4netns
// forwards it to the host's resolver; docker would fall back to 8.8.8.8,
// which fails on networks that only allow their own resolver).
//
// Lifetime: create() makes the namespace — an nsfs file bind-mounted at
// /run/mkimage/netns/mkimage-net-<pid>-<start>-XXXXXX — and starts
// slirp4netns on it as a child; it is ready when slirp4netns writes to its
// --ready-fd, and it exits when its --exit-fd reaches end of file, i.e. when
// teardown() closes our end or when mkimage dies in any way (kill -9
// included). teardown() (the destructor, or an interrupt: it is registered
// with builder/interrupt.hpp) tells slirp4netns to exit, unmounts and
// unlinks the namespace file, and leaves the reaping of slirp4netns (its exit
// takes ~20 ms in the kernel) to a thread of its own. The namespace files a
// killed mkimage left are removed by remove_orphans() (owner pid and start time in the name, store/owner.hpp).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "builder/interrupt.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

class PrivateNetwork {
public:
  // Makes the namespace and starts slirp4netns (in PATH, or MKIMAGE_SLIRP4NETNS).
  // Errors: slirp4netns missing ("… install the package slirp4netns …, or
  // build with --network=host"), the namespace cannot be made, slirp4netns
  // failed (its message).
  static util::Result<std::unique_ptr<PrivateNetwork>> create();
  // create() in two halves, so that the caller prepares the container while
  // slirp4netns starts (~3 ms): start() makes the namespace and starts
  // slirp4netns without waiting for it (netns_path() and resolv_conf() are
  // set); ready() waits until it has configured the namespace, and must
  // succeed before anything runs in it. Errors: as create(), split between
  // the two (a missing slirp4netns is reported by ready()); ready() again
  // returns the same result.
  static util::Result<std::unique_ptr<PrivateNetwork>> start();
  util::Result<void> ready();
  ~PrivateNetwork();
  PrivateNetwork(const PrivateNetwork&) = delete;
  PrivateNetwork& operator=(const PrivateNetwork&) = delete;

  // The nsfs file to join (runtime-spec namespaces[].path).
  const std::filesystem::path& netns_path() const { return m_netns; }
  // The /etc/resolv.conf text for the container.
  const std::string& resolv_conf() const { return m_resolv; }
  // Stops slirp4netns and removes the namespace file; idempotent, thread-safe.
  void teardown();

  // Removes the namespace files whose owner (pid and start time in the name)
  // is dead (their slirp4netns exited with the owner). Errors are ignored.
  static void remove_orphans();

  // The resolv.conf text for `host_text` (the host's /etc/resolv.conf), see above.
  static std::string container_resolv_conf(const std::string& host_text);

private:
  PrivateNetwork() = default;
  std::filesystem::path m_netns;  // /run/mkimage/netns/<name>
  std::string m_resolv;
  int m_slirp_pid = 0;
  int m_exit_fd = -1;  // slirp4netns's --exit-fd, write end (close = exit)
  int m_ready_fd = -1;  // until ready(): slirp4netns's --ready-fd, read end
  int m_err_fd = -1;    // until ready(): its stderr, read end
  std::optional<util::Error> m_ready_error;
  std::mutex m_mu;
  bool m_torn_down = false;
  CleanupGuard m_guard;
};

}  // namespace mkimage::builder
