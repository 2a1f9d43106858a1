// A flock()ed file of the store root for the duration of a scope: ROOT/lock
// (exclusive) serialises index.json rewrites; ROOT/gc.lock keeps blob deletion
// (exclusive: rows, then files) apart from recording images over existing
// blobs and holding content for a lease (shared: check the files, then insert
// the rows), so a prune or the cache GC never deletes a blob an image being
// recorded at that moment relies on (docs/design/store.md, Leases).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace mkimage::store {

class RootLock {
public:
  explicit RootLock(const std::filesystem::path& path, int mode = LOCK_EX) {
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd >= 0) {
      while (::flock(m_fd, mode) != 0 && errno == EINTR) {
      }
    }
  }
  ~RootLock() {
    if (m_fd >= 0) ::close(m_fd);
  }
  RootLock(const RootLock&) = delete;
  RootLock& operator=(const RootLock&) = delete;
  bool ok() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

}  // namespace mkimage::store
