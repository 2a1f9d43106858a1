#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "store/lease.hpp"
#include "store/store.hpp"
#include "temp_dir.hpp"
#include "util/debug.hpp"
#include "tiny_tar.hpp"

using namespace mkimage;
using namespace mkimage::store;

namespace {

// Stores a layer tar (uncompressed) and returns its descriptor.
Descriptor put_layer(Store& s, const std::string& tar, const std::optional<ChainId>& parent = std::nullopt) {
  auto w = s.blobs().writer();
  REQUIRE(w.ok());
  REQUIRE(w->write(tar).ok());
  auto info = w->commit();
  REQUIRE(info.ok());
  REQUIRE(s.add_layer(*info, parent).ok());
  return Descriptor{oci_layer_media_type(Compression::none), info->digest, info->size, {}, std::nullopt};
}

// An image with the given layers (file contents) and a Cmd.
Image make_image(Store& s, const std::vector<std::string>& files, const std::string& cmd, std::int64_t created = 1700000000) {
  ImageConfig cfg;
  cfg.created = Timestamp{created, 0};
  cfg.config.cmd = std::vector<std::string>{cmd};
  std::vector<Descriptor> layers;
  std::optional<ChainId> parent;
  for (const auto& f : files) {
    auto d = put_layer(s, test::tiny_tar({{"f-" + f, f}}), parent);
    layers.push_back(d);
    cfg.diff_ids.push_back(DiffId{d.digest});
    parent = chain_id_of(parent ? &*parent : nullptr, DiffId{d.digest});
    cfg.history.push_back(HistoryEntry{cfg.created, "COPY " + f + " /", "", "", false});
  }
  cfg.history.push_back(HistoryEntry{cfg.created, "CMD [\"" + cmd + "\"]", "", "", true});
  auto img = s.put_image(cfg, layers);
  REQUIRE(img.ok());
  return *img;
}

nlohmann::json index_json(Store& s) { return nlohmann::json::parse(read_file(s.root().index_json()).value()); }

Reference ref(const char* text) { return Reference::parse(text).value(); }

}  // namespace

TEST_CASE("Store: put_image writes config, manifest, layer rows and loads back") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image img = make_image(s, {"a", "b"}, "run");
  CHECK(img.manifest.media_type.str() == media_types::oci_manifest);
  CHECK(img.manifest.config.media_type.str() == media_types::oci_config);
  CHECK(img.manifest.layers.size() == 2);
  CHECK(img.id() == img.record.config.str());
  CHECK(img.record.created == 1700000000);
  CHECK(img.record.size == img.manifest.layers[0].size + img.manifest.layers[1].size);
  CHECK(Digest::sha256_of(img.config_bytes) == img.record.config);
  CHECK(img.config.config.cmd == std::vector<std::string>{"run"});
  // The same image twice is the same digests (deterministic JSON).
  Image again = make_image(s, {"a", "b"}, "run");
  CHECK(again.record.manifest == img.record.manifest);
  CHECK(s.list_images().value().size() == 1);
  // Layer rows form a chain.
  ChainId c0 = chain_id_of(nullptr, img.config.diff_ids[0]);
  ChainId c1 = chain_id_of(&c0, img.config.diff_ids[1]);
  auto l1 = s.index().get_layer(c1).value();
  REQUIRE(l1.has_value());
  CHECK(l1->parent == c0);
  // diff_ids must match the layers.
  ImageConfig bad = img.config;
  bad.diff_ids.pop_back();
  CHECK_FALSE(s.put_image(bad, img.manifest.layers).ok());
}

TEST_CASE("Store: tags, resolve and index.json") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image img = make_image(s, {"a"}, "one");
  REQUIRE(s.tag(ref("goals"), img.record.manifest).ok());
  REQUIRE(s.tag(ref("localhost:5000/team/goals:v1"), img.record.manifest).ok());

  auto j = index_json(s);
  CHECK(j["schemaVersion"] == 2);
  REQUIRE(j["manifests"].size() == 2);
  std::set<std::string> names;
  for (const auto& m : j["manifests"]) {
    CHECK(m["digest"] == img.record.manifest.str());
    CHECK(m["mediaType"] == media_types::oci_manifest);
    CHECK(m["size"] == img.manifest_descriptor.size);
    names.insert(m["annotations"][annotations::ref_name].get<std::string>());
  }
  CHECK(names == std::set<std::string>{"goals:latest", "localhost:5000/team/goals:v1"});

  for (std::string text : {std::string("goals"), std::string("goals:latest"), std::string("docker.io/library/goals:latest"),
                           img.record.config.str(), img.record.config.hex(), img.record.config.short_id(),
                           img.record.config.hex().substr(0, 4), "sha256:" + img.record.config.hex().substr(0, 8),
                           img.record.manifest.str(), "goals@" + img.record.manifest.str()}) {
    CAPTURE(text);
    auto r = s.resolve(text);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->record.manifest == img.record.manifest);
    CHECK((*r)->tags.size() == 2);
  }
  CHECK_FALSE(s.resolve("nothere").value().has_value());
  CHECK_FALSE(s.resolve("goals:other").value().has_value());
  CHECK_FALSE(s.resolve("Bad Name").ok());
  CHECK_FALSE(s.resolve("sha256:xyz").ok());
  CHECK_FALSE(s.tag(ref("x"), Digest::sha256_of("not an image")).ok());

  // Re-tagging moves the tag; untag removes it from index.json.
  Image other = make_image(s, {"b"}, "two");
  REQUIRE(s.tag(ref("goals"), other.record.manifest).ok());
  CHECK(s.resolve("goals").value()->record.manifest == other.record.manifest);
  CHECK(s.untag(ref("goals")).value());
  CHECK_FALSE(s.untag(ref("goals")).value());
  j = index_json(s);
  REQUIRE(j["manifests"].size() == 1);
  CHECK(j["manifests"][0]["annotations"][annotations::ref_name] == "localhost:5000/team/goals:v1");
}

TEST_CASE("Store: rmi untags, refuses conflicts, deletes only unreferenced blobs") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image base = make_image(s, {"shared"}, "base");
  Image app = make_image(s, {"shared", "app"}, "app");
  REQUIRE(s.tag(ref("base"), base.record.manifest).ok());
  REQUIRE(s.tag(ref("app:1"), app.record.manifest).ok());
  REQUIRE(s.tag(ref("app:2"), app.record.manifest).ok());

  // By name with another tag left: only untag.
  auto r1 = s.remove_image("app:1", Force::no);
  REQUIRE(r1.ok());
  CHECK(r1->untagged.size() == 1);
  CHECK(r1->deleted.empty());
  CHECK(s.blobs().exists(app.record.manifest));

  REQUIRE(s.tag(ref("app:1"), app.record.manifest).ok());
  // By ID with two tags: conflict unless forced.
  auto conflict = s.remove_image(app.record.config.short_id(), Force::no);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().message.find("must be forced") != std::string::npos);

  auto forced = s.remove_image(app.record.config.short_id(), Force::yes);
  REQUIRE(forced.ok());
  CHECK(forced->untagged.size() == 2);
  REQUIRE_FALSE(forced->deleted.empty());
  CHECK(forced->deleted.front() == app.record.config);
  CHECK(forced->reclaimed > 0);
  CHECK_FALSE(s.blobs().exists(app.record.manifest));
  CHECK_FALSE(s.blobs().exists(app.record.config));
  CHECK_FALSE(s.blobs().exists(app.manifest.layers[1].digest));
  CHECK(s.blobs().exists(app.manifest.layers[0].digest));  // still used by base
  CHECK(s.index().get_layer(chain_id_of(nullptr, base.config.diff_ids[0])).value().has_value());
  CHECK_FALSE(s.index().get_blob(app.manifest.layers[1].digest).value().has_value());
  CHECK(index_json(s)["manifests"].size() == 1);

  // A cache entry keeps its layer alive.
  REQUIRE(s.index().put_cache({"k", "{}", {base.manifest.layers[0].digest}, 0, 0}).ok());
  auto last = s.remove_image("base", Force::no);
  REQUIRE(last.ok());
  CHECK(last->untagged.size() == 1);
  CHECK(s.blobs().exists(base.manifest.layers[0].digest));
  CHECK_FALSE(s.blobs().exists(base.record.config));
  CHECK(s.list_images().value().empty());
  CHECK(index_json(s)["manifests"].empty());

  auto missing = s.remove_image("nothere", Force::no);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("No such image") != std::string::npos);
}

TEST_CASE("Store: rmi keeps images used by containers unless forced") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image img = make_image(s, {"x"}, "x");
  REQUIRE(s.tag(ref("x"), img.record.manifest).ok());
  ContainerRecord c;
  c.id = std::string(64, 'e');
  c.name = "c1";
  c.image = img.record.manifest;
  c.state = "exited";
  REQUIRE(s.index().put_container(c).ok());
  CHECK_FALSE(s.remove_image(img.record.config.hex(), Force::no).ok());
  // the last name of an image a container uses: refused (docker), untagged with -f
  auto refused = s.remove_image("x", Force::no);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("container eeeeeeeeeeee is using its referenced image") != std::string::npos);
  auto untag = s.remove_image("x", Force::yes);
  REQUIRE(untag.ok());
  CHECK(untag->deleted.empty());
  CHECK(s.list_images().value().size() == 1);
  CHECK(s.prune(PruneScope::dangling).value().deleted.empty());
  REQUIRE(s.remove_image(img.record.config.hex(), Force::yes).ok());
  CHECK(s.list_images().value().empty());
}

TEST_CASE("Store: image prune removes dangling images, -a every unused one") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image tagged = make_image(s, {"t"}, "t");
  Image dangling = make_image(s, {"d"}, "d");
  REQUIRE(s.tag(ref("keep"), tagged.record.manifest).ok());
  auto r = s.prune(PruneScope::dangling);
  REQUIRE(r.ok());
  CHECK(r->untagged.empty());
  CHECK(std::find(r->deleted.begin(), r->deleted.end(), dangling.record.config) != r->deleted.end());
  CHECK(s.list_images().value().size() == 1);
  auto all = s.prune(PruneScope::all_unused);
  REQUIRE(all.ok());
  CHECK(all->untagged.size() == 1);
  CHECK(s.list_images().value().empty());
  CHECK(s.blobs().list().value().empty());
  CHECK(index_json(s)["manifests"].empty());
}

TEST_CASE("Store: add_manifest registers an image whose blobs are already stored") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  std::string tar = test::tiny_tar({{"hello", "world"}});
  auto layer = s.blobs().put(tar);
  REQUIRE(layer.ok());
  ImageConfig cfg;
  cfg.diff_ids = {DiffId{layer->digest}};
  auto cfg_blob = s.blobs().put(serialize(cfg));
  Manifest m;
  m.config = Descriptor{MediaType::of(media_types::oci_config), cfg_blob->digest, cfg_blob->size, {}, std::nullopt};
  m.layers = {Descriptor{MediaType::of(media_types::oci_layer), layer->digest, layer->size, {}, std::nullopt}};
  auto man = s.blobs().put(serialize(m));
  auto img = s.add_manifest(man->digest);
  REQUIRE(img.ok());
  CHECK(img->record.config == cfg_blob->digest);
  CHECK(s.index().get_layer(chain_id_of(nullptr, DiffId{layer->digest})).value().has_value());
  CHECK(s.index().get_blob(man->digest).value()->media_type.str() == media_types::oci_manifest);

  Manifest broken = m;
  broken.layers[0].digest = Digest::sha256_of("absent");
  auto bman = s.blobs().put(serialize(broken));
  CHECK_FALSE(s.add_manifest(bman->digest).ok());
}

TEST_CASE("Store: check reports corrupt, missing and orphaned blobs; repair drops dead rows") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image good = make_image(s, {"good"}, "g");
  Image bad = make_image(s, {"bad"}, "b");
  REQUIRE(s.tag(ref("good"), good.record.manifest).ok());
  REQUIRE(s.tag(ref("bad"), bad.record.manifest).ok());
  auto clean = s.check(Repair::no);
  REQUIRE(clean.ok());
  CHECK(clean->ok());
  CHECK(clean->checked == 6);
  CHECK(clean->orphaned.empty());

  auto orphan = s.blobs().put("nobody knows me");
  REQUIRE(orphan.ok());
  Digest corrupt = good.manifest.layers[0].digest;
  std::filesystem::permissions(s.blobs().path(corrupt), std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  { std::ofstream(s.blobs().path(corrupt), std::ios::binary | std::ios::app) << "x"; }
  REQUIRE(s.blobs().remove(bad.manifest.layers[0].digest).ok());

  auto r = s.check(Repair::no);
  REQUIRE(r.ok());
  CHECK_FALSE(r->ok());
  CHECK(r->corrupt == std::vector<Digest>{corrupt});
  CHECK(r->missing == std::vector<Digest>{bad.manifest.layers[0].digest});
  CHECK(r->orphaned == std::vector<Digest>{orphan->digest});
  CHECK(r->repaired.empty());
  CHECK(s.resolve("bad").value().has_value());

  auto fixed = s.check(Repair::yes);
  REQUIRE(fixed.ok());
  CHECK_FALSE(fixed->repaired.empty());
  CHECK_FALSE(s.resolve("bad").value().has_value());
  CHECK(s.resolve("good").value().has_value());
  CHECK(index_json(s)["manifests"].size() == 1);
  auto after = s.check(Repair::no);
  REQUIRE(after.ok());
  CHECK(after->missing.empty());
  CHECK(after->corrupt.size() == 1);  // corruption is reported, never "repaired" by deleting data
}

TEST_CASE("Store: recording an image waits for a blob deletion in progress and then sees the blob gone") {
  // The gc.lock protocol (store/store.cpp RootLock): a prune holds it exclusively
  // from deleting rows to deleting files; put_image holds it shared from checking
  // the layer files to inserting its rows. A pull that found a layer "already
  // there" must not record an image over a file a prune is about to delete.
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Descriptor layer = put_layer(s, test::tiny_tar({{"f", "shared"}}));
  ImageConfig cfg;
  cfg.diff_ids = {DiffId{layer.digest}};
  cfg.history.push_back(HistoryEntry{std::nullopt, "COPY f /", "", "", false});

  int fd = ::open(s.root().gc_lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);  // "a prune is deleting"
  auto pending = std::async(std::launch::async, [&] { return s.put_image(cfg, {layer}); });
  CHECK(pending.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);  // it waits
  REQUIRE(s.blobs().remove(layer.digest).ok());  // the prune deletes the file
  ::close(fd);                                    // and lets go
  auto r = pending.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("not in the store") != std::string::npos);
  CHECK(s.list_images().value().empty());
}

TEST_CASE("Store leases: prune and rmi keep what a live lease holds, and ignore a dead owner's lease") {
  test::TempDir tmp;
  auto builder_store = Store::open(tmp.path());  // "the build"
  auto other_store = Store::open(tmp.path());    // "prune / rmi in another process"
  REQUIRE(builder_store.ok());
  REQUIRE(other_store.ok());
  Store& b = **builder_store;
  Store& p = **other_store;

  Image base = make_image(p, {"base"}, "sh");
  REQUIRE(p.tag(ref("base:1"), base.record.manifest).ok());
  REQUIRE(b.begin_lease("build").ok());
  CHECK_FALSE(b.begin_lease("build").ok());  // one lease per store

  // The build resolves its base image: held, found again after holding.
  auto resolved = b.resolve_held("base:1");
  REQUIRE(resolved.ok());
  REQUIRE(resolved->has_value());
  // ... and records its own image: held from its creation.
  Image built = make_image(b, {"base", "own"}, "run");
  REQUIRE(b.tag(ref("built:1"), built.record.manifest).ok());
  CHECK(p.held_by_lease(built.record.manifest).value());
  CHECK(p.held_by_lease(base.record.manifest).value());

  auto pruned = p.prune(PruneScope::all_unused);
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted.empty());
  CHECK(pruned->untagged.empty());
  CHECK(p.resolve("built:1").value().has_value());
  CHECK(p.resolve("base:1").value().has_value());

  // rmi by ID is refused even with force; by name it only untags.
  auto by_id = p.remove_image(built.id(), Force::yes);
  REQUIRE_FALSE(by_id.ok());
  CHECK(by_id.error().message.find("running build") != std::string::npos);
  auto by_name = p.remove_image("built:1", Force::no);
  REQUIRE(by_name.ok());
  CHECK(by_name->untagged.size() == 1);
  CHECK(by_name->deleted.empty());
  CHECK(p.load(built.record.manifest).ok());
  for (const auto& l : built.manifest.layers) CHECK(p.blobs().exists(l.digest));

  // The lease ends: the next prune removes both images and every blob.
  REQUIRE(b.end_lease().ok());
  CHECK_FALSE(p.held_by_lease(built.record.manifest).value());
  auto after = p.prune(PruneScope::all_unused);
  REQUIRE(after.ok());
  CHECK(p.list_images().value().empty());
  for (const auto& l : built.manifest.layers) CHECK_FALSE(p.blobs().exists(l.digest));

  // A lease whose owner is gone (a killed build) holds nothing and is removed.
  Image again = make_image(p, {"again"}, "x");
  LeaseRecord dead = new_lease_record("build");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  dead.pid = child;  // exited and reaped
  REQUIRE(p.index().put_lease(dead).ok());
  REQUIRE(p.index().add_lease_refs(dead.id, {again.record.manifest}).ok());
  LeaseRecord reused = new_lease_record("build");  // this pid, but another start time: pid reuse
  reused.pid_start += 1;
  CHECK_FALSE(lease_owner_alive(reused));
  CHECK(lease_owner_alive(new_lease_record("build")));
  CHECK_FALSE(p.held_by_lease(again.record.manifest).value());
  CHECK(p.index().list_leases().value().empty());
  REQUIRE(p.prune(PruneScope::all_unused).ok());
  CHECK(p.list_images().value().empty());
}

TEST_CASE("Store leases: a hold waits for a deletion in progress; content deleted before the hold is seen gone") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  Image img = make_image(s, {"x"}, "sh");
  REQUIRE(s.tag(ref("x:1"), img.record.manifest).ok());
  REQUIRE(s.begin_lease("build").ok());
  int fd = ::open(s.root().gc_lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);  // "a prune is deleting x:1"
  auto pending = std::async(std::launch::async, [&] { return s.resolve_held("x:1"); });
  CHECK(pending.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);  // the hold waits
  {
    auto other = Store::open(tmp.path());
    REQUIRE(other.ok());
    REQUIRE((*other)->index().delete_image(img.record.manifest).ok());  // the prune's rows
  }
  ::close(fd);
  auto r = pending.get();
  REQUIRE(r.ok());
  CHECK_FALSE(r->has_value());  // resolved again after holding: gone, not half there
}

TEST_CASE("Index errors say what failed without SQLite's text (kept for --debug)") {
  test::TempDir tmp;
  auto opened = Store::open(tmp.path());
  REQUIRE(opened.ok());
  Store& s = **opened;
  // A tag for an image that is not there: a foreign key failure.
  auto r = s.index().put_tag(ref("nothing:1"), Digest::sha256_of("none"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("index database: a record refers to content that is not in the store") == 0);
  CHECK(r.error().message.find("FOREIGN KEY") == std::string::npos);
  CHECK(r.error().message.find("INSERT") == std::string::npos);
  util::set_debug(true);
  auto d = s.index().put_tag(ref("nothing:1"), Digest::sha256_of("none"));
  util::set_debug(false);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message.find("FOREIGN KEY constraint failed") != std::string::npos);
}
