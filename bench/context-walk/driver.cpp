// bench/context-walk driver: the context re-check of `COPY . /ctx` alone (no
// build around it): open the store's index, plan the COPY (the walk), then the
// selection's content digest against the store's stat cache (the cache key's
// input), as a warm rebuild does. Prints the digest, the phases' times and the
// number of files read (0 when every stat-cache record matched).
//   bench_context-walk_driver ROOT CONTEXT [listing]
// `listing` also builds the per-file list a cache miss stores (as before it was
// made only on a miss).
#include <chrono>
#include <cstdio>
#include <string>

#include "builder/content_hash.hpp"
#include "builder/context.hpp"
#include "builder/copy.hpp"
#include "builder/file_listing.hpp"
#include "builder/stat_cache_index.hpp"
#include "store/store.hpp"

using namespace mkimage;

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
int fail(const std::string& m) {
  std::fprintf(stderr, "bench_context-walk_driver: %s\n", m.c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: ROOT CONTEXT [listing]");
  bool listing = argc > 3 && std::string(argv[3]) == "listing";
  double t0 = now();
  auto store = store::Store::open(argv[1]);
  if (!store.ok()) return fail(store.error().message);
  auto ctx = builder::BuildContext::open_directory(argv[2], std::nullopt);
  if (!ctx.ok()) return fail(ctx.error().message);
  builder::IndexStatCache cache((*store)->index());
  builder::CopyOp op;
  op.sources = {"."};
  op.dest = "/ctx";
  builder::SourceTree tree{ctx->root(), builder::SourceTree::Origin::context, &ctx->filter()};
  double t1 = now();
  auto plan = builder::plan_copy(op, tree, builder::PlanOptions{});
  if (!plan.ok()) return fail(plan.error().message);
  double t2 = now();
  builder::FileDigester files(&cache);
  builder::FileListing list;
  auto d = builder::copy_content_digest(*plan, &cache, &files, listing ? &list : nullptr);
  if (!d.ok()) return fail(d.error().message);
  double t3 = now();
  std::printf("%s open %.3f walk %.3f digest %.3f files_read %zu\n", d->str().c_str(), t1 - t0, t2 - t1, t3 - t2,
              static_cast<std::size_t>(files.files_read()));
  return 0;
}
