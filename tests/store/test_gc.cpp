// The cache GC's choice (store/gc.hpp plan_gc) on stores modelled in memory,
// and the accounting of store/usage.hpp.
#include <doctest/doctest.h>

#include <algorithm>

#include "store/gc.hpp"
#include "store/usage.hpp"

using namespace mkimage::store;

namespace {

Digest dg(const std::string& s) { return Digest::sha256_of(s); }

// A model store: layer blobs stacked into chains, cache entries keeping them.
struct Model {
  UsageModel m;
  Model() { m.now = 1'000'000; }
  // A layer `name` on top of `parent` ("" = bottom): blob of `bytes`, a snapshot of `snap` bytes.
  void layer(const std::string& name, const std::string& parent, std::int64_t bytes, std::int64_t snap = 0) {
    m.blobs.push_back(BlobRecord{dg(name), bytes, MediaType{}, 0});
    LayerRecord l;
    l.chain_id = ChainId{dg("chain:" + name)};
    if (!parent.empty()) l.parent = ChainId{dg("chain:" + parent)};
    l.diff_id = DiffId{dg(name)};
    l.blob = dg(name);
    l.size = bytes;
    l.snapshot = "snapshots/" + l.chain_id.digest.hex();
    l.snapshot_size = snap;
    m.layers.push_back(l);
  }
  void entry(const std::string& key, const std::string& layer_name, std::int64_t last_used) {
    CacheRecord c;
    c.key = key;
    c.result = "{}";
    if (!layer_name.empty()) c.refs.push_back(dg(layer_name));
    c.created = last_used;
    c.last_used = last_used;
    m.cache.push_back(c);
  }
  void image(const std::string& name, const std::vector<std::string>& layers) {
    std::set<Digest>& blobs = m.images[dg("manifest:" + name)];
    for (const auto& l : layers) blobs.insert(dg(l));
  }
};

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
bool has(const std::vector<Digest>& v, const std::string& name) {
  return std::find(v.begin(), v.end(), dg(name)) != v.end();
}

}  // namespace

TEST_CASE("GC frees leaves first: a layer below a kept entry waits, even when it is older") {
  Model t;
  t.layer("a", "", 100, 50);
  t.layer("b", "a", 100, 50);
  t.layer("c", "b", 100, 50);
  t.entry("k-a", "a", 10);  // least recently used, but the bottom of the stack
  t.entry("k-b", "b", 30);
  t.entry("k-c", "c", 20);
  GcPolicy p;
  p.keep_bytes = 200;  // 450 → two layers must go
  GcPlan plan = plan_gc(t.m, p);
  CHECK(plan.bytes_before == 450);
  CHECK(plan.keys == std::vector<std::string>{"k-c", "k-b"});
  CHECK(plan.bytes_after == 150);
  CHECK(has(plan.blobs, "c"));
  CHECK(has(plan.blobs, "b"));
  CHECK_FALSE(has(plan.blobs, "a"));
  CHECK(plan.layers.size() == 2);
}

TEST_CASE("GC takes the least recently used of independent leaves and stops under the bound") {
  Model t;
  t.layer("x", "", 100);
  t.layer("y", "", 100);
  t.layer("z", "", 100);
  t.entry("k-x", "x", 300);
  t.entry("k-y", "y", 100);
  t.entry("k-z", "z", 200);
  GcPolicy p;
  p.keep_bytes = 150;
  GcPlan plan = plan_gc(t.m, p);
  CHECK(plan.keys == std::vector<std::string>{"k-y", "k-z"});
  CHECK(plan.bytes_after == 100);
  p.keep_bytes = 300;  // already under: nothing
  CHECK(plan_gc(t.m, p).keys.empty());
}

TEST_CASE("GC never frees what an image or a running build needs, nor what lies below it") {
  Model t;
  t.layer("base", "", 1000);
  t.layer("app", "base", 100);
  t.layer("tmp", "base", 100);
  t.layer("held-below", "", 100);
  t.layer("held", "held-below", 100);
  t.image("app", {"base", "app"});
  t.entry("k-base", "base", 1);
  t.entry("k-app", "app", 2);
  t.entry("k-tmp", "tmp", 3);
  t.entry("k-held-below", "held-below", 4);
  t.entry("k-held", "held", 5);
  t.m.leased.insert(dg("held"));
  GcPolicy p;
  p.keep_bytes = 0;  // as small as it gets
  GcPlan plan = plan_gc(t.m, p);
  CHECK(plan.keys == std::vector<std::string>{"k-tmp"});
  CHECK(plan.blobs == std::vector<Digest>{dg("tmp")});
  CHECK(plan.bytes_after == 1300);
}

TEST_CASE("cache prune without a bound: every dangling entry; --all also the rows of image layers") {
  Model t;
  t.layer("base", "", 1000);
  t.layer("tmp", "base", 100);
  t.image("img", {"base"});
  t.entry("k-base", "base", 1);
  t.entry("k-tmp", "tmp", 2);
  t.entry("k-empty", "", 3);  // a step that made no layer
  GcPolicy p;
  GcPlan plan = plan_gc(t.m, p);
  CHECK(has(plan.keys, "k-tmp"));
  CHECK(has(plan.keys, "k-empty"));
  CHECK_FALSE(has(plan.keys, "k-base"));
  p.all = true;
  plan = plan_gc(t.m, p);
  CHECK(has(plan.keys, "k-base"));
  CHECK_FALSE(has(plan.blobs, "base"));  // the image keeps its layer
  CHECK(plan.bytes_after == 1000);
}

TEST_CASE("--filter until: recent entries stay, and so do the layers below them") {
  Model t;
  t.layer("a", "", 100);
  t.layer("b", "a", 100);
  t.layer("old", "", 100);
  t.entry("k-a", "a", 10);
  t.entry("k-b", "b", 500);
  t.entry("k-old", "old", 20);
  GcPolicy p;
  p.unused_before = 100;
  GcPlan plan = plan_gc(t.m, p);
  CHECK(plan.keys == std::vector<std::string>{"k-old"});
}

TEST_CASE("GC: unreferenced blob rows go first once past the grace time; compressed copies go with their layer") {
  Model t;
  t.layer("l", "", 100);
  t.entry("k-l", "l", 50);
  t.m.blobs.push_back(BlobRecord{dg("gz-of-l"), 40, MediaType{}, 0});
  t.m.compressed.push_back(CompressedLayerRecord{DiffId{dg("l")}, Compression::gzip, Descriptor{MediaType{}, dg("gz-of-l"), 40, {}, std::nullopt}});
  t.m.blobs.push_back(BlobRecord{dg("left-over"), 30, MediaType{}, t.m.now - 3600});
  t.m.blobs.push_back(BlobRecord{dg("loading"), 30, MediaType{}, t.m.now - 5});
  GcPolicy p;
  p.keep_bytes = 170;  // 200 → the left-over alone is enough
  GcPlan plan = plan_gc(t.m, p);
  CHECK(plan.blobs == std::vector<Digest>{dg("left-over")});
  CHECK(plan.keys.empty());
  p.keep_bytes = 0;
  plan = plan_gc(t.m, p);
  CHECK(has(plan.blobs, "l"));
  CHECK(has(plan.blobs, "gz-of-l"));
  CHECK_FALSE(has(plan.blobs, "loading"));
  CHECK(plan.bytes_after == 30);
}

TEST_CASE("GC removes the stacks above a removed layer with it") {
  Model t;
  t.layer("a", "", 100, 10);
  t.layer("b", "a", 100, 10);  // nothing keeps b (its entry was deleted): a is a leaf
  t.entry("k-a", "a", 1);
  GcPolicy p;
  p.keep_bytes = 0;
  GcPlan plan = plan_gc(t.m, p);
  CHECK(plan.keys == std::vector<std::string>{"k-a"});
  CHECK(plan.layers.size() == 2);  // a's and b's stack positions
}

TEST_CASE("usage: bytes by keeper, shared and private cache bytes, images") {
  Model t;
  t.layer("base", "", 1000, 500);
  t.layer("app", "base", 100, 50);
  t.layer("tmp", "base", 10, 5);
  t.image("app", {"base", "app"});
  t.entry("k-app", "app", 2);
  t.entry("k-tmp", "tmp", 3);
  t.m.container_images[dg("manifest:app")] = 1;
  StoreUsage u = summarize_usage(t.m);
  CHECK(u.total == 1665);
  CHECK(u.kept[Keeper::images].total() == 1500);
  CHECK(u.kept[Keeper::shared].total() == 150);
  CHECK(u.kept[Keeper::cache].total() == 15);
  CHECK(u.cache_bytes == 15);
  CHECK(u.cache_reclaimable == 15);
  REQUIRE(u.cache.size() == 2);
  CHECK(u.cache[0].record.key == "k-tmp");  // most recently used first
  CHECK_FALSE(u.cache[0].shared);
  CHECK(u.cache[1].shared);
  CHECK(u.images_bytes == 1650);
  CHECK(u.images_reclaimable == 0);  // a container uses the image
  REQUIRE(u.images.size() == 1);
  CHECK(u.images[0].shared_size == 150);
}

TEST_CASE("GC: kept ADD <url> downloads are leaves in the same least-recently-used order, past the grace time") {
  Model t;
  t.layer("a", "", 100);
  t.entry("k-a", "a", 500'000);
  t.m.downloads.push_back({"d-old", 40, 100'000});
  t.m.downloads.push_back({"d-new", 40, 900'000});
  t.m.downloads.push_back({"d-now", 40, t.m.now - 5});  // used within the grace time: a build may be copying it

  GcPolicy bounded;
  bounded.keep_bytes = 100;  // 220 bytes: the oldest download, then the entry used before the newer download
  GcPlan plan = plan_gc(t.m, bounded);
  CHECK(plan.bytes_before == 220);
  CHECK(plan.downloads == std::vector<std::string>{"d-old"});
  CHECK(plan.keys == std::vector<std::string>{"k-a"});
  CHECK(plan.bytes_after == 80);

  GcPlan all = plan_gc(t.m, GcPolicy{});
  CHECK(all.downloads == std::vector<std::string>{"d-old", "d-new"});
  CHECK(all.bytes_after == 40);

  GcPolicy until;
  until.unused_before = 800'000;
  CHECK(plan_gc(t.m, until).downloads == std::vector<std::string>{"d-old"});

  StoreUsage u = summarize_usage(t.m);
  CHECK(u.downloads == 3);
  CHECK(u.downloads_bytes == 120);
  CHECK(u.cache_bytes == 220);  // the entry's layer only the cache keeps, and the downloads
  CHECK(u.total == 220);
}
