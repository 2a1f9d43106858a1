// Helpers shared by the layer and archive tests: temp dirs, in-memory sinks,
// reading a tar back into a list of entries.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "store/layer_writer.hpp"

namespace layer_test {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed at the end unless KEEP_TEST_DIRS is set.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mkimage-layer-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    if (!std::getenv("KEEP_TEST_DIRS")) {
      std::error_code ec;
      fs::remove_all(m_path, ec);
    }
  }
  const fs::path& path() const { return m_path; }
  fs::path operator/(const std::string& s) const { return m_path / s; }

private:
  fs::path m_path;
};

class StringSink : public mkimage::store::ByteSink {
public:
  mkimage::util::Result<void> write(const void* data, std::size_t size) override {
    bytes.append(static_cast<const char*>(data), size);
    return {};
  }
  std::string bytes;
};

inline void write_file(const fs::path& p, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  ::chmod(p.c_str(), mode);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TarEntry {
  std::string name;
  char type = '?';  // f d l h c b p
  unsigned mode = 0;  // permission bits (octal 07777)
  long long uid = 0, gid = 0;
  std::string uname, gname;
  long long mtime = 0;
  long mtime_nsec = 0;
  std::string link;
  std::string data;
  dev_t rdev = 0;
  std::map<std::string, std::string> xattrs;
};

inline std::vector<TarEntry> read_tar(const std::string& bytes) {
  std::vector<TarEntry> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    archive_read_free(a);
    throw std::runtime_error("cannot open tar");
  }
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.name = archive_entry_pathname(e);
    if (archive_entry_hardlink(e)) {
      t.type = 'h';
      t.link = archive_entry_hardlink(e);
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG: t.type = 'f'; break;
        case AE_IFDIR: t.type = 'd'; break;
        case AE_IFLNK: t.type = 'l'; t.link = archive_entry_symlink(e); break;
        case AE_IFCHR: t.type = 'c'; break;
        case AE_IFBLK: t.type = 'b'; break;
        case AE_IFIFO: t.type = 'p'; break;
      }
    }
    t.mode = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    if (archive_entry_uname(e)) t.uname = archive_entry_uname(e);
    if (archive_entry_gname(e)) t.gname = archive_entry_gname(e);
    t.mtime = archive_entry_mtime(e);
    t.mtime_nsec = archive_entry_mtime_nsec(e);
    t.rdev = archive_entry_rdev(e);
    archive_entry_xattr_reset(e);
    const char* n;
    const void* v;
    size_t s;
    while (archive_entry_xattr_next(e, &n, &v, &s) == ARCHIVE_OK) t.xattrs[n] = std::string(static_cast<const char*>(v), s);
    char buf[65536];
    la_ssize_t k;
    while ((k = archive_read_data(a, buf, sizeof buf)) > 0) t.data.append(buf, static_cast<std::size_t>(k));
    out.push_back(std::move(t));
  }
  archive_read_free(a);
  return out;
}

inline std::vector<std::string> names_of(const std::vector<TarEntry>& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(e.name);
  return out;
}

inline int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

inline bool is_root() { return ::geteuid() == 0; }

}  // namespace layer_test
