// The receiving end of an OCI runtime's `--console-socket` (runc, crun): for a
// process with `terminal: true` the runtime creates the pseudoterminal inside
// the container and sends its master side over this AF_UNIX socket
// (SCM_RIGHTS), as containerd's shim receives it. mkimage then copies the
// terminal itself (builder/tty_relay.hpp), so a container with -t needs no
// terminal on mkimage's side (`run -t … | cat`, `run -d -t`).
#pragma once

#include <filesystem>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

class ConsoleSocket {
public:
  // Listens on `dir`/console.sock when that path fits a socket address
  // (108 bytes), else in a new private directory /tmp/mkimage-console-XXXXXX.
  // Errors: socket/bind/listen failures naming the path.
  static util::Result<ConsoleSocket> listen(const std::filesystem::path& dir);

  ConsoleSocket(ConsoleSocket&&) noexcept;
  ConsoleSocket& operator=(ConsoleSocket&&) = delete;
  ~ConsoleSocket();  // closes the socket, removes its path (and private directory)

  const std::filesystem::path& path() const { return m_path; }

  // Accepts the runtime's connection and receives the master descriptor,
  // waiting at most `timeout_ms`. Errors: no connection in time, or the
  // runtime sent no descriptor.
  util::Result<util::Fd> receive_master(int timeout_ms);

private:
  ConsoleSocket() = default;
  util::Fd m_listen;
  std::filesystem::path m_path;
  std::filesystem::path m_private_dir;  // empty unless made under /tmp
};

}  // namespace mkimage::builder
