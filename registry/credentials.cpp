#include "registry/credentials.hpp"

#include "util/json_text.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace mkimage::registry {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

std::string base64_encode(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += i + 1 < in.size() ? tbl[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  auto val = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '=') break;
    int v = val(ch);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string registry_domain(std::string_view server) {
  std::string s(server);
  if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
  if (auto slash = s.find('/'); slash != std::string::npos) s = s.substr(0, slash);
  if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io") return "docker.io";
  return s;
}

std::string credential_server(const std::string& domain) {
  return domain == "docker.io" ? "https://index.docker.io/v1/" : domain;
}

namespace {

Result<nlohmann::json> read_config(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return nlohmann::json::object();
  if (!fs::is_regular_file(file, ec)) return Error{"docker config \"" + file.string() + "\": not a regular file"};
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{"docker config \"" + file.string() + "\": cannot be read"};
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object()) return Error{"docker config \"" + file.string() + "\": not a JSON object"};
    return j;
  } catch (const std::exception& e) {
    return Error{"docker config \"" + file.string() + "\": " + e.what()};
  }
}

Result<void> write_config(const fs::path& link, const nlohmann::json& j) {
  std::error_code ec;
  // A symlinked config.json is updated where it points (as docker does).
  fs::path file = link;
  for (int i = 0; i < 8 && fs::is_symlink(file, ec); ++i) {
    fs::path target = fs::read_symlink(file, ec);
    file = target.is_absolute() ? target : file.parent_path() / target;
  }
  fs::create_directories(file.parent_path(), ec);
  // A new file is 0600; an existing one keeps its mode (as docker does).
  struct stat old{};
  mode_t mode = ::stat(file.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0600;
  std::string tmp = file.string() + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return util::sys_error("create", tmp);
  ::fchmod(fd, mode);
  std::string text = util::json_text(j, 1, '\t') + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return util::sys_error("write", file.string(), err);
  }
  return {};
}

// The helper configured for `server` ("" = none).
std::string helper_for(const nlohmann::json& j, const std::string& domain) {
  if (j.contains("credHelpers") && j["credHelpers"].is_object()) {
    for (const auto& key : {domain, credential_server(domain)}) {
      auto it = j["credHelpers"].find(key);
      if (it != j["credHelpers"].end() && it->is_string()) return it->get<std::string>();
    }
  }
  if (j.contains("credsStore") && j["credsStore"].is_string()) return j["credsStore"].get<std::string>();
  return "";
}

constexpr int k_helper_timeout_s = 30;

// True once `pid` has exited (it stays waitable).
bool exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

struct HelperResult {
  int status = 0;
  std::string out;
};

// Runs docker-credential-<name> <verb> with `input` on stdin.
Result<HelperResult> run_helper(const std::string& name, const std::string& verb, const std::string& input) {
  std::string prog = "docker-credential-" + name;
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) return util::sys_error("pipe", prog);
  pid_t pid = ::fork();
  if (pid < 0) return util::sys_error("fork", prog);
  if (pid == 0) {
    ::setpgid(0, 0);  // its own process group: a timeout kills whatever it started too
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::execlp(prog.c_str(), prog.c_str(), verb.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  (void)!::write(in_pipe[1], input.data(), input.size());
  ::close(in_pipe[1]);
  // Read its answer for at most k_helper_timeout_s; a helper that hangs (or
  // leaves a child holding the pipe) is killed, and that is an error.
  HelperResult r;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(k_helper_timeout_s);
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200)));
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) break;
      r.out.append(buf, static_cast<std::size_t>(n));
      if (r.out.size() > (1u << 20)) break;
    } else if (ready == 0 && exited(pid)) {
      // It exited; whatever it printed has been read (a child may hold the pipe open).
      pollfd q{out_pipe[0], POLLIN, 0};
      if (::poll(&q, 1, 0) <= 0) break;
    }
  }
  ::close(out_pipe[0]);
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (timed_out) return Error{"credential helper " + prog + " did not answer within " + std::to_string(k_helper_timeout_s) + " s"};
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  if (r.status == 127) return Error{"credential helper " + prog + " is not installed (not found in PATH)"};
  return r;
}

bool not_found(const std::string& out) { return out.find("credentials not found") != std::string::npos; }

// A helper's answer as one printable line for an error message (at most 300 characters).
std::string printable(const std::string& out) {
  std::string s;
  for (char ch : out) {
    if (s.size() >= 300) {
      s += "...";
      break;
    }
    s += (ch >= 0x20 && ch < 0x7f) ? ch : ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

CredentialStore CredentialStore::open_default() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return CredentialStore(fs::path(d) / "config.json");
  const char* home = std::getenv("HOME");
  return CredentialStore(fs::path(home && *home ? home : "/root") / ".docker" / "config.json");
}

Result<std::optional<Credentials>> CredentialStore::get(const std::string& domain) const {
  using Found = std::optional<Credentials>;
  MKIMAGE_TRY(auto j, read_config(m_file));
  std::string server = credential_server(domain);
  if (std::string helper = helper_for(j, domain); !helper.empty()) {
    MKIMAGE_TRY(auto r, run_helper(helper, "get", server));
    if (r.status != 0) {
      if (not_found(r.out)) return Found{};
      return Error{"credential helper docker-credential-" + helper + " get " + server + ": " + printable(r.out)};
    }
    try {
      auto o = nlohmann::json::parse(r.out);
      Credentials c;
      c.username = o.value("Username", "");
      if (c.username == "<token>") {
        c.identity_token = o.value("Secret", "");
        c.username.clear();
      } else {
        c.password = o.value("Secret", "");
      }
      return Found{c};
    } catch (const std::exception& e) {
      return Error{"credential helper docker-credential-" + helper + ": malformed answer: " + printable(e.what())};
    }
  }
  if (!j.contains("auths") || !j["auths"].is_object()) return Found{};
  // The exact key first, then any key naming the same host (docker's convertToHostname).
  std::vector<nlohmann::json::iterator> candidates;
  if (auto exact = j["auths"].find(server); exact != j["auths"].end()) candidates.push_back(exact);
  for (auto e = j["auths"].begin(); e != j["auths"].end(); ++e)
    if (e.key() != server && registry_domain(e.key()) == registry_domain(server)) candidates.push_back(e);
  for (auto it : candidates) {
    if (!it->is_object()) continue;
    const std::string& key = it.key();
    Credentials c;
    if (it->contains("auth") && (*it)["auth"].is_string()) {
      auto dec = base64_decode((*it)["auth"].get<std::string>());
      if (!dec) return Error{"docker config \"" + m_file.string() + "\": auths." + key + ".auth is not base64"};
      auto colon = dec->find(':');
      c.username = dec->substr(0, colon);
      if (colon != std::string::npos) c.password = dec->substr(colon + 1);
    }
    if (c.username.empty() && it->contains("username") && (*it)["username"].is_string()) {
      c.username = (*it)["username"].get<std::string>();
      if (it->contains("password") && (*it)["password"].is_string()) c.password = (*it)["password"].get<std::string>();
    }
    if (it->contains("identitytoken") && (*it)["identitytoken"].is_string())
      c.identity_token = (*it)["identitytoken"].get<std::string>();
    if (c.username.empty() && c.password.empty() && c.identity_token.empty()) continue;
    return Found{c};
  }
  return Found{};
}

Result<bool> CredentialStore::store(const std::string& domain, const Credentials& c) const {
  MKIMAGE_TRY(auto j, read_config(m_file));
  std::string server = credential_server(domain);
  if (std::string helper = helper_for(j, domain); !helper.empty()) {
    nlohmann::json in = {{"ServerURL", server}, {"Username", c.username}, {"Secret", c.password}};
    MKIMAGE_TRY(auto r, run_helper(helper, "store", util::json_text(in)));
    if (r.status != 0) return Error{"credential helper docker-credential-" + helper + " store: " + printable(r.out)};
    // docker keeps an empty entry in auths so `docker logout` knows the server.
    j["auths"][server] = nlohmann::json::object();
    MKIMAGE_TRY_VOID(write_config(m_file, j));
    return false;
  }
  j["auths"][server] = {{"auth", base64_encode(c.username + ":" + c.password)}};
  MKIMAGE_TRY_VOID(write_config(m_file, j));
  return true;
}

Result<bool> CredentialStore::erase(const std::string& domain) const {
  MKIMAGE_TRY(auto j, read_config(m_file));
  std::string server = credential_server(domain);
  bool found = false;
  if (std::string helper = helper_for(j, domain); !helper.empty()) {
    MKIMAGE_TRY(auto r, run_helper(helper, "erase", server));
    if (r.status == 0) found = true;
    else if (!not_found(r.out)) return Error{"credential helper docker-credential-" + helper + " erase: " + printable(r.out)};
  }
  if (j.contains("auths") && j["auths"].is_object()) {
    std::vector<std::string> keys;
    for (auto e = j["auths"].begin(); e != j["auths"].end(); ++e)
      if (registry_domain(e.key()) == registry_domain(server)) keys.push_back(e.key());
    for (const auto& key : keys) found = j["auths"].erase(key) > 0 || found;
  }
  if (found) MKIMAGE_TRY_VOID(write_config(m_file, j));
  return found;
}

}  // namespace mkimage::registry
