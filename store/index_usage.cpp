// Index rows read for disk usage and garbage collection (store/usage.hpp,
// store/gc.hpp): what images need, compressed layer copies, snapshot sizes.
#include <sqlite3.h>

#include "store/index.hpp"

namespace mkimage::store {

namespace {
using Stmt = SqliteStatement;
}  // namespace

util::Result<std::vector<std::pair<Digest, Digest>>> Index::list_image_refs() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT manifest, manifest FROM images UNION SELECT manifest, config FROM images "
         "UNION SELECT manifest, blob FROM image_blobs ORDER BY 1, 2");
  return s.all([](Stmt& r) -> util::Result<std::pair<Digest, Digest>> {
    MKIMAGE_TRY(Digest m, r.digest(0));
    MKIMAGE_TRY(Digest b, r.digest(1));
    return std::pair<Digest, Digest>{m, b};
  });
}

util::Result<std::vector<CompressedLayerRecord>> Index::list_compressed_layers() {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT diff_id, compression, digest, size, media_type FROM compressed_layers ORDER BY diff_id");
  return s.all([](Stmt& r) -> util::Result<CompressedLayerRecord> {
    CompressedLayerRecord c;
    MKIMAGE_TRY(Digest diff, r.digest(0));
    c.diff_id = DiffId{diff};
    MKIMAGE_TRY(c.compression, parse_compression(r.text(1)));
    MKIMAGE_TRY(c.descriptor.digest, r.digest(2));
    c.descriptor.size = r.integer(3);
    MKIMAGE_TRY(c.descriptor.media_type, MediaType::parse(r.text(4)));
    return c;
  });
}

util::Result<void> Index::set_snapshot_size(const ChainId& c, std::int64_t bytes) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements, "UPDATE layers SET snapshot_size=? WHERE chain_id=?").bind(bytes).bind(c.digest).run();
}

}  // namespace mkimage::store
