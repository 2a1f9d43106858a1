// Deterministic layer tars (image-spec layer.md): a directory, an overlayfs upperdir
// or a list of changes becomes an uncompressed PAX tar
// (media type application/vnd.oci.image.layer.v1.tar), written in one pass: the tar
// bytes are hashed (the diff_id) and handed to a ByteSink (the blob store's ingest
// writer, or a file) at the same time.
//
// Tar shape, identical for the same tree on any host:
//   - entries in walk order: a directory, then its children sorted by name (byte
//     order), depth first; equivalently full paths sorted with '/' lowest. The root
//     itself has no entry. Names are relative ("usr/bin/sh"), directories end in "/".
//   - PAX (ustar header, pax extended header only where needed); numeric uid/gid,
//     no user/group names; mode (octal, with setuid/setgid/sticky); mtime in whole
//     seconds, clamped to SOURCE_DATE_EPOCH when given; no atime/ctime.
//   - xattrs as SCHILY.xattr.* records sorted by name; trusted.overlay.*,
//     user.overlay.* and security.selinux are never recorded.
//   - regular files, directories, symlinks, hardlinks (the first path in walk order
//     carries the data, later ones are tar hardlinks to it), character and block
//     devices, fifos. Sockets are skipped (tar cannot hold them).
//   - OCI whiteouts: ".wh.NAME" (an empty regular file, mode 0, uid/gid 0, mtime 0)
//     for a deleted NAME, "DIR/.wh..wh..opq" right after DIR for an opaque directory.
//   - end of archive: two zero blocks, no padding to a record size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::store {

// Receives a byte stream in order (a blob being ingested, a file, a compressor).
class ByteSink {
public:
  virtual ~ByteSink() = default;
  // Appends `size` bytes. Errors: I/O, naming the destination.
  virtual util::Result<void> write(const void* data, std::size_t size) = 0;
};

// A ByteSink onto an open file descriptor (not owned, not closed, not synced).
class FdSink : public ByteSink {
public:
  FdSink(int fd, std::string name) : m_fd(fd), m_name(std::move(name)) {}
  util::Result<void> write(const void* data, std::size_t size) override;

private:
  int m_fd;
  std::string m_name;
};

// Result of writing a layer: its diff_id and the size of the tar in bytes.
struct WrittenLayer {
  DiffId diff_id;
  std::int64_t size = 0;
  std::int64_t entries = 0;  // tar entries written, whiteouts included
};

struct LayerWriteOptions {
  // SOURCE_DATE_EPOCH (seconds since the epoch): mtimes later than it are clamped to it.
  std::optional<std::int64_t> source_date_epoch;
};

// (a) Every file below `dir` (not `dir` itself). Errors: I/O naming the path; a
// path that changes type during the walk.
util::Result<WrittenLayer> write_layer_from_dir(const std::filesystem::path& dir, ByteSink& out,
                                                const LayerWriteOptions& options = {});

// (b) An overlayfs upperdir: a 0/0 character device becomes the whiteout ".wh.NAME",
// a directory with xattr trusted.overlay.opaque (or user.overlay.opaque) = "y" gets
// an opaque whiteout entry. `excludes` are paths relative to the layer root ("proc",
// "etc/hosts"; a leading "/" is ignored): they and everything below them are left
// out (mount points the runtime created). Errors: as (a); an upperdir written with
// overlay redirect_dir or metacopy (trusted.overlay.redirect / .metacopy) is refused.
util::Result<WrittenLayer> write_layer_from_upperdir(const std::filesystem::path& upperdir,
                                                     const std::vector<std::string>& excludes, ByteSink& out,
                                                     const LayerWriteOptions& options = {});

// One change of a layer relative to its parent, path relative to the layer root.
struct LayerChange {
  enum class Kind { add, modify, remove };
  Kind kind = Kind::add;
  std::string path;  // "etc/passwd"; a leading "/" is ignored
};

// (c) A list of changes against `root` (the new rootfs): add/modify write the entry
// found at root/path (a directory alone, not its contents), remove writes a
// whiteout. Changes are sorted into walk order; duplicates are an error.
util::Result<WrittenLayer> write_layer_from_changes(const std::filesystem::path& root,
                                                    std::vector<LayerChange> changes, ByteSink& out,
                                                    const LayerWriteOptions& options = {});

// Orders paths as the writer does (walk order: '/' sorts below every other byte).
bool layer_path_less(std::string_view a, std::string_view b);

// The xattrs a layer records (see above): false for trusted.overlay.*,
// user.overlay.* and security.selinux.
bool layer_keeps_xattr(std::string_view name);

}  // namespace mkimage::store
