// Index rows about registries: repo digests of pulled or pushed images and the
// registry locations of compressed layer blobs (store/index.hpp, schema version 2).
#include <sqlite3.h>

#include <ctime>

#include "store/index.hpp"

namespace mkimage::store {

namespace {
using Stmt = SqliteStatement;
std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }
}  // namespace

util::Result<void> Index::put_repo_digest(const Reference& repo_digest, const Digest& manifest) {
  if (!repo_digest.digest() || repo_digest.tag())
    return util::Error{"\"" + repo_digest.str() + "\" is not a repository@digest reference"};
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO repo_digests(reference, manifest, added) VALUES(?,?,?) "
              "ON CONFLICT(reference) DO UPDATE SET manifest=excluded.manifest, added=excluded.added")
      .bind(repo_digest.str())
      .bind(manifest)
      .bind(now_seconds())
      .run();
}

util::Result<std::vector<Reference>> Index::repo_digests_of(const Digest& manifest) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT reference FROM repo_digests WHERE manifest=? ORDER BY reference");
  s.bind(manifest);
  return s.all([](Stmt& row) { return Reference::parse(row.text(0)); });
}

util::Result<bool> Index::delete_repo_digest(const Reference& repo_digest) {
  std::lock_guard lock(m_mutex);
  MKIMAGE_TRY_VOID(Stmt(m_statements, "DELETE FROM repo_digests WHERE reference=?").bind(repo_digest.str()).run());
  return sqlite3_changes(m_db) > 0;
}

util::Result<std::optional<Digest>> Index::find_repo_digest(const Reference& repo_digest) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements, "SELECT manifest FROM repo_digests WHERE reference=?");
  s.bind(repo_digest.str());
  return s.one([](Stmt& row) { return row.digest(0); });
}

util::Result<void> Index::put_distribution_source(const DistributionSource& d) {
  std::lock_guard lock(m_mutex);
  return Stmt(m_statements,
              "INSERT INTO distribution_sources(digest, registry, repository, diff_id, size, media_type, added) "
              "VALUES(?,?,?,?,?,?,?) ON CONFLICT(digest, registry, repository) DO UPDATE SET "
              "diff_id=excluded.diff_id, size=excluded.size, media_type=excluded.media_type, added=excluded.added")
      .bind(d.descriptor.digest)
      .bind(d.registry)
      .bind(d.repository)
      .bind(d.diff_id.digest)
      .bind(d.descriptor.size)
      .bind(d.descriptor.media_type.str())
      .bind(now_seconds())
      .run();
}

util::Result<std::vector<DistributionSource>> Index::distribution_sources(const DiffId& diff_id) {
  std::lock_guard lock(m_mutex);
  Stmt s(m_statements,
         "SELECT digest, registry, repository, size, media_type FROM distribution_sources WHERE diff_id=? "
         "ORDER BY added DESC, registry, repository");
  s.bind(diff_id.digest);
  return s.all([&diff_id](Stmt& row) -> util::Result<DistributionSource> {
    DistributionSource d;
    MKIMAGE_TRY(d.descriptor.digest, row.digest(0));
    d.registry = row.text(1);
    d.repository = row.text(2);
    d.descriptor.size = row.integer(3);
    d.descriptor.media_type = MediaType::of(row.text(4));
    d.diff_id = diff_id;
    return d;
  });
}

}  // namespace mkimage::store
