#include "store/layer_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "store/archive_error.hpp"
#include "util/fd.hpp"
#include "util/sha256.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

Result<void> FdSink::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(m_fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("write", m_name);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

bool layer_path_less(std::string_view a, std::string_view b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (x == '/') return true;
    if (y == '/') return false;
    return x < y;
  }
  return a.size() < b.size();
}

bool layer_keeps_xattr(std::string_view name) {
  return !(name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") || name == "security.selinux");
}

namespace {

constexpr std::size_t k_buffer_size = 1 << 20;  // bytes; big writes keep syscalls and hash calls few

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};


// A 4 KiB-aligned byte buffer of a fixed size (O_DIRECT writes need the
// alignment: BlobWriter::use_direct_io). Swappable, not copyable.
class AlignedBuffer {
public:
  explicit AlignedBuffer(std::size_t size) : m_size(size) {
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, size) != 0) throw std::bad_alloc();
    m_data.reset(static_cast<char*>(p));
  }
  char* data() { return m_data.get(); }
  std::size_t size() const { return m_size; }
  friend void swap(AlignedBuffer& a, AlignedBuffer& b) noexcept {
    std::swap(a.m_data, b.m_data);
    std::swap(a.m_size, b.m_size);
  }

private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> m_data;
  std::size_t m_size;
};

// One stage of the tar pipeline: a worker thread runs `work` on each buffer
// pushed to it while the producer fills the next one, as `tar | sha256sum`
// runs in two processes. One buffer in flight; `work` may swap it away (to the
// next stage) since any buffer of the same size comes back.
class PipelineStage {
public:
  using Work = std::function<Result<void>(AlignedBuffer&, std::size_t)>;
  explicit PipelineStage(Work work) : m_work_fn(std::move(work)), m_work(k_buffer_size) {
    m_thread = std::thread([this] { loop(); });
  }
  ~PipelineStage() {
    {
      std::lock_guard lk(m_mu);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  PipelineStage(const PipelineStage&) = delete;
  PipelineStage& operator=(const PipelineStage&) = delete;

  // Hands the first `n` bytes of `buf` to the worker once the previous buffer is
  // done; `buf` comes back as a free buffer (same size). Errors: the work's
  // error for an earlier buffer.
  Result<void> push(AlignedBuffer& buf, std::size_t n) {
    std::unique_lock lk(m_mu);
    m_cv.wait(lk, [&] { return !m_busy; });
    if (m_error) return *m_error;
    swap(m_work, buf);
    m_work_size = n;
    m_busy = true;
    lk.unlock();
    m_cv.notify_all();
    return {};
  }

  // Waits for the buffer in flight.
  Result<void> drain() {
    std::unique_lock lk(m_mu);
    m_cv.wait(lk, [&] { return !m_busy; });
    if (m_error) return *m_error;
    return {};
  }

private:
  void loop() {
    std::unique_lock lk(m_mu);
    for (;;) {
      m_cv.wait(lk, [&] { return m_busy || m_stop; });
      if (!m_busy) return;  // stopping with nothing in flight
      lk.unlock();
      auto r = m_work_fn(m_work, m_work_size);
      lk.lock();
      if (!r && !m_error) m_error = r.error();
      m_busy = false;
      m_cv.notify_all();
    }
  }

  Work m_work_fn;
  AlignedBuffer m_work;
  std::size_t m_work_size = 0;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_busy = false;
  bool m_stop = false;
  std::optional<Error> m_error;
  std::thread m_thread;
};

// The second half of the tar pipeline: one thread hashes each full buffer (the
// diff_id), another writes it to the sink, so hashing never waits for the disk
// (a blob written with O_DIRECT waits for the device on each write).
class HashAndSinkStage {
public:
  explicit HashAndSinkStage(ByteSink& sink)
      : m_sink_stage([out = &sink](AlignedBuffer& b, std::size_t n) { return out->write(b.data(), n); }),
        m_hash_stage([this](AlignedBuffer& b, std::size_t n) {
          m_hash.update(b.data(), n);
          return m_sink_stage.push(b, n);
        }) {}

  Result<void> push(AlignedBuffer& buf, std::size_t n) { return m_hash_stage.push(buf, n); }
  // Waits for both stages; then hash() is complete and every byte is in the sink.
  Result<void> drain() {
    MKIMAGE_TRY_VOID(m_hash_stage.drain());
    return m_sink_stage.drain();
  }
  util::Sha256& hash() { return m_hash; }

private:
  util::Sha256 m_hash;
  PipelineStage m_sink_stage;  // declared before the hash stage: joined after it
  PipelineStage m_hash_stage;
};

// libarchive PAX writer whose output is hashed and passed to a ByteSink through
// 1 MiB buffers (HashAndSinkStage).
class TarOut {
public:
  TarOut(ByteSink& sink, const LayerWriteOptions& options) : m_stage(sink), m_options(options) {}
  // An unfinished archive is dropped without writing its trailer to the sink.
  ~TarOut() {
    m_dropping = true;
    m_archive.reset();
  }
  TarOut(const TarOut&) = delete;
  TarOut& operator=(const TarOut&) = delete;

  Result<void> open() {
    m_archive.reset(archive_write_new());
    archive* a = m_archive.get();
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") < ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK) {
      return Error{std::string("layer tar: ") + archive_error_text(a)};
    }
    if (archive_write_open(a, this, nullptr, &TarOut::write_cb, nullptr) != ARCHIVE_OK) {
      return failure("open");
    }
    return {};
  }

  // Writes one header; the entry's data (if any) follows with data().
  Result<void> header(archive_entry* e) {
    int r = archive_write_header(m_archive.get(), e);
    if (r < ARCHIVE_WARN) return failure(std::string("header of \"") + archive_entry_pathname(e) + "\"");
    ++m_entries;
    return {};
  }

  Result<void> data(const void* p, std::size_t n) {
    la_ssize_t r = archive_write_data(m_archive.get(), p, n);
    if (r < 0) return failure("data");
    return {};
  }

  // Reads up to `max` bytes of the current entry's data from `fd` straight into
  // the output buffer and writes them as data(): libarchive's PAX writer hands
  // data through to write_cb unchanged (no blocking), which sees the bytes are
  // already in place and skips the copy. Returns the bytes read (0 at EOF).
  Result<std::size_t> data_from_fd(int fd, std::int64_t max, const std::string& path) {
    if (m_used == m_buf.size()) MKIMAGE_TRY_VOID(flush());
    std::size_t room = m_buf.size() - m_used;
    std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(max, static_cast<std::int64_t>(room)));
    ssize_t n;
    do {
      n = ::read(fd, m_buf.data() + m_used, want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return util::sys_error("read", path);
    if (n > 0) MKIMAGE_TRY_VOID(data(m_buf.data() + m_used, static_cast<std::size_t>(n)));
    return static_cast<std::size_t>(n);
  }

  Result<void> whiteout(const std::string& name) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0);
    archive_entry_set_size(e.get(), 0);
    archive_entry_set_mtime(e.get(), 0, 0);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    return header(e.get());
  }

  Result<WrittenLayer> finish() {
    if (archive_write_close(m_archive.get()) != ARCHIVE_OK) return failure("close");
    if (m_error) return *m_error;
    MKIMAGE_TRY_VOID(flush());
    MKIMAGE_TRY_VOID(m_stage.drain());
    WrittenLayer w;
    w.diff_id = DiffId{Digest::from_bytes(m_stage.hash().finish())};
    w.size = m_size;
    w.entries = m_entries;
    return w;
  }

  std::int64_t clamp_mtime(std::int64_t t) const {
    if (m_options.source_date_epoch && t > *m_options.source_date_epoch) return *m_options.source_date_epoch;
    return t;
  }

private:
  static la_ssize_t write_cb(archive*, void* ctx, const void* buf, size_t n) {
    auto* self = static_cast<TarOut*>(ctx);
    if (self->m_dropping) return static_cast<la_ssize_t>(n);
    auto r = self->append(buf, n);
    if (!r) {
      self->m_error = r.error();
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  Result<void> append(const void* p, std::size_t n) {
    const char* c = static_cast<const char*>(p);
    if (c == m_buf.data() + m_used && n <= m_buf.size() - m_used) {  // data_from_fd's bytes
      m_used += n;
      if (m_used == m_buf.size()) MKIMAGE_TRY_VOID(flush());
      return {};
    }
    while (n > 0) {
      std::size_t k = std::min(n, m_buf.size() - m_used);
      std::memcpy(m_buf.data() + m_used, c, k);
      m_used += k;
      c += k;
      n -= k;
      if (m_used == m_buf.size()) MKIMAGE_TRY_VOID(flush());
    }
    return {};
  }

  Result<void> flush() {
    if (m_used == 0) return {};
    m_size += static_cast<std::int64_t>(m_used);
    auto r = m_stage.push(m_buf, m_used);
    m_used = 0;
    return r;
  }

  Error failure(const std::string& what) {
    if (m_error) return *m_error;
    const char* msg = archive_error_string(m_archive.get());
    return Error{"layer tar: " + what + ": " + (msg ? msg : "libarchive error")};
  }

  HashAndSinkStage m_stage;  // joined after m_archive is freed (declared first, destroyed last)
  const LayerWriteOptions& m_options;
  std::unique_ptr<archive, ArchiveWriteDeleter> m_archive;
  AlignedBuffer m_buf{k_buffer_size};
  std::size_t m_used = 0;
  std::int64_t m_size = 0;
  std::int64_t m_entries = 0;
  std::optional<Error> m_error;
  bool m_dropping = false;
};

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator==(const InodeKey&) const = default;
};
struct InodeHash {
  std::size_t operator()(const InodeKey& k) const { return std::hash<std::uint64_t>()(k.ino * 31 + k.dev); }
};

enum class SourceKind { dir, upperdir, changes };

// Reads xattr names and values of one filesystem object. `fd` >= 0 uses f*xattr,
// otherwise l*xattr on `path`. Returns (name, value) sorted by name.
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(int fd, const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  char small[1024];
  std::vector<char> names;
  ssize_t n = fd >= 0 ? ::flistxattr(fd, small, sizeof small) : ::llistxattr(path.c_str(), small, sizeof small);
  if (n < 0 && errno == ERANGE) {
    ssize_t want = fd >= 0 ? ::flistxattr(fd, nullptr, 0) : ::llistxattr(path.c_str(), nullptr, 0);
    if (want < 0) return util::sys_error("listxattr", path);
    names.resize(static_cast<std::size_t>(want));
    n = fd >= 0 ? ::flistxattr(fd, names.data(), names.size()) : ::llistxattr(path.c_str(), names.data(), names.size());
  } else if (n > 0) {
    names.assign(small, small + n);
  }
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return util::sys_error("listxattr", path);
  }
  names.resize(static_cast<std::size_t>(n));
  std::size_t i = 0;
  while (i < names.size()) {
    std::string name(names.data() + i);
    i += name.size() + 1;
    if (name.empty()) continue;
    std::string value;
    value.resize(256);
    for (;;) {
      ssize_t v = fd >= 0 ? ::fgetxattr(fd, name.c_str(), value.data(), value.size())
                          : ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (v >= 0) {
        value.resize(static_cast<std::size_t>(v));
        break;
      }
      if (errno == ERANGE) {
        value.resize(value.size() * 4);
        if (value.size() > (1u << 22)) return util::sys_error("getxattr " + name, path);
        continue;
      }
      if (errno == ENODATA) {
        value.clear();
        name.clear();
        break;
      }
      return util::sys_error("getxattr " + name, path);
    }
    if (!name.empty()) out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int open_file_noatime(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

// Walks a tree (or a list of changes) and writes the entries.
class LayerWalker {
public:
  LayerWalker(TarOut& out, SourceKind kind, std::string root) : m_out(out), m_kind(kind), m_root(std::move(root)) {}

  void set_excludes(const std::vector<std::string>& excludes) {
    for (auto p : excludes) {
      while (!p.empty() && p.front() == '/') p.erase(0, 1);
      while (!p.empty() && p.back() == '/') p.pop_back();
      if (!p.empty()) m_excludes.insert(p);
    }
  }

  // Writes every child of the directory open as `dirfd`; `prefix` is its tar path
  // with a trailing "/" ("" for the root). Depth first, children in name order,
  // with a stack of open directories rather than recursion: a tree as deep as
  // PATH_MAX allows must not depend on the thread's stack size.
  Result<void> walk_dir(int dirfd, const std::string& prefix) {
    struct Level {
      int fd;
      util::Fd owner;  // -1 for the caller's directory
      std::string prefix;
      std::vector<std::string> names;
      std::size_t next = 0;
      Level(int f, int owned, std::string p) : fd(f), owner(owned), prefix(std::move(p)) {}
    };
    std::vector<std::unique_ptr<Level>> stack;
    stack.push_back(std::make_unique<Level>(dirfd, -1, prefix));
    MKIMAGE_TRY(stack.back()->names, list_dir(dirfd, prefix));
    while (!stack.empty()) {
      Level& top = *stack.back();
      if (top.next == top.names.size()) {
        stack.pop_back();
        continue;
      }
      const std::string& name = top.names[top.next++];
      std::string rel = top.prefix + name;
      if (!m_excludes.empty() && m_excludes.count(rel)) continue;
      int sub = -1;
      MKIMAGE_TRY_VOID(entry_at(top.fd, name, rel, &sub));
      if (sub >= 0) {
        stack.push_back(std::make_unique<Level>(sub, sub, rel + "/"));
        MKIMAGE_TRY(stack.back()->names, list_dir(sub, stack.back()->prefix));
      }
    }
    return {};
  }

  // The names in the directory open as `dirfd` (tar path `prefix`), sorted.
  Result<std::vector<std::string>> list_dir(int dirfd, const std::string& prefix) {
    int dup = ::dup(dirfd);
    if (dup < 0) return util::sys_error("dup", full(prefix));
    DIR* d = ::fdopendir(dup);
    if (!d) {
      ::close(dup);
      return util::sys_error("opendir", full(prefix));
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* de = ::readdir(d)) {
      const char* n = de->d_name;
      if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
      names.emplace_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err) return util::sys_error("readdir", full(prefix), err);
    std::sort(names.begin(), names.end());
    return names;
  }

  // Writes the entry `name` in `dirfd` whose tar path is `rel`. For a directory,
  // when `subdir` is given, hands its open descriptor over there (the caller
  // walks it and closes it); otherwise the directory's children are not written.
  Result<void> entry_at(int dirfd, const std::string& name, const std::string& rel, int* subdir) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return util::sys_error("lstat", full(rel));

    if (S_ISSOCK(st.st_mode)) return {};
    if (m_kind == SourceKind::upperdir && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      return m_out.whiteout(parent_of(rel) + ".wh." + name);
    }

    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_mtime(e.get(), m_out.clamp_mtime(st.st_mtim.tv_sec), 0);

    util::Fd fd(-1);
    std::vector<std::pair<std::string, std::string>> xattrs;
    bool opaque = false;

    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto [it, inserted] = m_links.try_emplace(InodeKey{st.st_dev, st.st_ino}, rel);
        if (!inserted) {
          archive_entry_set_pathname(e.get(), rel.c_str());
          archive_entry_set_hardlink(e.get(), it->second.c_str());
          archive_entry_set_size(e.get(), 0);
          return m_out.header(e.get());
        }
      }
      fd.reset(open_file_noatime(dirfd, name.c_str()));
      if (fd.fd < 0) return util::sys_error("open", full(rel));
      MKIMAGE_TRY(xattrs, read_xattrs(fd.fd, full(rel)));
      archive_entry_set_pathname(e.get(), rel.c_str());
      archive_entry_set_size(e.get(), st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      fd.reset(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.fd < 0) return util::sys_error("open", full(rel));
      MKIMAGE_TRY(xattrs, read_xattrs(fd.fd, full(rel)));
      archive_entry_set_pathname(e.get(), (rel + "/").c_str());
      archive_entry_set_size(e.get(), 0);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) return util::sys_error("readlink", full(rel));
      if (static_cast<std::size_t>(n) >= target.size()) return Error{"readlink \"" + full(rel) + "\": target changed while reading"};
      target.resize(static_cast<std::size_t>(n));
      MKIMAGE_TRY(xattrs, read_xattrs(-1, full(rel)));
      archive_entry_set_pathname(e.get(), rel.c_str());
      archive_entry_set_symlink(e.get(), target.c_str());
      archive_entry_set_size(e.get(), 0);
    } else {  // character/block device, fifo
      MKIMAGE_TRY(xattrs, read_xattrs(-1, full(rel)));
      archive_entry_set_pathname(e.get(), rel.c_str());
      archive_entry_set_size(e.get(), 0);
      if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) archive_entry_set_rdev(e.get(), st.st_rdev);
    }

    for (const auto& [xname, value] : xattrs) {
      if (xname.starts_with("trusted.overlay.") || xname.starts_with("user.overlay.")) {
        std::string_view key = std::string_view(xname).substr(xname[0] == 't' ? 16 : 13);
        if (m_kind == SourceKind::dir) continue;
        if (key == "opaque") {
          opaque = S_ISDIR(st.st_mode) && value == "y";
        } else if (key == "redirect" || key == "metacopy") {
          return Error{"layer from overlay upperdir: \"" + full(rel) + "\" has " + xname +
                       " (mount the overlay without redirect_dir and metacopy)"};
        }
        continue;
      }
      if (!layer_keeps_xattr(xname)) continue;
      archive_entry_xattr_add_entry(e.get(), xname.c_str(), value.data(), value.size());
    }

    MKIMAGE_TRY_VOID(m_out.header(e.get()));
    if (S_ISREG(st.st_mode)) MKIMAGE_TRY_VOID(copy_data(fd.fd, st.st_size, rel));
    if (S_ISDIR(st.st_mode)) {
      if (opaque) MKIMAGE_TRY_VOID(m_out.whiteout(rel + "/.wh..wh..opq"));
      if (subdir) *subdir = fd.release();
    }
    return {};
  }

private:
  Result<void> copy_data(int fd, std::int64_t size, const std::string& rel) {
    std::int64_t left = size;
    while (left > 0) {
      MKIMAGE_TRY(std::size_t n, m_out.data_from_fd(fd, left, full(rel)));
      if (n == 0) break;  // the file shrank: padded with zeros below
      left -= static_cast<std::int64_t>(n);
    }
    if (left > 0) {
      // Keep the tar consistent with the declared size; the result is still a valid tar.
      m_data.assign(k_buffer_size, 0);
      while (left > 0) {
        std::size_t k = static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(m_data.size())));
        MKIMAGE_TRY_VOID(m_out.data(m_data.data(), k));
        left -= static_cast<std::int64_t>(k);
      }
    }
    return {};
  }

  static std::string parent_of(const std::string& rel) {
    auto slash = rel.rfind('/');
    return slash == std::string::npos ? std::string() : rel.substr(0, slash + 1);
  }

  std::string full(const std::string& rel) const { return rel.empty() ? m_root : m_root + "/" + rel; }

  TarOut& m_out;
  SourceKind m_kind;
  std::string m_root;
  std::set<std::string> m_excludes;
  std::unordered_map<InodeKey, std::string, InodeHash> m_links;
  std::vector<char> m_data;  // zeros for a file that shrank while read
};

std::string normalize_rel(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (p.starts_with("./")) p.erase(0, 2);
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

Result<WrittenLayer> write_tree(const fs::path& dir, SourceKind kind, const std::vector<std::string>& excludes,
                                ByteSink& out, const LayerWriteOptions& options) {
  int root = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return util::sys_error("open", dir.string());
  util::Fd closer(root);
  TarOut tar(out, options);
  MKIMAGE_TRY_VOID(tar.open());
  LayerWalker walker(tar, kind, dir.string());
  walker.set_excludes(excludes);
  MKIMAGE_TRY_VOID(walker.walk_dir(root, ""));
  return tar.finish();
}

}  // namespace

Result<WrittenLayer> write_layer_from_dir(const fs::path& dir, ByteSink& out, const LayerWriteOptions& options) {
  return write_tree(dir, SourceKind::dir, {}, out, options);
}

Result<WrittenLayer> write_layer_from_upperdir(const fs::path& upperdir, const std::vector<std::string>& excludes,
                                               ByteSink& out, const LayerWriteOptions& options) {
  return write_tree(upperdir, SourceKind::upperdir, excludes, out, options);
}

Result<WrittenLayer> write_layer_from_changes(const fs::path& root, std::vector<LayerChange> changes, ByteSink& out,
                                              const LayerWriteOptions& options) {
  for (auto& c : changes) {
    c.path = normalize_rel(c.path);
    if (c.path.empty()) return Error{"layer change with an empty path"};
    for (std::string_view part : {std::string_view("/../"), std::string_view("/./")}) {
      if (("/" + c.path + "/").find(part) != std::string::npos) return Error{"layer change path \"" + c.path + "\" has . or .."};
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const LayerChange& a, const LayerChange& b) { return layer_path_less(a.path, b.path); });
  for (std::size_t i = 1; i < changes.size(); ++i) {
    if (changes[i].path == changes[i - 1].path) return Error{"layer change \"" + changes[i].path + "\" listed twice"};
  }
  int rootfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return util::sys_error("open", root.string());
  util::Fd closer(rootfd);
  TarOut tar(out, options);
  MKIMAGE_TRY_VOID(tar.open());
  LayerWalker walker(tar, SourceKind::changes, root.string());
  for (const auto& c : changes) {
    auto slash = c.path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : c.path.substr(0, slash);
    std::string base = slash == std::string::npos ? c.path : c.path.substr(slash + 1);
    if (c.kind == LayerChange::Kind::remove) {
      MKIMAGE_TRY_VOID(tar.whiteout((parent.empty() ? "" : parent + "/") + ".wh." + base));
      continue;
    }
    // Open the parent without following symlinks, so a change never reads outside root.
    int dirfd = rootfd;
    util::Fd parent_fd(-1);
    if (!parent.empty()) {
      std::size_t start = 0;
      int cur = rootfd;
      util::Fd holder(-1);
      while (start <= parent.size()) {
        auto end = parent.find('/', start);
        if (end == std::string::npos) end = parent.size();
        std::string comp = parent.substr(start, end - start);
        int next = ::openat(cur, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) return util::sys_error("open", (root / parent).string());
        holder.reset(next);
        cur = next;
        start = end + 1;
      }
      parent_fd = std::move(holder);
      dirfd = parent_fd.fd;
    }
    MKIMAGE_TRY_VOID(walker.entry_at(dirfd, base, c.path, nullptr));
  }
  return tar.finish();
}

}  // namespace mkimage::store
