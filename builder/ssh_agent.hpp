// SSH agents for `RUN --mount=type=ssh` (include/mkimage/build.hpp SshSource):
// the agents a build's `--ssh` flags name, and the read-only forwarding of one
// into a RUN step.
//
//   SshAgents  one agent socket per id: a socket given on the command line (or
//              $SSH_AUTH_SOCK), or an ssh-agent mkimage starts for key files
//              (`ssh-agent -D -a SOCK`, keys added with `ssh-add`), stopped
//              when the SshAgents object is destroyed (the build's end).
//   SshForward a new listening socket (mode, uid, gid as the mount asks) that
//              a RUN step gets bind-mounted at its target. Each request is
//              proxied to the agent on a connection of its own: only key listing
//              (SSH_AGENTC_REQUEST_IDENTITIES) and signing
//              (SSH_AGENTC_SIGN_REQUEST) pass; anything else (add, remove,
//              lock, extensions) gets SSH_AGENT_FAILURE, as BuildKit's
//              read-only agent answers. The socket is never in a layer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "builder/interrupt.hpp"
#include "mkimage/build.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

// The agent protocol's request types (draft-miller-ssh-agent) the read-only
// proxy lets through: 11 (request identities) and 13 (sign request).
bool agent_request_allowed(unsigned char type);

class SshAgents {
public:
  // Sets up every source (ids must be unique). A source without paths is
  // $SSH_AUTH_SOCK. Errors, BuildKit's words: "invalid empty ssh agent socket:
  // make sure SSH_AUTH_SOCK is set", "duplicate agent ID \"ID\"", "only single
  // socket allowed", "invalid combination of keys and sockets", "failed to open
  // PATH", "failed to add PATH to agent: why" (ssh-add's message), and
  // ssh-agent failing to start.
  static util::Result<std::unique_ptr<SshAgents>> start(const std::vector<SshSource>& sources);
  ~SshAgents();  // stops the agents it started, removes their sockets
  SshAgents(const SshAgents&) = delete;
  SshAgents& operator=(const SshAgents&) = delete;

  // The agent socket of `id`; nullptr when no --ssh gave that id.
  const std::filesystem::path* socket(const std::string& id) const;

private:
  SshAgents() = default;
  util::Result<std::filesystem::path> start_agent(const std::vector<std::filesystem::path>& keys);
  std::map<std::string, std::filesystem::path> m_sockets;
  std::vector<pid_t> m_pids;                    // agents we started
  std::vector<std::filesystem::path> m_dirs;    // their socket directories
  CleanupGuard m_guard;                         // an interrupt stops the agents too
};

class SshForward {
public:
  // Listens at `path` (its directory must exist; the name may be long: the
  // socket is bound through /proc/self/fd), chowned uid:gid and chmod `mode`,
  // and proxies every connection to the agent at `agent`. Errors: socket,
  // bind, chown failures.
  static util::Result<std::unique_ptr<SshForward>> start(const std::filesystem::path& agent,
                                                         const std::filesystem::path& path, std::uint32_t uid,
                                                         std::uint32_t gid, std::uint32_t mode);
  ~SshForward();  // stops accepting, ends every connection, removes the socket
  SshForward(const SshForward&) = delete;
  SshForward& operator=(const SshForward&) = delete;

private:
  SshForward() = default;
  void accept_loop();
  void serve(int client);
  std::filesystem::path m_agent, m_path;
  int m_listen = -1;
  int m_stop[2] = {-1, -1};  // a pipe: readable once stopping
  std::thread m_acceptor;
  std::vector<std::thread> m_connections;  // touched by the acceptor thread only, joined after it
};

}  // namespace mkimage::builder
