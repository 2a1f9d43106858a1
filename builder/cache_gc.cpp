// The cache bound kept after every build (docs/cache.md): the build's lease
// ends (what it made is kept by its image and cache entries from now on),
// then the cache GC runs with the request's bound or the configured one.
#include "builder/build_internal.hpp"
#include "store/gc.hpp"
#include "store/store_config.hpp"

namespace mkimage::builder {

namespace {

util::Result<std::optional<std::int64_t>> cache_bound(BuildSession& s) {
  if (s.request.cache_max_size) {
    if (*s.request.cache_max_size <= 0) return std::optional<std::int64_t>{};
    return s.request.cache_max_size;
  }
  MKIMAGE_TRY(store::StoreConfig config, store::load_store_config(s.store->root().dir()));
  return config.cache_max_size;
}

util::Result<void> collect(BuildSession& s) {
  MKIMAGE_TRY(std::optional<std::int64_t> bound, cache_bound(s));
  if (!bound) return {};
  MKIMAGE_TRY_VOID(s.store->end_lease());
  store::GcPolicy policy;
  policy.keep_bytes = *bound;
  MKIMAGE_TRY(store::GcReport report, store::collect_garbage(*s.store, policy));
  (void)report;
  return {};
}

}  // namespace

void bound_cache_after_build(BuildSession& s, BuildResult& result) {
  if (!s.store) return;
  auto r = collect(s);
  if (r) return;
  std::string msg = "WARNING: cache garbage collection failed (the build succeeded): " + r.error().message;
  result.warnings.push_back(msg);
  s.sink.call([&](EventSink& k) { k.message(msg); });
}

}  // namespace mkimage::builder
