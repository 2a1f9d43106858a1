#include "builder/user_db.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "builder/fs_resolve.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t k_max_id = 2147483647;  // libcontainer's maxId (2^31 - 1)

struct PasswdEntry {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  std::uint32_t gid = 0;
  std::vector<std::string> members;
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<std::uint64_t> parse_id(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Reads a file of the rootfs (resolved inside it); nullopt when it does not exist.
util::Result<std::optional<std::string>> read_rootfs_file(const fs::path& rootfs, std::string_view path) {
  MKIMAGE_TRY(fs::path host, resolve_in_root(rootfs, path, FollowFinal::yes));
  std::ifstream in(host, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(host, ec)) return std::optional<std::string>{};
    return util::sys_error("open", std::string(path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>{ss.str()};
}

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    PasswdEntry e;
    e.name = f[0];
    e.uid = static_cast<std::uint32_t>(*uid);
    e.gid = static_cast<std::uint32_t>(*gid);
    if (f.size() > 5) e.home = f[5];
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry e;
    e.name = f[0];
    e.gid = static_cast<std::uint32_t>(*gid);
    if (f.size() > 3 && !f[3].empty()) e.members = split(f[3], ',');
    out.push_back(std::move(e));
  }
  return out;
}

util::Error id_range_error(std::string_view what) {
  return util::Error{std::string(what) + " id out of range (0 to 2147483647)"};
}

// libcontainer GetExecUser over the rootfs's files, after BuildKit's fast path.
util::Result<ExecUser> lookup_exec_user(const fs::path& rootfs, std::string_view spec) {
  std::string user_arg;
  std::string group_arg;
  auto colon = spec.find(':');
  user_arg = std::string(spec.substr(0, colon));
  if (colon != std::string_view::npos) group_arg = std::string(spec.substr(colon + 1));
  auto uid_num = parse_id(user_arg);
  auto gid_num = parse_id(group_arg);

  ExecUser out;
  // Fast path (BuildKit ParseUIDGID): "uid:gid" needs no files ("root" counts as 0).
  if (colon != std::string_view::npos && (uid_num || user_arg == "root") && (gid_num || group_arg == "root")) {
    if (!uid_num) uid_num = 0;
    if (!gid_num) gid_num = 0;
    if (*uid_num > k_max_id || *gid_num > k_max_id) return id_range_error("user");
    out.uid = static_cast<std::uint32_t>(*uid_num);
    out.gid = static_cast<std::uint32_t>(*gid_num);
    return out;
  }

  MKIMAGE_TRY(auto passwd_text, read_rootfs_file(rootfs, "/etc/passwd"));
  MKIMAGE_TRY(auto group_text, read_rootfs_file(rootfs, "/etc/group"));
  auto users = passwd_text ? parse_passwd(*passwd_text) : std::vector<PasswdEntry>{};
  auto groups = group_text ? parse_group(*group_text) : std::vector<GroupEntry>{};

  std::string matched_name;
  if (user_arg.empty()) {
    // "" or ":group": root, looked up as uid 0.
    uid_num = 0;
  }
  const PasswdEntry* found = nullptr;
  for (const auto& u : users) {
    if (uid_num ? u.uid == *uid_num : u.name == user_arg) {
      found = &u;
      break;
    }
  }
  if (found) {
    out.uid = found->uid;
    out.gid = found->gid;
    out.home = found->home.empty() ? "/" : found->home;
    matched_name = found->name;
  } else {
    if (!uid_num) return util::Error{"unable to find user " + user_arg + ": no matching entries in passwd file"};
    if (*uid_num > k_max_id) return id_range_error("user");
    out.uid = static_cast<std::uint32_t>(*uid_num);
  }

  if (!group_arg.empty()) {
    const GroupEntry* g = nullptr;
    for (const auto& e : groups) {
      if (gid_num ? e.gid == *gid_num : e.name == group_arg) {
        g = &e;
        break;
      }
    }
    if (g) {
      out.gid = g->gid;
    } else {
      if (!gid_num) return util::Error{"unable to find group " + group_arg + ": no matching entries in group file"};
      if (*gid_num > k_max_id) return id_range_error("group");
      out.gid = static_cast<std::uint32_t>(*gid_num);
    }
  } else if (!matched_name.empty()) {
    for (const auto& e : groups) {
      for (const auto& m : e.members) {
        if (m == matched_name) {
          out.additional_gids.push_back(e.gid);
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace

util::Result<ExecUser> resolve_exec_user(const fs::path& rootfs, std::string_view spec) {
  MKIMAGE_TRY(ExecUser out, lookup_exec_user(rootfs, spec));
  // BuildKit's executor (ensureAdditionalGids, after containerd): the primary
  // gid leads the supplementary groups unless it is among them already.
  if (std::find(out.additional_gids.begin(), out.additional_gids.end(), out.gid) == out.additional_gids.end()) {
    out.additional_gids.insert(out.additional_gids.begin(), out.gid);
  }
  return out;
}

bool owner_is_numeric(std::string_view spec) {
  auto colon = spec.find(':');
  auto user = spec.substr(0, colon);
  if (!user.empty() && !parse_id(user)) return false;
  if (colon != std::string_view::npos) {
    auto group = spec.substr(colon + 1);
    if (!group.empty() && !parse_id(group)) return false;
  }
  return true;
}

util::Result<Owner> resolve_owner(const fs::path& rootfs, std::string_view spec) {
  Owner out;
  if (spec.empty()) return out;
  auto colon = spec.find(':');
  std::string user(spec.substr(0, colon));
  std::optional<std::string> group;
  if (colon != std::string_view::npos) group = std::string(spec.substr(colon + 1));
  if (user.empty()) return util::Error{"invalid user \"" + std::string(spec) + "\": empty user name"};

  if (auto id = parse_id(user)) {
    if (*id > k_max_id) return id_range_error("user");
    out.uid = out.gid = static_cast<std::uint32_t>(*id);
  } else {
    MKIMAGE_TRY(auto text, read_rootfs_file(rootfs, "/etc/passwd"));
    bool found = false;
    if (text) {
      for (const auto& u : parse_passwd(*text)) {
        if (u.name == user) {
          out.uid = u.uid;
          out.gid = u.gid;
          found = true;
          break;
        }
      }
    }
    if (!found) return util::Error{"unable to find user " + user};
  }
  if (group && !group->empty()) {
    if (auto id = parse_id(*group)) {
      if (*id > k_max_id) return id_range_error("group");
      out.gid = static_cast<std::uint32_t>(*id);
    } else {
      MKIMAGE_TRY(auto text, read_rootfs_file(rootfs, "/etc/group"));
      bool found = false;
      if (text) {
        for (const auto& g : parse_group(*text)) {
          if (g.name == *group) {
            out.gid = g.gid;
            found = true;
            break;
          }
        }
      }
      if (!found) return util::Error{"unable to find group " + *group};
    }
  }
  return out;
}

}  // namespace mkimage::builder
