#include "store/root.hpp"

#include "util/json_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "store/layer_writer.hpp"
#include "store/media_type.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

util::Result<fs::path> default_root(const std::string& option) {
  if (!option.empty()) return fs::path(option);
  if (const char* env = std::getenv("MKIMAGE_ROOT"); env && *env) return fs::path(env);
  if (geteuid() == 0) return fs::path("/var/lib/mkimage");
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "mkimage";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local/share/mkimage";
  return util::Error{"cannot choose a store root: HOME is not set (use --root or MKIMAGE_ROOT)"};
}

namespace {

util::Result<void> make_dir(const fs::path& p, mode_t mode) {
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) return util::sys_error("mkdir", p.string());
  return {};
}

util::Result<void> make_dirs(const fs::path& p, mode_t mode) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) return {};
  if (p.has_parent_path() && p.parent_path() != p) MKIMAGE_TRY_VOID(make_dirs(p.parent_path(), 0755));
  return make_dir(p, mode);
}

}  // namespace

util::Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open", dir.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return util::sys_error("fsync", dir.string(), err);
  return {};
}

util::Result<void> write_file_atomic(const fs::path& path, std::string_view bytes, unsigned mode,
                                     RenameDurability durability) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return util::sys_error("create temp file", tmpl);
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return util::sys_error(what, tmpl, err);
  };
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) return fail("chmod");
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return util::sys_error("close", tmpl, err);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return util::sys_error("rename to", path.string(), err);
  }
  if (durability == RenameDurability::rename_may_be_lost) return {};
  return fsync_dir(dir);
}

util::Result<std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::sys_error("open", path.string());
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return util::sys_error("read", path.string(), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

util::Result<void> copy_fd_to_file(int in, const std::string& in_name, const fs::path& dest) {
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return util::sys_error("create", dest.string());
  FdSink sink(fd, dest.string());
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return util::sys_error("read", in_name, err);
    }
    if (n == 0) break;
    auto w = sink.write(buf.data(), static_cast<std::size_t>(n));
    if (!w) {
      ::close(fd);
      return w.error();
    }
  }
  if (::close(fd) != 0) return util::sys_error("close", dest.string());
  return {};
}

namespace {

// Like write_file_atomic() but never replaces an existing file (link(2) of the
// complete temp file fails with EEXIST, which is success here). The file is
// on disk before its name appears, but the name itself is not synced: the
// root's two files are made again by the next open when a machine crash lost
// them (oci-layout is constant, the empty index.json mirrors no row yet), so
// a new store costs two fsyncs here, not six.
util::Result<void> create_file_exclusive(const fs::path& path, std::string_view bytes) {
  fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".new-" + std::to_string(::getpid()));
  MKIMAGE_TRY_VOID(write_file_atomic(tmp, bytes, 0644, RenameDurability::rename_may_be_lost));
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) return util::sys_error("link", path.string(), err);
  return {};
}

}  // namespace

util::Result<Root> Root::open(const fs::path& dir) {
  Root r;
  r.m_dir = fs::absolute(dir).lexically_normal();
  if (r.m_dir.has_filename() == false && r.m_dir.has_parent_path()) r.m_dir = r.m_dir.parent_path();
  MKIMAGE_TRY_VOID(make_dirs(r.m_dir, 0700));
  MKIMAGE_TRY_VOID(make_dir(r.m_dir / "blobs", 0755));
  MKIMAGE_TRY_VOID(make_dir(r.blobs_dir(), 0755));
  MKIMAGE_TRY_VOID(make_dir(r.tmp_dir(), 0700));
  MKIMAGE_TRY_VOID(make_dir(r.snapshots_dir(), 0700));
  MKIMAGE_TRY_VOID(make_dir(r.containers_dir(), 0700));

  std::error_code ec;
  if (fs::exists(r.oci_layout(), ec)) {
    MKIMAGE_TRY(std::string text, read_file(r.oci_layout()));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("imageLayoutVersion") || !j["imageLayoutVersion"].is_string() ||
        j["imageLayoutVersion"].get<std::string>() != media_types::oci_layout_version) {
      return util::Error{"store root \"" + r.m_dir.string() + "\": oci-layout is not imageLayoutVersion " +
                         std::string(media_types::oci_layout_version)};
    }
  } else {
    nlohmann::json j = {{"imageLayoutVersion", media_types::oci_layout_version}};
    MKIMAGE_TRY_VOID(create_file_exclusive(r.oci_layout(), util::json_text(j)));
  }
  if (!fs::exists(r.index_json(), ec)) {
    nlohmann::json j = {{"schemaVersion", 2},
                        {"mediaType", media_types::oci_index},
                        {"manifests", nlohmann::json::array()}};
    // Exclusive: a concurrent opener may already have written a tagged index.json.
    MKIMAGE_TRY_VOID(create_file_exclusive(r.index_json(), util::json_text(j)));
  }
  return r;
}

}  // namespace mkimage::store
