// The store root: a directory that is at once an OCI image layout
// (image-spec image-layout.md) and mkimage's private state.
//   ROOT/oci-layout            {"imageLayoutVersion":"1.0.0"}
//   ROOT/index.json            OCI image index of every tagged image
//   ROOT/blobs/sha256/<hex>    content-addressed blobs (read-only files)
//   ROOT/index.db              SQLite index (store/index.hpp), plus -wal/-shm
//   ROOT/tmp/                  temp files of blobs being written (same filesystem)
//   ROOT/snapshots/<chain_id hex>/   unpacked layers (builder lowerdirs)
//   ROOT/containers/<id>/      state of `mkimage run` containers
//   ROOT/history/<build id>/   the build history's step logs (store/build_history.hpp)
//   ROOT/lock                  flock()ed while index.json is rewritten
//   ROOT/gc.lock               flock()ed: shared to record an image, exclusive to delete blobs
#pragma once

#include <filesystem>
#include <string>

#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::store {

// The root directory to use: `option` (--root) if not empty, else
// $MKIMAGE_ROOT if set and not empty, else /var/lib/mkimage when the effective
// uid is 0, else $XDG_DATA_HOME/mkimage, else $HOME/.local/share/mkimage.
// Errors: no HOME for a non-root user. Does not create anything.
util::Result<std::filesystem::path> default_root(const std::string& option = "");

class Root {
public:
  // Creates the layout if missing (directories 0700 for the root, oci-layout,
  // an empty index.json) and returns the paths. Idempotent and safe when
  // several processes open the same root at once.
  // Errors: mkdir/write failures naming the path and errno; an existing
  // oci-layout with another imageLayoutVersion.
  static util::Result<Root> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return m_dir; }
  std::filesystem::path blobs_dir() const { return m_dir / "blobs" / "sha256"; }
  std::filesystem::path blob_path(const Digest& d) const { return blobs_dir() / d.hex(); }
  std::filesystem::path tmp_dir() const { return m_dir / "tmp"; }
  std::filesystem::path index_db() const { return m_dir / "index.db"; }
  std::filesystem::path index_json() const { return m_dir / "index.json"; }
  std::filesystem::path oci_layout() const { return m_dir / "oci-layout"; }
  std::filesystem::path snapshots_dir() const { return m_dir / "snapshots"; }
  std::filesystem::path containers_dir() const { return m_dir / "containers"; }
  // Kept `ADD <url>` downloads (store/downloads.hpp).
  std::filesystem::path url_cache_dir() const { return m_dir / "url-cache"; }
  std::filesystem::path lock_file() const { return m_dir / "lock"; }
  // flock()ed shared while an image is recorded over existing blobs, exclusive
  // while blobs are deleted (store/store.cpp).
  std::filesystem::path gc_lock_file() const { return m_dir / "gc.lock"; }

private:
  std::filesystem::path m_dir;
};

// Whether write_file_atomic() waits for the rename itself to be on disk.
// `rename_may_be_lost`: the file is complete on disk before the rename (never
// torn), but a crash of the machine right after may leave the old file: for a
// file that mirrors rows the index commits without a sync either (index.json
// and the tags, docs/design/store.md "Durability").
enum class RenameDurability { synced, rename_may_be_lost };

// Writes `bytes` to `path` atomically: temp file in the same directory,
// fsync, rename, fsync of the directory (unless `rename_may_be_lost`). `mode`
// is octal permission bits. Errors: I/O, naming the path and errno.
util::Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                                     unsigned mode = 0644,
                                     RenameDurability durability = RenameDurability::synced);

// fsyncs a directory, so that renames and new entries in it are durable.
// Errors: open/fsync failures naming the path and errno.
util::Result<void> fsync_dir(const std::filesystem::path& dir);

// Reads a whole file. Errors: open/read failures naming the path and errno.
util::Result<std::string> read_file(const std::filesystem::path& path);

// Copies everything readable from `in` (e.g. 0 for stdin, named `in_name` in
// errors) into a new file `dest` (mode 0600; it must not exist yet). Not synced.
// Errors: create/read/write failures naming the path and errno.
util::Result<void> copy_fd_to_file(int in, const std::string& in_name, const std::filesystem::path& dest);

}  // namespace mkimage::store
