#include "store/lease.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include "util/random.hpp"
#include <sstream>

namespace mkimage::store {

std::string boot_id() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    std::getline(in, line);
    return line;
  }();
  return id;
}

namespace {

// Field 22 of /proc/PID/stat (starttime), or -1 when the process is gone.
// The command name (field 2) may hold spaces and parentheses: fields are
// counted after its last ')'.
std::int64_t process_start(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return -1;
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  // After ')': field 3 (state) is the first; starttime is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return -1;
  }
  try {
    return std::stoll(field);
  } catch (...) {
    return -1;
  }
}

std::string random_id() {
  const char* hex = "0123456789abcdef";
  std::string s;
  for (int w = 0; w < 2; ++w) {
    auto v = util::random_u64();
    for (int i = 0; i < 16; ++i) s += hex[(v >> (4 * i)) & 15];
  }
  return s;
}

}  // namespace

LeaseRecord new_lease_record(const std::string& description) {
  LeaseRecord l;
  l.id = random_id();
  l.pid = ::getpid();
  l.pid_start = process_start(l.pid);
  l.boot_id = boot_id();
  l.description = description;
  l.created = static_cast<std::int64_t>(std::time(nullptr));
  return l;
}

bool lease_owner_alive(const LeaseRecord& lease) {
  if (lease.pid <= 0) return false;
  if (!lease.boot_id.empty() && lease.boot_id != boot_id()) return false;
  if (::kill(static_cast<pid_t>(lease.pid), 0) != 0 && errno == ESRCH) return false;
  std::int64_t start = process_start(lease.pid);
  // No /proc (or not readable): the pid alone decides.
  if (start < 0) return ::kill(static_cast<pid_t>(lease.pid), 0) == 0 || errno == EPERM;
  return lease.pid_start < 0 || start == lease.pid_start;
}

}  // namespace mkimage::store
