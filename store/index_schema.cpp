// Schema of ROOT/index.db and its ordered migrations.
//
// PRAGMA user_version holds the schema version: 0 = empty file; migration N
// takes version N-1 to N inside one transaction. Never edit a released
// migration; append a new one.
//
// Version 1:
//   blobs(digest TEXT PK "sha256:<hex>", size INTEGER bytes, media_type TEXT ("" unknown), added INTEGER epoch s)
//   layers(chain_id TEXT PK, parent TEXT NULL → layers.chain_id, diff_id TEXT, blob TEXT → blobs ON DELETE CASCADE,
//          size INTEGER bytes, snapshot TEXT NULL (relative to the root), added INTEGER)
//   compressed_layers(diff_id TEXT, compression TEXT "gzip"|"zstd", digest TEXT → blobs ON DELETE CASCADE,
//          size INTEGER, media_type TEXT, PK(diff_id, compression))
//   images(manifest TEXT PK → blobs, config TEXT → blobs, created INTEGER epoch s, size INTEGER bytes, added INTEGER)
//   image_blobs(manifest TEXT → images ON DELETE CASCADE, position INTEGER (0 = config, 1.. = layers),
//          blob TEXT, PK(manifest, position))
//   tags(reference TEXT PK full "docker.io/library/x:tag", manifest TEXT → images ON DELETE CASCADE, updated INTEGER)
//   cache(key TEXT PK, result TEXT JSON, created INTEGER, last_used INTEGER)
//   cache_refs(key TEXT → cache ON DELETE CASCADE, blob TEXT, PK(key, blob))
//   stat_cache(path TEXT PK, dev, ino, size, mtime_ns, ctime_ns, mode INTEGER, digest TEXT)
//   containers(id TEXT PK, name TEXT UNIQUE, image TEXT, image_ref TEXT, state TEXT, pid INTEGER,
//          exit_code INTEGER, created, started, finished INTEGER epoch s, config TEXT JSON)
//
// Version 2 (registry pull/push, docker's "distribution metadata"):
//   repo_digests(reference TEXT PK "docker.io/library/node@sha256:<hex>" = the manifest digest in
//          that repository, manifest TEXT → images ON DELETE CASCADE (the local image), added INTEGER)
//   distribution_sources(digest TEXT = a compressed layer blob in a registry, registry TEXT "docker.io",
//          repository TEXT "library/node", diff_id TEXT, size INTEGER, media_type TEXT, added INTEGER,
//          PK(digest, registry, repository)): where a layer is known to be, for push (HEAD, mount)
//
// Version 3 (leases: what a running build holds, store/store.hpp Store::begin_lease):
//   leases(id TEXT PK random hex, pid INTEGER owner process, pid_start INTEGER its start time in clock
//          ticks after boot (/proc/PID/stat field 22), boot_id TEXT (/proc/sys/kernel/random/boot_id),
//          description TEXT, created INTEGER epoch s): a lease whose owner process is gone is dead
//   lease_refs(lease TEXT → leases ON DELETE CASCADE, ref TEXT "sha256:<hex>" a manifest or blob digest,
//          PK(lease, ref)): content a prune or rmi must not delete while its lease lives
//
// Version 4 (seeing and bounding the cache: `mkimage cache`, store/gc.hpp):
//   cache.step TEXT the step that made the entry ("[build 3/5] RUN npm ci"; "" unknown, e.g. imported)
//   cache.hits INTEGER lookups that found the entry (each hit also sets last_used)
//   layers.snapshot_size INTEGER NULL bytes of the snapshot directory as `du -sb` counts them
//          (NULL = not measured yet; reset whenever the snapshot changes)
// Version 5 (build history, store/build_history.hpp; docs/history.md):
//   builds(id TEXT PK short random id, name TEXT, started INTEGER / finished INTEGER epoch ms (0 = still running),
//          status TEXT "running"|"completed"|"error", dockerfile TEXT name, dockerfile_digest TEXT,
//          context TEXT, target TEXT, args TEXT JSON {name: value}, secrets TEXT JSON [ids] (never values),
//          tags TEXT JSON [references], image TEXT config digest, manifest TEXT, error TEXT)
//   build_steps(build TEXT → builds ON DELETE CASCADE, number INTEGER "#N", label TEXT, name TEXT,
//          outcome TEXT "CACHED"|"remote-cached"|"run"|"error", started INTEGER epoch ms, duration_ms INTEGER,
//          cache_key TEXT, miss_reason TEXT, log_bytes INTEGER, PK(build, number)); the logs are
//          files ROOT/history/<build id>/<number>.log
// Version 6 (context re-check at stat speed, builder/content_hash.hpp StatCacheEntry):
//   stat_cache.no_xattrs INTEGER 1 = the file had no image xattrs when its record was made (read at
//          least 2 s after its ctime, so any later xattr change moved ctime); 0 = unknown (read them)
// Version 7 (miss reasons, store/cache_inputs.hpp; docs/cache.md "Why a step ran"):
//   cache_inputs(key TEXT PK → cache ON DELETE CASCADE, scope TEXT the build context directory and
//          Dockerfile name, stage TEXT name or index, position INTEGER step index in the stage,
//          step TEXT instruction ("RUN npm ci"), chain TEXT JSON the key's tagged fields and those of the
//          metadata keys above it, files TEXT NULL → cache_file_lists.digest): what a key was made of
//   cache_file_lists(digest TEXT PK sha256 of data, data BLOB zstd file list): the files behind a
//          COPY's sources digest, once per distinct list; a trigger deletes a list with its last user
#include <sqlite3.h>

#include <string>
#include <vector>

#include "util/result.hpp"

namespace mkimage::store {

// Migration i (0-based) takes the schema from version i to i+1.
const std::vector<const char*>& index_migrations() {
  static const std::vector<const char*> migrations = {
      // 0 → 1
      R"sql(
CREATE TABLE blobs (
  digest TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL DEFAULT '',
  added INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE layers (
  chain_id TEXT PRIMARY KEY,
  parent TEXT REFERENCES layers(chain_id) ON DELETE CASCADE,
  diff_id TEXT NOT NULL,
  blob TEXT NOT NULL REFERENCES blobs(digest) ON DELETE CASCADE,
  size INTEGER NOT NULL,
  snapshot TEXT,
  added INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX layers_diff_id ON layers(diff_id);
CREATE INDEX layers_blob ON layers(blob);
CREATE INDEX layers_parent ON layers(parent);

CREATE TABLE compressed_layers (
  diff_id TEXT NOT NULL,
  compression TEXT NOT NULL,
  digest TEXT NOT NULL REFERENCES blobs(digest) ON DELETE CASCADE,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  PRIMARY KEY (diff_id, compression)
) WITHOUT ROWID;
CREATE INDEX compressed_layers_digest ON compressed_layers(digest);

CREATE TABLE images (
  manifest TEXT PRIMARY KEY REFERENCES blobs(digest),
  config TEXT NOT NULL REFERENCES blobs(digest),
  created INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  added INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX images_config ON images(config);

CREATE TABLE image_blobs (
  manifest TEXT NOT NULL REFERENCES images(manifest) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  blob TEXT NOT NULL,
  PRIMARY KEY (manifest, position)
) WITHOUT ROWID;
CREATE INDEX image_blobs_blob ON image_blobs(blob);

CREATE TABLE tags (
  reference TEXT PRIMARY KEY,
  manifest TEXT NOT NULL REFERENCES images(manifest) ON DELETE CASCADE,
  updated INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX tags_manifest ON tags(manifest);

CREATE TABLE cache (
  key TEXT PRIMARY KEY,
  result TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE cache_refs (
  key TEXT NOT NULL REFERENCES cache(key) ON DELETE CASCADE,
  blob TEXT NOT NULL,
  PRIMARY KEY (key, blob)
) WITHOUT ROWID;
CREATE INDEX cache_refs_blob ON cache_refs(blob);

CREATE TABLE stat_cache (
  path TEXT PRIMARY KEY,
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  digest TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  image TEXT NOT NULL,
  image_ref TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  started INTEGER NOT NULL DEFAULT 0,
  finished INTEGER NOT NULL DEFAULT 0,
  config TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE INDEX containers_image ON containers(image);
)sql",
      // 1 → 2
      R"sql(
CREATE TABLE repo_digests (
  reference TEXT PRIMARY KEY,
  manifest TEXT NOT NULL REFERENCES images(manifest) ON DELETE CASCADE,
  added INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX repo_digests_manifest ON repo_digests(manifest);

CREATE TABLE distribution_sources (
  digest TEXT NOT NULL,
  registry TEXT NOT NULL,
  repository TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  added INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (digest, registry, repository)
) WITHOUT ROWID;
CREATE INDEX distribution_sources_diff_id ON distribution_sources(diff_id);
)sql",
      // 2 → 3
      R"sql(
CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  pid_start INTEGER NOT NULL,
  boot_id TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE lease_refs (
  lease TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  ref TEXT NOT NULL,
  PRIMARY KEY (lease, ref)
) WITHOUT ROWID;
CREATE INDEX lease_refs_ref ON lease_refs(ref);
)sql",
      // 3 → 4
      R"sql(
ALTER TABLE cache ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE cache ADD COLUMN hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE layers ADD COLUMN snapshot_size INTEGER;
CREATE INDEX cache_last_used ON cache(last_used);
)sql",
      // 4 → 5 (build history)
      R"sql(
CREATE TABLE builds (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  started INTEGER NOT NULL,
  finished INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'running',
  dockerfile TEXT NOT NULL DEFAULT '',
  dockerfile_digest TEXT NOT NULL DEFAULT '',
  context TEXT NOT NULL DEFAULT '',
  target TEXT NOT NULL DEFAULT '',
  args TEXT NOT NULL DEFAULT '{}',
  secrets TEXT NOT NULL DEFAULT '[]',
  tags TEXT NOT NULL DEFAULT '[]',
  image TEXT NOT NULL DEFAULT '',
  manifest TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX builds_started ON builds(started);

CREATE TABLE build_steps (
  build TEXT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT '',
  started INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  cache_key TEXT NOT NULL DEFAULT '',
  miss_reason TEXT NOT NULL DEFAULT '',
  log_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (build, number)
) WITHOUT ROWID;
)sql",
      // 5 -> 6
      R"sql(
ALTER TABLE stat_cache ADD COLUMN no_xattrs INTEGER NOT NULL DEFAULT 0;
)sql",
      // 6 → 7 (miss reasons: the inputs of each cache entry's key)
      R"sql(
CREATE TABLE cache_file_lists (
  digest TEXT PRIMARY KEY,
  data BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE cache_inputs (
  key TEXT PRIMARY KEY REFERENCES cache(key) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  stage TEXT NOT NULL,
  position INTEGER NOT NULL,
  step TEXT NOT NULL,
  chain TEXT NOT NULL,
  files TEXT
) WITHOUT ROWID;
CREATE INDEX cache_inputs_position ON cache_inputs(scope, stage, position);
CREATE INDEX cache_inputs_step ON cache_inputs(scope, step);
CREATE INDEX cache_inputs_files ON cache_inputs(files);

CREATE TRIGGER cache_inputs_drop_files AFTER DELETE ON cache_inputs
WHEN OLD.files IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cache_inputs WHERE files = OLD.files)
BEGIN
  DELETE FROM cache_file_lists WHERE digest = OLD.files;
END;
)sql",
  };
  return migrations;
}

}  // namespace mkimage::store
