// Content-addressed blob store: ROOT/blobs/sha256/<hex> (image-spec
// image-layout.md §Blobs). Every blob file is written once, atomically and
// verified, and never rewritten:
//   1. bytes go to a temp file in ROOT/tmp (same filesystem as blobs/),
//      hashed (sha256) and counted while they are written;
//   2. commit: fsync the temp file, check digest and size against what the
//      caller expects (if anything), rename to blobs/sha256/<hex>, fsync blobs/;
//   3. if the blob already exists the temp file is dropped instead (an
//      existing blob is never replaced: readers may have it open).
// Blob files are mode 0444. Several processes may write the same blob at once.
//
// Example (a layer written in one pass: tar → sha256 → blob file):
//   MKIMAGE_TRY(auto w, blobs.writer());
//   ... archive_write_open(a, &w, nullptr, write_cb, nullptr);  // write_cb calls w.write()
//   MKIMAGE_TRY(BlobInfo info, w.commit());      // info.digest is the diff_id
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/descriptor.hpp"
#include "store/digest.hpp"
#include "store/layer_writer.hpp"
#include "store/root.hpp"
#include "util/result.hpp"
#include "util/sha256.hpp"

namespace mkimage::store {

// What a commit produced.
struct BlobInfo {
  Digest digest;
  std::int64_t size = 0;  // bytes
  bool existed = false;   // the blob was already in the store (temp file dropped)
};

// Who computes the digest of the bytes a BlobWriter stores.
enum class BlobHashing {
  writer,  // the writer hashes every byte and verifies `expected` against it
  caller,  // the caller hashed the same bytes; commit() requires `expected`
};

// A blob being written. Lifecycle: writing → committed | aborted. The
// destructor aborts (removes the temp file) if commit() was not reached.
// Movable, not copyable; not thread-safe.
class BlobWriter {
public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  ~BlobWriter();

  // Appends bytes (buffered, 1 MiB). Errors: write failure (ENOSPC...) naming the temp path.
  util::Result<void> write(const void* data, std::size_t size);
  util::Result<void> write(std::string_view bytes) { return write(bytes.data(), bytes.size()); }

  std::int64_t size() const { return m_size; }  // bytes written so far

  // From now on, a write of whole 4 KiB blocks from a 4 KiB-aligned buffer at
  // an aligned offset goes to the file with O_DIRECT: the bytes skip the copy
  // into the page cache and its writeback (a third of a layer commit's CPU
  // was that copy). For large blobs that are not read back at once (a RUN's
  // layer). Other writes stay buffered; a filesystem that refuses O_DIRECT
  // gets buffered writes. commit() still fsyncs before the blob is linked.
  void use_direct_io() { m_direct = true; }

  // Finishes: fsync, optional verification, rename into place, fsync dir.
  // `expected` / `expected_size` (if given) must match or the blob is refused
  // with an error naming both digests, and nothing is stored.
  util::Result<BlobInfo> commit(std::optional<Digest> expected = std::nullopt,
                                std::optional<std::int64_t> expected_size = std::nullopt);
  // Drops the temp file. Safe to call twice.
  void abort();

private:
  friend class BlobStore;
  BlobWriter() = default;
  util::Result<void> flush();
  // Writes with O_DIRECT when `data`/`size` allow it; false when not written.
  util::Result<bool> write_direct(const char* data, std::size_t size);
  // commit() without the final fsync of blobs/sha256 when `sync_dir` is false
  // (BlobStore::put_all syncs the directory once for a batch).
  util::Result<BlobInfo> commit_impl(std::optional<Digest> expected, std::optional<std::int64_t> expected_size,
                                     bool sync_dir);
  // Starts the writeback of what was written since the last call once 8 MiB
  // have accumulated (sync_file_range, not waiting), so that commit()'s fsync
  // of a large blob waits for the tail only, not for every byte at once.
  void start_writeback();

  std::filesystem::path m_blobs_dir;
  std::filesystem::path m_tmp_path;
  int m_fd = -1;
  std::string m_buffer;
  util::Sha256 m_hash;
  bool m_hashing = true;  // false: BlobHashing::caller
  std::int64_t m_size = 0;
  std::int64_t m_on_disk = 0;    // bytes handed to write(2)
  std::int64_t m_writeback = 0;  // bytes whose writeback was started
  bool m_done = false;
  bool m_direct = false;     // use_direct_io()
  bool m_fd_direct = false;  // O_DIRECT is set on m_fd now
};

// A ByteSink that appends to a BlobWriter, so a producer (layer writer,
// compressor, decompressor) streams straight into the blob store. Does not own
// the writer: commit() or abort() it once the producer is done.
// Errors: those of BlobWriter::write (the temp path and errno).
class BlobSink : public ByteSink {
public:
  explicit BlobSink(BlobWriter& w) : m_w(w) {}
  util::Result<void> write(const void* data, std::size_t size) override { return m_w.write(data, size); }

private:
  BlobWriter& m_w;
};

// A temp directory (or file) removed with everything below it (remove_tree:
// symlinks not followed) when the guard goes away. An empty path is left alone;
// a failed removal is ignored (ROOT/tmp is swept by BlobStore::sweep_stale_tmp).
// Not copyable.
struct TempPath {
  std::filesystem::path path;

  TempPath() = default;
  explicit TempPath(std::filesystem::path p) : path(std::move(p)) {}
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  ~TempPath();
};

// The mkstemp/mkdtemp template for a temp entry of this process:
// "<dir>/<prefix>-<pid>-<start>-XXXXXX" (store/owner.hpp: the process id and
// start time let BlobStore::sweep_stale_tmp remove what a killed process left,
// and never what a live one owns, even when a pid was reused).
std::string temp_template(const std::filesystem::path& dir, std::string_view prefix);

// Creates a new empty directory ROOT/tmp/<prefix>-<pid>-<start>-XXXXXX (mkdtemp: mode 0700),
// creating ROOT/tmp first if needed; it is on the blobs' filesystem. The caller
// removes it (hold it in a TempPath). Errors: mkdtemp failure naming the
// template and errno.
util::Result<std::filesystem::path> make_temp_dir(const Root& root, std::string_view prefix);

class BlobStore {
public:
  explicit BlobStore(Root root) : m_root(std::move(root)) {}

  const Root& root() const { return m_root; }

  // Starts a new blob (temp file ROOT/tmp/blob-XXXXXX). Errors: mkstemp failure.
  // With BlobHashing::caller the writer does not hash: the caller hashes exactly
  // the bytes it writes (the layer writer's diff_id of an uncompressed layer)
  // and must pass that digest to commit(), which names the blob by it.
  util::Result<BlobWriter> writer(BlobHashing hashing = BlobHashing::writer) const;

  // Stores several byte strings (an image's config and manifest) as one batch:
  // every new blob's data is fsynced, then all are linked into place, then
  // blobs/sha256 is fsynced once. Returns their digests and sizes in order.
  util::Result<std::vector<BlobInfo>> put_all(const std::vector<std::string_view>& items) const;
  // Stores bytes held in memory (configs, manifests). Returns digest and size.
  util::Result<BlobInfo> put(std::string_view bytes,
                             std::optional<Digest> expected = std::nullopt) const;
  // Copies a file into the store, hashing on the way (one pass).
  // Errors: I/O naming the path; `expected` mismatch.
  util::Result<BlobInfo> put_file(const std::filesystem::path& path,
                                  std::optional<Digest> expected = std::nullopt) const;

  bool exists(const Digest& d) const;
  // The blob's file (it may not exist; see exists()). Open it read-only.
  std::filesystem::path path(const Digest& d) const { return m_root.blob_path(d); }
  // Size in bytes of a stored blob. Errors: missing blob.
  util::Result<std::int64_t> size(const Digest& d) const;
  // Reads a whole blob into memory (for small JSON blobs). Verifies the
  // digest when `verify` is true. Errors: missing, I/O, digest mismatch.
  util::Result<std::string> read(const Digest& d, bool verify = true) const;

  // Re-hashes a stored blob. Returns false if its content does not match its
  // name. Errors: missing blob or I/O.
  util::Result<bool> verify(const Digest& d) const;

  // Deletes a blob file (missing is not an error). The caller makes sure
  // nothing references it (store/store.hpp does, under the index).
  util::Result<void> remove(const Digest& d) const;

  // Every digest named by a file in blobs/sha256 (files that are not 64 hex are skipped).
  util::Result<std::vector<Digest>> list() const;

  // Removes what dead processes left (an interrupted or killed `load`,
  // `import`, `save` or build; store/owner.hpp): in ROOT/tmp, entries named by
  // temp_template() (and the older <prefix>-<pid>-XXXXXX); in ROOT/tmp/active,
  // active snapshots; in ROOT/snapshots, unpack staging and trash directories.
  // Mounts below such an entry (a killed build's overlays, read-only rootfs
  // and bind mounts) are unmounted first, nested ones first, lazily when busy;
  // an entry with a mount left (no privilege to unmount) stays. Entries of
  // live processes and other names are left alone. Store::open runs it.
  void sweep_stale_tmp() const;

private:
  Root m_root;
};

// sha256 and size of a file's content, streaming. Errors: I/O naming the path.
util::Result<BlobInfo> hash_file(const std::filesystem::path& path);

}  // namespace mkimage::store
