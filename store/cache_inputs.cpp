#include "store/cache_inputs.hpp"

#include "store/sqlite_statement.hpp"

namespace mkimage::store {

using Stmt = SqliteStatement;

util::Result<void> put_cache_inputs(Index& index, const CacheInputsRecord& r, const std::string* file_list) {
  return index.transaction([&]() -> util::Result<void> {
    if (file_list && !r.files.empty()) {
      Stmt l(index.handle(), "INSERT INTO cache_file_lists(digest, data) VALUES(?,?) ON CONFLICT(digest) DO NOTHING");
      l.bind(r.files).bind_blob(*file_list);
      MKIMAGE_TRY_VOID(l.run());
    }
    Stmt s(index.handle(),
           "INSERT INTO cache_inputs(key, scope, stage, position, step, chain, files) VALUES(?,?,?,?,?,?,?) "
           "ON CONFLICT(key) DO NOTHING");
    s.bind(r.key).bind(r.scope).bind(r.stage).bind(r.position).bind(r.step).bind(r.chain);
    if (r.files.empty()) s.bind_null();
    else s.bind(r.files);
    return s.run();
  });
}

util::Result<std::optional<CacheInputsRecord>> nearest_cache_inputs(Index& index, const std::string& scope,
                                                                    const std::string& stage, std::int64_t position,
                                                                    const std::string& step,
                                                                    const std::string& exclude_key) {
  // The latest build that used each candidate key comes from one pass over the
  // history's steps for all candidates (`used`), not one pass per candidate:
  // build_steps has no index on cache_key (one would add a page write per step
  // to every build), and a correlated subquery scanned every kept step once per
  // candidate (~5 ms at 150 builds with 40 candidates; ~1 ms this way).
  Stmt s(index.handle(),
         "WITH cand AS ("
         " SELECT i.key, i.scope, i.stage, i.position, i.step, i.chain, i.files, c.last_used, c.created"
         " FROM cache_inputs i JOIN cache c ON c.key = i.key"
         " WHERE i.scope = ?1 AND i.key <> ?5 AND ((i.stage = ?2 AND i.position = ?3) OR i.step = ?4)), "
         "used AS ("
         " SELECT st.cache_key AS key, MAX(b.started) AS started FROM build_steps st JOIN builds b ON b.id = st.build"
         " WHERE st.cache_key IN (SELECT key FROM cand) GROUP BY st.cache_key) "
         "SELECT cand.key, cand.scope, cand.stage, cand.position, cand.step, cand.chain, cand.files "
         "FROM cand LEFT JOIN used ON used.key = cand.key "
         "ORDER BY (cand.stage = ?2 AND cand.step = ?4) DESC, (cand.stage = ?2 AND cand.position = ?3) DESC, "
         // the latest build that used the key (milliseconds; cache times are whole seconds, so
         // several builds within one second would tie), then the cache's own times
         "used.started DESC NULLS LAST, cand.last_used DESC, cand.created DESC LIMIT 1");
  s.bind(scope).bind(stage).bind(position).bind(step).bind(exclude_key);
  return s.one([](Stmt& r) -> util::Result<CacheInputsRecord> {
    CacheInputsRecord c;
    c.key = r.text(0);
    c.scope = r.text(1);
    c.stage = r.text(2);
    c.position = r.integer(3);
    c.step = r.text(4);
    c.chain = r.text(5);
    c.files = r.text(6);
    return c;
  });
}

util::Result<std::optional<std::string>> get_cache_file_list(Index& index, const std::string& digest) {
  Stmt s(index.handle(), "SELECT data FROM cache_file_lists WHERE digest = ?");
  s.bind(digest);
  return s.one([](Stmt& r) -> util::Result<std::string> { return r.blob(0); });
}

util::Result<CacheInputsUsage> cache_inputs_usage(Index& index) {
  CacheInputsUsage u;
  {
    Stmt s(index.handle(),
           "SELECT count(*), coalesce(sum(length(key) + length(scope) + length(stage) + length(step) + length(chain) + "
           "coalesce(length(files), 0) + 8), 0) FROM cache_inputs");
    MKIMAGE_TRY(bool row, s.step());
    if (row) {
      u.records = s.integer(0);
      u.record_bytes = s.integer(1);
    }
  }
  Stmt s(index.handle(), "SELECT count(*), coalesce(sum(length(data) + length(digest)), 0) FROM cache_file_lists");
  MKIMAGE_TRY(bool row, s.step());
  if (row) {
    u.file_lists = s.integer(0);
    u.file_list_bytes = s.integer(1);
  }
  return u;
}

}  // namespace mkimage::store
