#include "store/owner.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>

#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_path(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](std::size_t j) { return s[j] >= '0' && s[j] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_at_or_below(const std::string& p, const std::string& base) {
  if (p.size() < base.size() || p.compare(0, base.size(), base) != 0) return false;
  return p.size() == base.size() || p[base.size()] == '/' || base == "/";
}

}  // namespace

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "pid (comm) state ppid ..." — comm may hold spaces and ')': fields count
  // from the last ')'. Field 3 (state) is the first after it; 22 is starttime.
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::string f;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> f)) return std::nullopt;
  }
  if (!all_digits(f)) return std::nullopt;
  return std::stoull(f);
}

std::string owner_tag() {
  static std::mutex m;
  static pid_t cached_pid = 0;
  static std::string cached;
  std::lock_guard lock(m);
  pid_t self = ::getpid();
  if (self != cached_pid) {
    cached = std::to_string(self) + "-" + std::to_string(process_start_time(self).value_or(0));
    cached_pid = self;
  }
  return cached;
}

std::optional<TempOwner> parse_temp_name(std::string_view name, bool legacy) {
  // <head>-<n1>[-<n2>]-XXXXXX
  if (name.size() < 10 || name[name.size() - 7] != '-') return std::nullopt;
  std::string_view rest = name.substr(0, name.size() - 7);
  auto d1 = rest.rfind('-');
  if (d1 == std::string_view::npos || d1 == 0) return std::nullopt;
  std::string_view last = rest.substr(d1 + 1);
  if (!all_digits(last)) return std::nullopt;
  std::string_view before = rest.substr(0, d1);
  auto d2 = before.rfind('-');
  TempOwner o;
  if (d2 != std::string_view::npos && d2 > 0 && all_digits(before.substr(d2 + 1))) {
    std::string_view pid_text = before.substr(d2 + 1);
    if (pid_text.size() > 9) return std::nullopt;
    o.head = std::string(before.substr(0, d2));
    o.pid = static_cast<pid_t>(std::stol(std::string(pid_text)));
    o.start = std::stoull(std::string(last));
  } else {
    if (!legacy || last.size() > 9) return std::nullopt;
    o.head = std::string(before);
    o.pid = static_cast<pid_t>(std::stol(std::string(last)));
  }
  if (o.pid <= 0 || o.head.empty()) return std::nullopt;
  return o;
}

bool owner_is_dead(const TempOwner& owner) {
  if (owner.pid <= 0) return false;
  // Start 0: the owner could not read its own start time; the pid alone decides.
  if (!owner.start || *owner.start == 0) {
    if (owner.pid == ::getpid()) return false;
    return ::kill(owner.pid, 0) != 0 && errno == ESRCH;
  }
  auto now = process_start_time(owner.pid);
  if (now) return *now != *owner.start;
  // No /proc entry: dead if the kernel agrees (else /proc cannot tell us).
  return ::kill(owner.pid, 0) != 0 && errno == ESRCH;
}

std::vector<fs::path> mounts_under(const fs::path& path) {
  std::vector<fs::path> out;
  std::string base = fs::absolute(path).lexically_normal().string();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    std::string p = unescape_mount_path(point);
    if (is_at_or_below(p, base)) out.emplace_back(p);
  }
  return out;
}

bool unmount_all_under(const fs::path& path) {
  // A few rounds: a lazy detach of a parent can take its children along, and a
  // mount made meanwhile by nobody (the owner is dead) cannot appear.
  for (int round = 0; round < 3; ++round) {
    auto mounts = mounts_under(path);
    if (mounts.empty()) return true;
    for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
      if (::umount2(it->c_str(), UMOUNT_NOFOLLOW) == 0) continue;
      if (errno == EBUSY) (void)::umount2(it->c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    }
  }
  return mounts_under(path).empty();
}

bool remove_dead_entry(const fs::path& path) {
  if (!unmount_all_under(path)) return false;
  return remove_tree(path).ok();
}

std::size_t sweep_dead_owners(const fs::path& dir, const std::function<bool(std::string_view)>& accept_head,
                              bool legacy) {
  std::vector<std::string> dead;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      auto owner = parse_temp_name(name, legacy);
      if (!owner || !accept_head(owner->head) || !owner_is_dead(*owner)) continue;
      dead.emplace_back(name);
    }
    ::closedir(d);
  }
  std::size_t removed = 0;
  for (const auto& name : dead) {
    if (remove_dead_entry(dir / name)) ++removed;
  }
  return removed;
}

std::string save_temp_template(const fs::path& out) {
  fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  return (dir / ("." + out.filename().string() + ".tmp-" + owner_tag() + "-XXXXXX")).string();
}

std::size_t sweep_dead_save_temps(const fs::path& dir) {
  std::vector<std::string> dead;
  if (DIR* d = ::opendir(dir.empty() ? "." : dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      auto owner = parse_temp_name(name, /*legacy=*/false);
      if (!owner || owner->head.size() < 6 || owner->head[0] != '.' || !owner->head.ends_with(".tmp")) continue;
      if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
      if (owner_is_dead(*owner)) dead.emplace_back(name);
    }
    ::closedir(d);
  }
  std::size_t removed = 0;
  for (const auto& name : dead) {
    fs::path p = (dir.empty() ? fs::path(".") : dir) / name;
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::unlink(p.c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace mkimage::store
