#include "store/snapshot_verify.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "store/layer_tar.hpp"
#include "util/sha256.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;
using namespace layer_tar;

namespace {

// What the tar says a path of the snapshot must be.
struct Expect {
  char type = 'f';    // f d l h c b p
  unsigned perm = 0;  // 0777 bits
  la_int64_t uid = 0, gid = 0;
  la_int64_t size = 0;
  std::string sha;   // regular file: SHA-256 of the content (hex)
  std::string link;  // symlink target; hardlink: the normalised path it names
};

// The tar's final state: later entries of a path replace earlier ones.
struct LayerState {
  std::map<std::string, Expect> want;
  std::set<std::string> whiteouts, opaque;
};

// Collects the problems of one check, at most `max` of them.
struct Problems {
  std::vector<std::string> list;
  std::size_t max;
  bool full() const { return list.size() >= max; }
  void add(const std::string& rel, const std::string& why) {
    if (!full()) list.push_back("\"/" + rel + "\": " + why);
  }
};

char type_char(mode_t m) {
  return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b'
         : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '?';
}

const char* type_name(char t) {
  switch (t) {
    case 'f': return "a regular file";
    case 'd': return "a directory";
    case 'l': return "a symlink";
    case 'c': return "a character device";
    case 'b': return "a block device";
    case 'p': return "a fifo";
    case 's': return "a socket";
    default: return "something else";
  }
}

bool is_whiteout_node(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }
bool is_root_user() { return ::geteuid() == 0; }

void hash_zeros(util::Sha256& h, la_int64_t n) {
  static const std::vector<char> zeros(1 << 20, 0);
  while (n > 0) {
    auto k = static_cast<std::size_t>(std::min<la_int64_t>(n, static_cast<la_int64_t>(zeros.size())));
    h.update(zeros.data(), k);
    n -= static_cast<la_int64_t>(k);
  }
}

// SHA-256 (hex) of the current entry's data, `size` bytes; sparse holes read as zeros.
Result<std::string> hash_entry_data(archive* a, la_int64_t size, const std::string& where) {
  util::Sha256 h;
  const void* buf;
  size_t n;
  la_int64_t off;
  la_int64_t at = 0;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &n, &off);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error{where + ": " + archive_error_text(a)};
    if (off > at) hash_zeros(h, off - at);
    h.update(buf, n);
    at = off + static_cast<la_int64_t>(n);
  }
  if (at < size) hash_zeros(h, size - at);
  return h.finish_hex();
}

Result<Expect> expect_of(archive* a, archive_entry* e, const std::string& where) {
  Expect x;
  x.perm = archive_entry_perm(e) & 0777;
  x.uid = archive_entry_uid(e);
  x.gid = archive_entry_gid(e);
  if (const char* hl = archive_entry_hardlink(e)) {
    auto link = normalize(hl, "hardlink target");
    if (!link) return Error{where + ": " + link.error().message};
    x.type = 'h';
    x.link = *link;
  } else {
    x.type = type_char(archive_entry_filetype(e));
    if (x.type == 'l') x.link = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
  }
  if (x.type == 'f') {
    x.size = archive_entry_size(e);
    MKIMAGE_TRY(x.sha, hash_entry_data(a, x.size, where));
  }
  return x;
}

Result<LayerState> read_layer(const fs::path& layer) {
  MKIMAGE_TRY(ReadArchive a, open_archive(layer));
  const std::string where = "layer \"" + layer.string() + "\"";
  LayerState s;
  for (;;) {
    MKIMAGE_TRY(auto entry, next_entry(a.get(), where));
    if (!entry) break;
    auto& [e, name] = *entry;
    std::string base = base_of(name);
    if (base == k_opaque) {
      s.opaque.insert(parent_of(name));
    } else if (base.starts_with(".wh.")) {
      s.whiteouts.insert(join(parent_of(name), base.substr(4)));
    } else if (!name.empty()) {  // the root keeps the snapshot directory's own metadata
      MKIMAGE_TRY(Expect x, expect_of(a.get(), e, where));
      s.want.insert_or_assign(name, std::move(x));
    }
  }
  return s;
}

Result<std::string> hash_file(int dirfd, const std::string& rel, const std::string& shown) {
  Fd fd(::openat(dirfd, rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd < 0) return util::sys_error("open", shown);
  util::Sha256 h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return util::sys_error("read", shown);
    if (n == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
  }
  return h.finish_hex();
}

// What is wrong with path `rel` of the snapshot against `x`; "" = nothing.
std::string check_path(int rootfd, const std::string& rel, const Expect& x, const std::string& shown_root) {
  struct stat st;
  if (::fstatat(rootfd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT || errno == ENOTDIR ? std::string("missing") : std::strerror(errno);
  char want_type = x.type == 'h' ? 'f' : x.type;
  char have = type_char(st.st_mode);
  if (have != want_type) return std::string("is ") + type_name(have) + ", the layer has " + type_name(want_type);
  if (x.type == 'h') {
    struct stat t;
    if (::fstatat(rootfd, x.link.c_str(), &t, AT_SYMLINK_NOFOLLOW) != 0 || t.st_ino != st.st_ino || t.st_dev != st.st_dev)
      return "is not a hardlink of \"/" + x.link + "\"";
    return {};
  }
  if (x.type != 'l' && (st.st_mode & 0777) != x.perm) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "mode %03o, the layer has %03o", st.st_mode & 0777, x.perm);
    return buf;
  }
  if (is_root_user() && (st.st_uid != x.uid || st.st_gid != x.gid))
    return "owner " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + ", the layer has " +
           std::to_string(x.uid) + ":" + std::to_string(x.gid);
  if (x.type == 'f') {
    if (st.st_size != x.size) return std::to_string(st.st_size) + " bytes, the layer has " + std::to_string(x.size);
    auto sha = hash_file(rootfd, rel, shown_root + "/" + rel);
    if (!sha) return sha.error().message;
    if (*sha != x.sha) return "content differs from the layer";
  } else if (x.type == 'l') {
    std::string target(4097, '\0');
    ssize_t n = ::readlinkat(rootfd, rel.c_str(), target.data(), target.size());
    if (n < 0) return std::string("readlink: ") + std::strerror(errno);
    target.resize(static_cast<std::size_t>(n));
    if (target != x.link) return "symlink to \"" + target + "\", the layer has \"" + x.link + "\"";
  }
  return {};
}

void check_whiteouts_and_opaque(int rootfd, const fs::path& dir, const LayerState& s, Problems& p) {
  for (const auto& w : s.whiteouts) {
    if (p.full()) return;
    if (s.want.count(w)) continue;  // the same layer re-creates it
    struct stat st;
    if (::fstatat(rootfd, w.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !is_whiteout_node(st))
      p.add(w, "the layer deletes it but the snapshot has no whiteout");
  }
  for (const auto& o : s.opaque) {
    if (p.full()) return;
    std::string path = o.empty() ? dir.string() : dir.string() + "/" + o;
    char v[2];
    ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v);
    if (n < 0) n = ::lgetxattr(path.c_str(), "user.overlay.opaque", v, sizeof v);
    if (n == 1 && v[0] == 'y') continue;
    if (is_root_user()) p.add(o, "the layer makes it opaque but the snapshot does not");
  }
}

// The names in directory `dfd` (without "." and ".."). Errors: opendir.
Result<std::vector<std::string>> list_dir(int dfd) {
  int dup = ::dup(dfd);
  DIR* dp = dup < 0 ? nullptr : ::fdopendir(dup);
  if (!dp) {
    int err = errno;
    if (dup >= 0) ::close(dup);
    return Error{std::string("opendir: ") + std::strerror(err)};
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(dp)) {
    const char* n = de->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    names.emplace_back(n);
  }
  ::closedir(dp);
  return names;
}

// Whiteouts in the snapshot the layer does not have. Other extra content is no
// sign of damage (an unpack writes only what the tar has), and an adopted
// upperdir legitimately keeps what its layer leaves out: runtime-made mount
// points and secret targets (with content).
void check_extra_whiteouts(int rootfd, const LayerState& s, Problems& p) {
  std::vector<std::string> todo{""};
  while (!todo.empty() && !p.full()) {
    std::string d = todo.back();
    todo.pop_back();
    Fd dfd(d.empty() ? ::dup(rootfd) : ::openat(rootfd, d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dfd.fd < 0) {
      p.add(d, std::string("open: ") + std::strerror(errno));
      continue;
    }
    auto names = list_dir(dfd.fd);
    if (!names) {
      p.add(d, names.error().message);
      continue;
    }
    for (const auto& n : *names) {
      std::string rel = join(d, n);
      struct stat st;
      if (::fstatat(dfd.fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) todo.push_back(rel);
      if (!s.want.count(rel) && is_whiteout_node(st) && !s.whiteouts.count(rel))
        p.add(rel, "a whiteout the layer does not have");
    }
  }
}

}  // namespace

Result<std::vector<std::string>> verify_snapshot(const fs::path& layer, const fs::path& dir, std::size_t max_problems) {
  Problems p{{}, max_problems};
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.fd < 0) {
    p.list.push_back(util::sys_error("open", dir.string()).message);
    return p.list;
  }
  MKIMAGE_TRY(LayerState s, read_layer(layer));
  for (const auto& [rel, x] : s.want) {
    if (p.full()) break;
    std::string why = check_path(root.fd, rel, x, dir.string());
    if (!why.empty()) p.add(rel, why);
  }
  check_whiteouts_and_opaque(root.fd, dir, s, p);
  check_extra_whiteouts(root.fd, s, p);
  return p.list;
}

}  // namespace mkimage::store
