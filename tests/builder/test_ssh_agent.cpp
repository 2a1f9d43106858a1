// --ssh values (parse_ssh_spec) and the read-only agent proxy (builder/ssh_agent.hpp):
// the request filter, and a real ssh-agent behind SshForward answering ssh-add
// -l but refusing ssh-add -D.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "builder/ssh_agent.hpp"
#include "../skip.hpp"

namespace fs = std::filesystem;
using mkimage::parse_ssh_spec;
using mkimage::builder::agent_request_allowed;
using mkimage::builder::SshAgents;
using mkimage::builder::SshForward;

TEST_CASE("ssh spec: default, ID, ID=PATH,PATH") {
  auto d = parse_ssh_spec("default");
  REQUIRE(d.ok());
  CHECK(d->id == "default");
  CHECK(d->paths.empty());
  auto k = parse_ssh_spec("gh=/k/one,/k/two");
  REQUIRE(k.ok());
  CHECK(k->id == "gh");
  REQUIRE(k->paths.size() == 2);
  CHECK(k->paths[1] == "/k/two");
  CHECK_FALSE(parse_ssh_spec("=x").ok());
  CHECK_FALSE(parse_ssh_spec("id=").ok());
  CHECK_FALSE(parse_ssh_spec("id=a,,b").ok());
}

TEST_CASE("ssh agent proxy: only listing and signing pass") {
  CHECK(agent_request_allowed(11));   // SSH_AGENTC_REQUEST_IDENTITIES
  CHECK(agent_request_allowed(13));   // SSH_AGENTC_SIGN_REQUEST
  for (unsigned char t : {17, 18, 19, 20, 21, 22, 23, 25, 26, 27}) CHECK_FALSE(agent_request_allowed(t));
}

TEST_CASE("ssh agents: BuildKit's errors") {
  const char* old = std::getenv("SSH_AUTH_SOCK");
  std::string saved = old ? old : "";
  ::unsetenv("SSH_AUTH_SOCK");
  auto r = SshAgents::start({mkimage::SshSource{}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set");
  if (old) ::setenv("SSH_AUTH_SOCK", saved.c_str(), 1);
  auto missing = SshAgents::start({mkimage::SshSource{"default", {"/nonexistent/key"}}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("failed to open") != std::string::npos);
}

namespace {
int run_shell(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace

PRIVILEGED_TEST_CASE("ssh agent proxy: a key file's agent, listed through the proxy, never changed") {
  SKIP_IF_MISSING(run_shell("command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null && "
                            "command -v ssh-keygen >/dev/null") != 0
                      ? "ssh-agent, ssh-add, ssh-keygen (openssh-client)"
                      : "");
  char tmpl[] = "/tmp/mkimage-ssh-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  fs::path dir = tmpl;
  REQUIRE(run_shell("ssh-keygen -q -t ed25519 -N '' -C proxy-test -f " + (dir / "key").string()) == 0);
  {
    auto agents = SshAgents::start({mkimage::SshSource{"default", {dir / "key"}}});
    REQUIRE_MESSAGE(agents.ok(), (agents.ok() ? "" : agents.error().message));
    const fs::path* agent = (*agents)->socket("default");
    REQUIRE(agent);
    CHECK((*agents)->socket("other") == nullptr);
    fs::path sock = dir / "fwd.sock";
    auto fwd = SshForward::start(*agent, sock, ::getuid(), ::getgid(), 0741);
    REQUIRE_MESSAGE(fwd.ok(), (fwd.ok() ? "" : fwd.error().message));
    struct stat st {};
    REQUIRE(::stat(sock.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0741);
    std::string env = "SSH_AUTH_SOCK=" + sock.string() + " ";
    CHECK(run_shell(env + "ssh-add -l | grep -q proxy-test") == 0);
    CHECK(run_shell(env + "ssh-add -D >/dev/null 2>&1") != 0);                  // remove all: refused
    CHECK(run_shell("SSH_AUTH_SOCK=" + agent->string() + " ssh-add -l | grep -q proxy-test") == 0);  // still there
    fwd->reset();
    CHECK_FALSE(fs::exists(sock));
  }
  fs::remove_all(dir);
}
