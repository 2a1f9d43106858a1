#include "store/blob_store.hpp"

#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>

#include "store/owner.hpp"
#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_buffer_size = 1 << 20;  // bytes buffered before write(2)

util::Result<void> write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("write", path.string());
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

// Streams a file through sha256, optionally copying it to `out_fd`.
util::Result<BlobInfo> hash_fd(int fd, const fs::path& path, BlobWriter* out) {
  util::Sha256 h;
  std::string buf(k_buffer_size, '\0');
  std::int64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("read", path.string());
    }
    if (n == 0) break;
    if (out) {
      MKIMAGE_TRY_VOID(out->write(buf.data(), static_cast<std::size_t>(n)));
    } else {
      h.update(buf.data(), static_cast<std::size_t>(n));
    }
    total += n;
  }
  BlobInfo info;
  info.size = total;
  if (!out) info.digest = Digest::from_bytes(h.finish());
  return info;
}

}  // namespace

// ---- BlobWriter ----

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : m_blobs_dir(std::move(o.m_blobs_dir)),
      m_tmp_path(std::move(o.m_tmp_path)),
      m_fd(o.m_fd),
      m_buffer(std::move(o.m_buffer)),
      m_hash(std::move(o.m_hash)),
      m_hashing(o.m_hashing),
      m_size(o.m_size),
      m_on_disk(o.m_on_disk),
      m_writeback(o.m_writeback),
      m_done(o.m_done),
      m_direct(o.m_direct),
      m_fd_direct(o.m_fd_direct) {
  o.m_fd = -1;
  o.m_done = true;
}

BlobWriter& BlobWriter::operator=(BlobWriter&& o) noexcept {
  if (this != &o) {
    abort();
    m_blobs_dir = std::move(o.m_blobs_dir);
    m_tmp_path = std::move(o.m_tmp_path);
    m_fd = o.m_fd;
    m_buffer = std::move(o.m_buffer);
    m_hash = std::move(o.m_hash);
    m_hashing = o.m_hashing;
    m_size = o.m_size;
    m_on_disk = o.m_on_disk;
    m_writeback = o.m_writeback;
    m_done = o.m_done;
    m_direct = o.m_direct;
    m_fd_direct = o.m_fd_direct;
    o.m_fd = -1;
    o.m_done = true;
  }
  return *this;
}

BlobWriter::~BlobWriter() { abort(); }

void BlobWriter::abort() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
  if (!m_done && !m_tmp_path.empty()) ::unlink(m_tmp_path.c_str());
  m_done = true;
}

util::Result<void> BlobWriter::flush() {
  if (m_buffer.empty()) return {};
  MKIMAGE_TRY_VOID(write_all(m_fd, m_buffer.data(), m_buffer.size(), m_tmp_path));
  m_on_disk += static_cast<std::int64_t>(m_buffer.size());
  m_buffer.clear();
  start_writeback();
  return {};
}

void BlobWriter::start_writeback() {
  constexpr std::int64_t k_batch = 8 << 20;
  if (m_on_disk - m_writeback < k_batch) return;
  // Best effort: an error here shows again in commit()'s fsync.
  (void)::sync_file_range(m_fd, m_writeback, m_on_disk - m_writeback, SYNC_FILE_RANGE_WRITE);
  m_writeback = m_on_disk;
}

util::Result<bool> BlobWriter::write_direct(const char* data, std::size_t size) {
  constexpr std::size_t k_block = 4096;
  bool aligned = m_buffer.empty() && size > 0 && size % k_block == 0 &&
                 reinterpret_cast<std::uintptr_t>(data) % k_block == 0 && m_on_disk % k_block == 0;
  if (!m_direct || !aligned) {
    if (m_fd_direct) {  // back to buffered writes (a tail, an unaligned caller)
      int fl = ::fcntl(m_fd, F_GETFL);
      if (fl < 0 || ::fcntl(m_fd, F_SETFL, fl & ~O_DIRECT) != 0) return util::sys_error("fcntl", m_tmp_path.string());
      m_fd_direct = false;
    }
    return false;
  }
  if (!m_fd_direct) {
    int fl = ::fcntl(m_fd, F_GETFL);
    if (fl < 0 || ::fcntl(m_fd, F_SETFL, fl | O_DIRECT) != 0) {  // EINVAL: the filesystem has no O_DIRECT
      m_direct = false;
      return false;
    }
    m_fd_direct = true;
  }
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(m_fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && done == 0) {  // refused at write time: buffered from now on
      m_direct = false;
      return write_direct(data, size);
    }
    if (n < 0) return util::sys_error("write", m_tmp_path.string());
    done += static_cast<std::size_t>(n);
    if (done % k_block != 0 && done < size) {  // a short write left the offset unaligned
      m_on_disk += static_cast<std::int64_t>(done);
      m_writeback = m_on_disk;
      m_direct = false;
      MKIMAGE_TRY(bool direct, write_direct(data + done, size - done));
      (void)direct;
      MKIMAGE_TRY_VOID(write_all(m_fd, data + done, size - done, m_tmp_path));
      m_on_disk += static_cast<std::int64_t>(size - done);
      return true;
    }
  }
  m_on_disk += static_cast<std::int64_t>(size);
  m_writeback = m_on_disk;  // on the device already: no writeback to start
  return true;
}

util::Result<void> BlobWriter::write(const void* data, std::size_t size) {
  if (m_done) return util::Error{"write to a finished blob \"" + m_tmp_path.string() + "\""};
  const char* p = static_cast<const char*>(data);
  if (m_hashing) m_hash.update(p, size);
  m_size += static_cast<std::int64_t>(size);
  MKIMAGE_TRY(bool direct, write_direct(p, size));
  if (direct) return {};
  if (m_buffer.size() + size > k_buffer_size) {
    MKIMAGE_TRY_VOID(flush());
    if (size >= k_buffer_size) {
      MKIMAGE_TRY_VOID(write_all(m_fd, p, size, m_tmp_path));
      m_on_disk += static_cast<std::int64_t>(size);
      start_writeback();
      return {};
    }
  }
  m_buffer.append(p, size);
  return {};
}

util::Result<BlobInfo> BlobWriter::commit(std::optional<Digest> expected, std::optional<std::int64_t> expected_size) {
  return commit_impl(expected, expected_size, true);
}

util::Result<BlobInfo> BlobWriter::commit_impl(std::optional<Digest> expected, std::optional<std::int64_t> expected_size,
                                               bool sync_dir) {
  if (m_done) return util::Error{"commit of a finished blob \"" + m_tmp_path.string() + "\""};
  auto fail = [&](util::Error e) -> util::Result<BlobInfo> {
    abort();
    return e;
  };
  if (auto r = flush(); !r) return fail(r.error());
  BlobInfo info;
  if (m_hashing) {
    info.digest = Digest::from_bytes(m_hash.finish());
  } else {
    if (!expected) return fail(util::Error{"commit of a caller-hashed blob without its digest"});
    info.digest = *expected;
  }
  info.size = m_size;
  if (expected && *expected != info.digest) {
    return fail(util::Error{"blob digest mismatch: expected " + expected->str() + ", got " + info.digest.str()});
  }
  if (expected_size && *expected_size != info.size) {
    return fail(util::Error{"blob " + info.digest.str() + " size mismatch: expected " +
                            std::to_string(*expected_size) + " bytes, got " + std::to_string(info.size)});
  }
  fs::path final_path = m_blobs_dir / info.digest.hex();
  std::error_code ec;
  if (fs::exists(final_path, ec)) {
    info.existed = true;
    abort();
    return info;
  }
  if (::fchmod(m_fd, 0444) != 0) return fail(util::sys_error("chmod", m_tmp_path.string()));
  if (::fsync(m_fd) != 0) return fail(util::sys_error("fsync", m_tmp_path.string()));
  int closed = ::close(m_fd);
  m_fd = -1;
  if (closed != 0) return fail(util::sys_error("close", m_tmp_path.string()));
  // link(2) never replaces an existing blob, even if another process wins the race.
  if (::link(m_tmp_path.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    if (err != EEXIST) return fail(util::sys_error("link blob", final_path.string(), err));
    info.existed = true;
  }
  ::unlink(m_tmp_path.c_str());
  m_done = true;
  if (!info.existed && sync_dir) MKIMAGE_TRY_VOID(fsync_dir(m_blobs_dir));
  return info;
}

// ---- BlobStore ----

util::Result<BlobWriter> BlobStore::writer(BlobHashing hashing) const {
  BlobWriter w;
  w.m_hashing = hashing == BlobHashing::writer;
  w.m_blobs_dir = m_root.blobs_dir();
  std::string tmpl = temp_template(m_root.tmp_dir(), "blob");
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return util::sys_error("create temp file", tmpl);
  w.m_fd = fd;
  w.m_tmp_path = tmpl;
  w.m_buffer.reserve(k_buffer_size);
  return w;
}

util::Result<std::vector<BlobInfo>> BlobStore::put_all(const std::vector<std::string_view>& items) const {
  std::vector<BlobInfo> out;
  bool linked = false;
  for (std::string_view bytes : items) {
    Digest d = Digest::sha256_of(bytes);
    BlobInfo info{d, static_cast<std::int64_t>(bytes.size()), true};
    if (!exists(d)) {
      MKIMAGE_TRY(BlobWriter w, writer(BlobHashing::caller));
      MKIMAGE_TRY_VOID(w.write(bytes));
      // Each file's data is synced before its link (commit_impl); the links
      // are made durable together by the one directory fsync below.
      MKIMAGE_TRY(info, w.commit_impl(d, info.size, false));
      linked = linked || !info.existed;
    }
    out.push_back(info);
  }
  if (linked) MKIMAGE_TRY_VOID(fsync_dir(m_root.blobs_dir()));
  return out;
}

util::Result<BlobInfo> BlobStore::put(std::string_view bytes, std::optional<Digest> expected) const {
  Digest d = Digest::sha256_of(bytes);
  if (expected && *expected != d) {
    return util::Error{"blob digest mismatch: expected " + expected->str() + ", got " + d.str()};
  }
  if (exists(d)) return BlobInfo{d, static_cast<std::int64_t>(bytes.size()), true};
  MKIMAGE_TRY(BlobWriter w, writer());
  MKIMAGE_TRY_VOID(w.write(bytes));
  return w.commit(d, static_cast<std::int64_t>(bytes.size()));
}

util::Result<BlobInfo> BlobStore::put_file(const fs::path& path, std::optional<Digest> expected) const {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open", path.string());
  auto w = writer();
  if (!w) {
    ::close(fd);
    return w.error();
  }
  auto copied = hash_fd(fd, path, &*w);
  ::close(fd);
  if (!copied) return copied.error();
  return w->commit(expected);
}

bool BlobStore::exists(const Digest& d) const {
  struct stat st;
  return ::stat(path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

util::Result<std::int64_t> BlobStore::size(const Digest& d) const {
  struct stat st;
  if (::stat(path(d).c_str(), &st) != 0) return util::sys_error("stat blob", path(d).string());
  return static_cast<std::int64_t>(st.st_size);
}

util::Result<std::string> BlobStore::read(const Digest& d, bool verify) const {
  MKIMAGE_TRY(std::string bytes, read_file(path(d)));
  if (verify && Digest::sha256_of(bytes) != d) {
    return util::Error{"blob " + d.str() + " is corrupt: its content has digest " + Digest::sha256_of(bytes).str()};
  }
  return bytes;
}

util::Result<bool> BlobStore::verify(const Digest& d) const {
  MKIMAGE_TRY(BlobInfo info, hash_file(path(d)));
  return info.digest == d;
}

util::Result<void> BlobStore::remove(const Digest& d) const {
  if (::unlink(path(d).c_str()) != 0 && errno != ENOENT) return util::sys_error("remove blob", path(d).string());
  return {};
}

util::Result<std::vector<Digest>> BlobStore::list() const {
  std::vector<Digest> out;
  DIR* dir = ::opendir(m_root.blobs_dir().c_str());
  if (!dir) return util::sys_error("open directory", m_root.blobs_dir().string());
  while (struct dirent* e = ::readdir(dir)) {
    auto d = Digest::from_hex(e->d_name);
    if (d) out.push_back(*d);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

void BlobStore::sweep_stale_tmp() const {
  // ROOT/tmp/<prefix>-<pid>-<start>-XXXXXX (and the older <prefix>-<pid>-XXXXXX):
  // blob temp files, build/load/import/save work directories (with what a
  // killed build left mounted in them).
  auto lower_dashes = [](std::string_view head) {
    return head.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string_view::npos;
  };
  (void)sweep_dead_owners(m_root.tmp_dir(), lower_dashes);
  // ROOT/tmp/active/snap-<pid>-<start>-XXXXXX: active snapshots (overlay
  // merged mounts) of killed builds, and overlay probes.
  (void)sweep_dead_owners(m_root.tmp_dir() / "active", lower_dashes, false);
  // ROOT/snapshots/.tmp-<hex>-<pid>-<start>-XXXXXX (an unpack's staging) and
  // .trash-<pid>-<start>-XXXXXX (a snapshot being removed).
  (void)sweep_dead_owners(
      m_root.snapshots_dir(),
      [](std::string_view head) { return head.starts_with(".tmp-") || head == ".trash"; }, false);
}

util::Result<BlobInfo> hash_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open", path.string());
  auto r = hash_fd(fd, path, nullptr);
  ::close(fd);
  return r;
}

TempPath::~TempPath() {
  if (!path.empty()) (void)remove_tree(path);
}

std::string temp_template(const fs::path& dir, std::string_view prefix) {
  return (dir / (std::string(prefix) + "-" + owner_tag() + "-XXXXXX")).string();
}

util::Result<fs::path> make_temp_dir(const Root& root, std::string_view prefix) {
  std::error_code ec;
  fs::create_directories(root.tmp_dir(), ec);  // a failure shows up as mkdtemp's error
  std::string tmpl = temp_template(root.tmp_dir(), prefix);
  if (!::mkdtemp(tmpl.data())) return util::sys_error("mkdtemp", tmpl);
  return fs::path(tmpl);
}

}  // namespace mkimage::store
