// The build graph's key phase and prediction (graph/graph.hpp, graph/predict.hpp)
// in memory: fake image sources, context digests and cache behind the
// interfaces of graph/sources.hpp; no filesystem, no store.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "graph/graph.hpp"
#include "graph/key_inputs.hpp"
#include "graph/predict.hpp"

using namespace mkimage;
using namespace mkimage::graph;

namespace {

struct FakeImages : ImageSources {
  std::map<std::string, ResolvedRef> refs;
  int calls = 0;
  util::Result<ResolvedRef> resolve(const std::string& reference) override {
    ++calls;
    auto it = refs.find(reference);
    if (it == refs.end()) return util::Error{"failed to resolve source metadata for " + reference};
    return it->second;
  }
};

// A context's files by path → content; a COPY's digest is the joined content
// of its sources (a stand-in: only equality matters to keys).
struct FakeContext : ContextDigests {
  std::map<std::string, std::string> files;
  util::Result<std::string> copy_digest(const std::string& dir, const parser::CopyInstruction& copy) override {
    std::string all = dir;
    for (const auto& s : copy.sources) {
      if (s == ".") {
        for (const auto& [p, c] : files) all += p + "=" + c + ";";
        continue;
      }
      auto it = files.find(s);
      if (it == files.end()) return util::Error{"\"/" + s + "\": not found"};
      all += s + "=" + it->second + ";";
    }
    return "sha256:" + fake_hex(all);
  }
  util::Result<std::string> mount_digest(const std::string& dir, const std::string& source) override {
    return "sha256:" + fake_hex(dir + "|" + source + "|" + (files.count(source) ? files[source] : ""));
  }
  static std::string fake_hex(const std::string& s) {
    KeyHasher h;
    h.add("x", s);
    return h.finish().str().substr(7);
  }
};

struct FakeCache : CacheLookup {
  std::set<std::string> keys;
  int lookups = 0;
  util::Result<bool> usable(const CacheKey& key) override {
    ++lookups;
    return keys.count(key.str()) > 0;
  }
};

ResolvedRef image(const std::string& digest) {
  ResolvedRef r;
  r.manifest_digest = digest;
  return r;
}

const std::string k_base1 = "sha256:" + std::string(64, '1');
const std::string k_base2 = "sha256:" + std::string(64, '2');

struct Fixture {
  FakeImages images;
  FakeContext context;
  FakeCache cache;
  GraphOptions options;
  Fixture() {
    images.refs["base"] = image(k_base1);
    images.refs["other"] = image(k_base2);
    context.files = {{"a.txt", "A"}, {"b.txt", "B"}};
  }
  Graph graph(const std::string& dockerfile, std::map<std::string, std::string> args = {}) {
    graph::PlanOptions po;
    po.build_args = std::move(args);
    auto plan = graph::plan_dockerfile(dockerfile, po);
    REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
    auto g = build_graph(*plan, options, images, context);
    REQUIRE(g.ok());
    return std::move(*g);
  }
  std::vector<Prediction> predict_all(const Graph& g) {
    auto p = predict(g, cache, {});
    REQUIRE(p.ok());
    return *p;
  }
  // Everything `g` has as a layer step is stored (a finished build).
  void store_all(const Graph& g) {
    for (const auto& op : g.ops)
      if (op.layer_step() && op.key) cache.keys.insert(op.key->str());
  }
};

std::vector<std::string> keys_of(const Graph& g) {
  std::vector<std::string> out;
  for (const auto& op : g.ops) out.push_back(op.key ? op.key->str() : "?");
  return out;
}

}  // namespace

TEST_CASE("every op, metadata included, has a key before anything runs") {
  Fixture f;
  Graph g = f.graph("FROM base\nENV A=1\nCOPY a.txt /a\nRUN echo hi\nWORKDIR /w\nCMD [\"x\"]\n");
  REQUIRE(g.ops.size() == 6);
  for (const auto& op : g.ops) CHECK_MESSAGE(op.key.has_value(), op.unknown);
  CHECK(g.ops[0].kind == OpKind::from);
  CHECK(g.ops[1].kind == OpKind::metadata);
  CHECK(g.ops[2].kind == OpKind::copy);
  CHECK(g.ops[3].kind == OpKind::run);
  CHECK(g.ops[4].kind == OpKind::workdir);
  for (std::size_t i = 1; i < g.ops.size(); ++i) CHECK(g.ops[i].parent == static_cast<int>(i) - 1);
  // The key spec: FROM is key_for_from over the manifest digest.
  KeyHasher h;
  CHECK(*g.ops[0].key == key_for_from(h, k_base1, "linux/amd64", std::nullopt));
}

TEST_CASE("keys are those of the key spec, chained on the parent") {
  Fixture f;
  Graph g = f.graph("FROM base\nRUN echo hi\n");
  KeyHasher h1, h2;
  CacheKey from = key_for_from(h1, k_base1, "linux/amd64", std::nullopt);
  RunKeyInputs in;
  in.argv = {"/bin/sh", "-c", "echo hi"};
  in.env = {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
  in.workdir = "/";
  CHECK(*g.ops[1].key == key_for_run(h2, from, in));
}

TEST_CASE("keys follow their inputs: content, build args, base, instruction text") {
  Fixture f;
  const std::string df = "FROM base\nARG V=1\nCOPY a.txt /a\nRUN echo $V\nCOPY b.txt /b\n";
  auto k0 = keys_of(f.graph(df));
  CHECK(keys_of(f.graph(df)) == k0);  // deterministic

  f.context.files["b.txt"] = "B2";  // only the last COPY changes
  auto k1 = keys_of(f.graph(df));
  CHECK(std::vector<std::string>(k1.begin(), k1.begin() + 4) == std::vector<std::string>(k0.begin(), k0.begin() + 4));
  CHECK(k1[4] != k0[4]);

  f.context.files["b.txt"] = "B";
  auto k2 = keys_of(f.graph(df, {{"V", "2"}}));  // the ARG's value: ARG and every later key
  CHECK(k2[0] == k0[0]);
  CHECK(k2[1] != k0[1]);
  CHECK(k2[4] != k0[4]);

  f.images.refs["base"] = image(k_base2);  // the base's digest: every key
  auto k3 = keys_of(f.graph(df));
  for (std::size_t i = 0; i < k0.size(); ++i) CHECK(k3[i] != k0[i]);
  f.images.refs["base"] = image(k_base1);

  auto k4 = keys_of(f.graph("FROM base\nARG V=1\nCOPY a.txt /a\nRUN echo $V!\nCOPY b.txt /b\n"));
  CHECK(k4[2] == k0[2]);
  CHECK(k4[3] != k0[3]);
}

TEST_CASE("stages: FROM stage and COPY --from name the stage's final key") {
  Fixture f;
  Graph g = f.graph("FROM base AS b\nRUN make\nFROM b AS c\nRUN x\nFROM other\nCOPY --from=b /out /out\nCOPY --from=c /y /y\n");
  const Op* copy = g.find(2, 0);
  REQUIRE(copy);
  REQUIRE(copy->key);
  CHECK(copy->needs == std::vector<int>{g.stage_final.at(0)});
  bool names_stage = false;
  for (const auto& [tag, value] : copy->fields)
    if (tag == "from" && value == "stage:" + g.ops[g.stage_final.at(0)].key->str()) names_stage = true;
  CHECK(names_stage);
  const Op* from_b = g.find(1, -1);
  REQUIRE(from_b);
  CHECK(from_b->needs == std::vector<int>{g.stage_final.at(0)});
}

TEST_CASE("one resolver answers FROM, COPY --from and RUN --mount from=, once per reference") {
  Fixture f;
  Graph g = f.graph("FROM base\nCOPY --from=other /x /x\nRUN --mount=type=bind,from=other,target=/m true\n");
  for (const auto& op : g.ops) CHECK_MESSAGE(op.key.has_value(), op.unknown);
  CHECK(f.images.calls == 2);  // "base", "other"
}

TEST_CASE("keys that need a result are unknown, with why, and so is what chains on them") {
  Fixture f;
  Graph g = f.graph(
      "FROM base AS s\nRUN make\nFROM base\nRUN --mount=type=bind,from=s,target=/m true\nRUN after\n"
      "ADD https://example.com/x /x\n");
  const Op* mount = g.find(1, 0);
  REQUIRE(mount);
  CHECK_FALSE(mount->key);
  CHECK(mount->unknown.find("stage s ") != std::string::npos);
  CHECK(mount->needs == std::vector<int>{g.stage_final.at(0)});
  CHECK_FALSE(g.find(1, 1)->key);
  Graph u = f.graph("FROM base\nADD https://example.com/x /x\n");
  CHECK_FALSE(u.find(0, 0)->key);
  CHECK(u.find(0, 0)->unknown.find("URL") != std::string::npos);
}

TEST_CASE("a base the sources cannot give is unknown; a COPY source missing is the op's problem") {
  Fixture f;
  ResolvedRef missing;
  missing.kind = ResolvedRef::Kind::unknown;
  missing.why = "not in the store: gone (a build would pull it)";
  f.images.refs["gone"] = missing;
  Graph g = f.graph("FROM gone\nRUN x\n");
  CHECK_FALSE(g.ops[0].key);
  CHECK(g.ops[0].unknown == missing.why);
  CHECK(g.ops[1].unknown == missing.why);
  Graph c = f.graph("FROM base\nCOPY nope /n\n");
  CHECK_FALSE(c.ops[1].key);
  CHECK(c.ops[1].unknown.find("not found") != std::string::npos);
}

TEST_CASE("prediction: cached until the first miss, then would run; hits after a miss stay hits") {
  Fixture f;
  const std::string df = "FROM base\nCOPY a.txt /a\nENV E=1\nRUN one\nRUN two\n";
  Graph g = f.graph(df);
  auto cold = f.predict_all(g);
  CHECK(cold[0].outcome == Outcome::cached);  // the base is resolved
  CHECK(cold[1].outcome == Outcome::miss);
  CHECK(cold[2].outcome == Outcome::would_run);  // metadata follows its parent
  CHECK(cold[3].outcome == Outcome::would_run);
  CHECK(cold[4].outcome == Outcome::would_run);

  f.store_all(g);
  for (const auto& p : f.predict_all(g)) CHECK(p.outcome == Outcome::cached);

  f.context.files["a.txt"] = "A2";
  Graph edited = f.graph(df);
  auto warm = f.predict_all(edited);
  CHECK(warm[1].outcome == Outcome::miss);
  CHECK(warm[3].outcome == Outcome::would_run);

  f.cache.keys.insert(edited.ops[4].key->str());  // a later step stored on its own
  CHECK(f.predict_all(edited)[4].outcome == Outcome::cached);
}

TEST_CASE("prediction: a stage after a missed stage would run; --no-cache; the miss-reason hook") {
  Fixture f;
  const std::string df = "FROM base AS b\nRUN make\nFROM other\nRUN x\nCOPY --from=b /o /o\n";
  Graph g = f.graph(df);
  f.store_all(g);
  f.cache.keys.erase(g.find(0, 0)->key->str());
  f.cache.keys.erase(g.find(1, 1)->key->str());
  auto p = f.predict_all(g);
  CHECK(p[static_cast<std::size_t>(g.index_of(0, 0))].outcome == Outcome::miss);
  CHECK(p[static_cast<std::size_t>(g.index_of(1, 0))].outcome == Outcome::cached);
  CHECK(p[static_cast<std::size_t>(g.index_of(1, 1))].outcome == Outcome::would_run);  // its source stage runs

  PredictOptions o;
  o.no_cache = [](int stage) { return stage == 1; };
  o.miss_reason = [](const Op&) { return std::string("the reason"); };
  auto q = predict(g, f.cache, o);
  REQUIRE(q.ok());
  CHECK((*q)[static_cast<std::size_t>(g.index_of(0, 0))].reason == "the reason");
  CHECK((*q)[static_cast<std::size_t>(g.index_of(1, 0))].outcome == Outcome::miss);
  CHECK((*q)[static_cast<std::size_t>(g.index_of(1, 0))].reason == "the reason");  // the hook names it
  o.miss_reason = nullptr;
  auto r = predict(g, f.cache, o);
  REQUIRE(r.ok());
  CHECK((*r)[static_cast<std::size_t>(g.index_of(1, 0))].reason == "--no-cache");
  CHECK((*r)[static_cast<std::size_t>(g.index_of(0, 0))].reason.empty());
}

TEST_CASE("prediction: a base to pull is the miss, unknown keys without a miss are unknown") {
  Fixture f;
  ResolvedRef missing;
  missing.kind = ResolvedRef::Kind::unknown;
  missing.why = "not in the store: gone (a build would pull it)";
  f.images.refs["gone"] = missing;
  auto p = f.predict_all(f.graph("FROM gone\nRUN x\n"));
  CHECK(p[0].outcome == Outcome::miss);
  CHECK(p[0].reason == missing.why);
  CHECK(p[1].outcome == Outcome::would_run);
  Graph g = f.graph("FROM base\nADD https://example.com/x /x\n");
  auto u = f.predict_all(g);
  CHECK(u[1].outcome == Outcome::unknown);
  CHECK(f.cache.lookups == 0);  // nothing to look up
}

TEST_CASE("key inputs: metadata arguments as keyed") {
  auto plan = graph::plan_dockerfile("FROM scratch\nENV A=1 B=2\nEXPOSE 80\nRUN x\n");
  REQUIRE(plan.ok());
  const auto& steps = plan->stages[0].steps;
  CHECK(*metadata_key_args(steps[0]) == std::vector<std::string>{"A=1", "B=2"});
  CHECK(*metadata_key_args(steps[1]) == std::vector<std::string>{"80/tcp"});
  CHECK_FALSE(metadata_key_args(steps[2]));
}

TEST_CASE("prediction: an unknown key after a missed source stage would run; alone it is unknown") {
  Fixture f;
  Graph g = f.graph("FROM base AS s\nRUN make\nFROM base\nRUN --mount=type=bind,from=s,target=/m true\nRUN after\n");
  int mount = g.index_of(1, 0);
  auto cold = f.predict_all(g);
  CHECK(cold[static_cast<std::size_t>(mount)].outcome == Outcome::would_run);
  f.store_all(g);
  auto warm = f.predict_all(g);
  CHECK(warm[static_cast<std::size_t>(mount)].outcome == Outcome::unknown);
  CHECK(warm[static_cast<std::size_t>(mount)].reason.find("stage s") != std::string::npos);
  CHECK(warm[static_cast<std::size_t>(g.index_of(1, 1))].outcome == Outcome::unknown);
  CHECK(warm[static_cast<std::size_t>(g.index_of(1, 1))].reason.find("follows a step") != std::string::npos);
}
