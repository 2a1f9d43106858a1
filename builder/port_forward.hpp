// Userspace TCP port forwarding into a container's network namespace, like
// docker-proxy: connections accepted on HOST_IP:HOST_PORT (host namespace)
// are relayed to 127.0.0.1:CONTAINER_PORT inside the container's network
// namespace (a socket created after setns() into /proc/PID/ns/net from a
// helper thread; sockets keep the namespace they were made in).
//
// Lifecycle: listen() before the container starts (so a busy port fails the
// run early), start(pid) once its init pid is known, stop() (or destruction)
// when it exits: the listener and every relayed connection are closed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "util/result.hpp"

namespace mkimage::builder {

class PortForwarder {
public:
  // Binds and listens on host_ip:host_port. Errors: bind/listen failures
  // ("listen 127.0.0.1:3000: Address already in use").
  static util::Result<std::unique_ptr<PortForwarder>> listen(const std::string& host_ip, std::uint16_t host_port,
                                                             std::uint16_t container_port);
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // Starts accepting; connections go into the network namespace of `pid`.
  // Errors: cannot open /proc/PID/ns/net.
  util::Result<void> start(int pid);
  // Stops accepting and closes all connections. Idempotent.
  void stop();

private:
  PortForwarder() = default;
  void accept_loop();
  int m_listen_fd = -1;
  int m_netns_fd = -1;
  int m_stop_pipe[2] = {-1, -1};
  std::uint16_t m_container_port = 0;
  std::thread m_thread;
  std::atomic<int> m_active{0};
};

}  // namespace mkimage::builder
