#include <doctest/doctest.h>

#include <fcntl.h>
#include <nlohmann/json.hpp>

#include "layer_test_util.hpp"
#include "store/archive.hpp"
#include "store/compression.hpp"
#include "store/image.hpp"
#include "store/import.hpp"
#include "store/layer_writer.hpp"
#include "store/snapshots.hpp"
#include "store/store.hpp"

using namespace mkimage;
using namespace layer_test;

namespace {

class BlobSink : public store::ByteSink {
public:
  explicit BlobSink(store::BlobWriter& w) : m_w(w) {}
  util::Result<void> write(const void* d, std::size_t n) override { return m_w.write(d, n); }

private:
  store::BlobWriter& m_w;
};

template <typename T>
T ok(util::Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}
void ok(util::Result<void> r) { REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message)); }

store::Descriptor commit_dir(store::Store& st, const fs::path& dir) {
  auto w = ok(st.blobs().writer());
  BlobSink sink(w);
  auto layer = ok(store::write_layer_from_dir(dir, sink));
  auto info = ok(w.commit(layer.diff_id.digest, layer.size));
  ok(st.add_blob(info, store::oci_layer_media_type(store::Compression::none)));
  return store::Descriptor{store::oci_layer_media_type(store::Compression::none), info.digest, info.size, {}, std::nullopt};
}

// A two-layer image tagged goals:latest: layer 1 a tree, layer 2 deletes a file and adds one.
store::Image make_image(store::Store& st, const TempDir& t) {
  fs::create_directories(t / "l1/etc");
  write_file(t / "l1/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  write_file(t / "l1/bin/app", std::string(100000, 'a'), 0755);
  write_file(t / "l1/old", "old\n");
  fs::create_symlink("bin/app", t / "l1/app");
  fs::create_directories(t / "l2");
  write_file(t / "l2/new", "new\n");
  write_file(t / "l2/.wh.old", "");
  auto d1 = commit_dir(st, t / "l1");
  auto d2 = commit_dir(st, t / "l2");
  store::ImageConfig cfg;
  cfg.created = store::Timestamp{1700000000, 0};
  cfg.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  cfg.config.cmd = std::vector<std::string>{"/bin/app"};
  cfg.diff_ids = {store::DiffId{d1.digest}, store::DiffId{d2.digest}};
  cfg.history = {store::HistoryEntry{cfg.created, "COPY l1 /", "", "", false},
                 store::HistoryEntry{cfg.created, "COPY l2 /", "", "", false}};
  auto img = ok(st.put_image(cfg, {d1, d2}));
  ok(st.tag(ok(store::Reference::parse("goals:latest")), img.record.manifest));
  return ok(st.load(img.record.manifest));
}

std::map<std::string, std::string> tar_files(const fs::path& p) {
  std::map<std::string, std::string> out;
  for (auto& e : read_tar(read_file(p))) {
    if (e.type == 'f') out[e.name] = e.data;
  }
  return out;
}

store::ArchiveImage tagged(const store::Image& img) {
  return store::ArchiveImage{img, {ok(store::Reference::parse("goals:latest"))}};
}

}  // namespace

TEST_CASE("OCI archive: layout, gzip layers, compressed once, deterministic, load gives the same digests") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  auto img = make_image(*st, t);
  store::SaveOptions opts;
  opts.format = store::ArchiveFormat::oci_archive;
  ok(store::save_images(*st, {tagged(img)}, t / "a.tar", opts));

  auto files = tar_files(t / "a.tar");
  REQUIRE(files.count("oci-layout"));
  REQUIRE(files.count("index.json"));
  CHECK_FALSE(files.count("manifest.json"));
  auto index = nlohmann::json::parse(files["index.json"]);
  REQUIRE(index["manifests"].size() == 1);
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "goals:latest");
  CHECK(index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/goals:latest");
  std::string mdigest = index["manifests"][0]["digest"];
  auto manifest = nlohmann::json::parse(files["blobs/sha256/" + mdigest.substr(7)]);
  REQUIRE(manifest["layers"].size() == 2);
  for (const auto& l : manifest["layers"]) {
    CHECK(l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
    std::string blob = files["blobs/sha256/" + std::string(l["digest"]).substr(7)];
    CHECK(static_cast<unsigned char>(blob[0]) == 0x1f);
    CHECK(store::Digest::sha256_of(blob).str() == l["digest"]);
  }
  CHECK(manifest["config"]["digest"] == img.record.config.str());

  // the compressed layer is remembered, and a second save gives the same bytes
  auto memo = ok(st->index().get_compressed_layer(img.config.diff_ids[0], store::Compression::gzip));
  REQUIRE(memo.has_value());
  CHECK(memo->descriptor.digest.str() == manifest["layers"][0]["digest"]);
  ok(store::save_images(*st, {tagged(img)}, t / "b.tar", opts));
  CHECK(read_file(t / "a.tar") == read_file(t / "b.tar"));

  auto st2 = ok(store::Store::open(t / "root2"));
  auto loaded = ok(store::load_archive(*st2, t / "a.tar"));
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].image.record.config == img.record.config);
  CHECK(loaded[0].image.record.manifest == img.record.manifest);
  CHECK(loaded[0].image.config.diff_ids == img.config.diff_ids);
  REQUIRE(loaded[0].tags.size() == 1);
  CHECK(loaded[0].tags[0].familiar() == "goals:latest");
  auto found = ok(st2->resolve("goals"));
  REQUIRE(found.has_value());
  CHECK(found->record.manifest == img.record.manifest);
}

TEST_CASE("docker archive: manifest.json with RepoTags, round trip; gzip-wrapped and zstd archives load") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  auto img = make_image(*st, t);
  ok(store::save_images(*st, {tagged(img)}, t / "d.tar", store::SaveOptions{}));
  auto files = tar_files(t / "d.tar");
  REQUIRE(files.count("manifest.json"));
  auto m = nlohmann::json::parse(files["manifest.json"]);
  REQUIRE(m.size() == 1);
  CHECK(m[0]["RepoTags"] == nlohmann::json::array({"goals:latest"}));
  CHECK(m[0]["Config"] == "blobs/sha256/" + img.record.config.hex());
  REQUIRE(m[0]["Layers"].size() == 2);
  // docker archives keep layers uncompressed: the layer file is the diff_id
  CHECK(m[0]["Layers"][0] == "blobs/sha256/" + img.config.diff_ids[0].digest.hex());

  SUBCASE("plain") {
    auto st2 = ok(store::Store::open(t / "root2"));
    auto loaded = ok(store::load_archive(*st2, t / "d.tar"));
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].image.record.manifest == img.record.manifest);
    CHECK(loaded[0].tags.size() == 1);
  }
  SUBCASE("whole archive gzip-compressed") {
    int fd = ::open((t / "d.tar.gz").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    store::FdSink out(fd, "d.tar.gz");
    ok(store::compress_file(t / "d.tar", store::Compression::gzip, out));
    ::close(fd);
    auto st2 = ok(store::Store::open(t / "root2"));
    auto loaded = ok(store::load_archive(*st2, t / "d.tar.gz"));
    CHECK(loaded[0].image.record.manifest == img.record.manifest);
  }
  SUBCASE("zstd layers") {
    store::SaveOptions z;
    z.format = store::ArchiveFormat::oci_archive;
    z.compression = store::Compression::zstd;
    ok(store::save_images(*st, {tagged(img)}, t / "z.tar", z));
    auto st2 = ok(store::Store::open(t / "root2"));
    auto loaded = ok(store::load_archive(*st2, t / "z.tar"));
    CHECK(loaded[0].image.record.manifest == img.record.manifest);
    CHECK(loaded[0].image.record.config == img.record.config);
  }
}

TEST_CASE("load refuses a layer whose content does not match its diff_id") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  auto img = make_image(*st, t);
  ok(store::save_images(*st, {tagged(img)}, t / "d.tar", store::SaveOptions{}));
  // rewrite the archive with layer 0 replaced by layer 1's bytes under the same name
  fs::create_directories(t / "x");
  REQUIRE(sh("tar -C '" + (t / "x").string() + "' -xf '" + (t / "d.tar").string() + "'") == 0);
  fs::path l0 = t / "x/blobs/sha256" / img.config.diff_ids[0].digest.hex();
  fs::path l1 = t / "x/blobs/sha256" / img.config.diff_ids[1].digest.hex();
  fs::remove(l0);
  fs::copy_file(l1, l0);
  // manifest.json only (no index.json), so the docker path is taken
  fs::remove(t / "x/index.json");
  REQUIRE(sh("tar -C '" + (t / "x").string() + "' -cf '" + (t / "bad.tar").string() + "' .") == 0);
  auto st2 = ok(store::Store::open(t / "root2"));
  auto r = store::load_archive(*st2, t / "bad.tar");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("diff_id") != std::string::npos);
}

TEST_CASE("export: local directory and flattened rootfs tar resolve whiteouts") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  auto img = make_image(*st, t);
  ok(store::export_local(*st, img, t / "out"));
  CHECK(read_file(t / "out/new") == "new\n");
  CHECK(read_file(t / "out/etc/passwd") == "root:x:0:0::/root:/bin/sh\n");
  CHECK_FALSE(fs::exists(t / "out/old"));
  CHECK(fs::read_symlink(t / "out/app") == "bin/app");
  ok(store::export_rootfs_tar(*st, img, t / "rootfs.tar"));
  auto names = names_of(read_tar(read_file(t / "rootfs.tar")));
  CHECK(names == std::vector<std::string>{"app", "bin/", "bin/app", "etc/", "etc/passwd", "new"});
}

TEST_CASE("import: a rootfs tarball becomes a one-layer image with the deterministic diff_id") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  fs::create_directories(t / "tree/usr/bin");
  write_file(t / "tree/usr/bin/hello", "#!/bin/sh\necho hi\n", 0755);
  fs::create_symlink("usr/bin", t / "tree/bin");
  REQUIRE(sh("tar -C '" + (t / "tree").string() + "' -czf '" + (t / "rootfs.tgz").string() + "' .") == 0);
  StringSink expect;
  auto want = ok(store::write_layer_from_dir(t / "tree", expect));

  store::ImportOptions opts;
  opts.config.cmd = std::vector<std::string>{"/bin/hello"};
  opts.tag = ok(store::Reference::parse("base:1"));
  auto img = ok(store::import_rootfs(*st, (t / "rootfs.tgz").string(), opts));
  REQUIRE(img.config.diff_ids.size() == 1);
  CHECK(img.config.diff_ids[0] == want.diff_id);
  REQUIRE(img.config.history.size() == 1);
  CHECK(img.config.history[0].comment == "Imported from " + (t / "rootfs.tgz").string());
  CHECK(img.config.config.cmd == std::vector<std::string>{"/bin/hello"});
  auto found = ok(st->resolve("base:1"));
  REQUIRE(found.has_value());

  auto bad = store::import_rootfs(*st, (fs::path(MKIMAGE_TESTDATA_DIR) / "hostile-layers/01-dotdot.tar").string(), {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("\"..\" component") != std::string::npos);
}

TEST_CASE("snapshots: ensure unpacks once, adopt renames, list and remove") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  auto img = make_image(*st, t);
  auto chain0 = store::chain_id_of(nullptr, img.config.diff_ids[0]);
  auto chain1 = store::chain_id_of(&chain0, img.config.diff_ids[1]);
  auto p0 = ok(store::ensure_snapshot(*st, chain0));
  CHECK(p0 == t / "root/snapshots" / chain0.digest.hex());
  CHECK(read_file(p0 / "etc/passwd") == "root:x:0:0::/root:/bin/sh\n");
  auto row = ok(st->index().get_layer(chain0));
  REQUIRE(row.has_value());
  CHECK(row->snapshot == std::optional<std::string>("snapshots/" + chain0.digest.hex()));
  write_file(p0 / "marker", "m");  // a second ensure does not unpack again
  CHECK(ok(store::ensure_snapshot(*st, chain0)) == p0);
  CHECK(fs::exists(p0 / "marker"));
  if (is_root()) {
    auto p1 = ok(store::ensure_snapshot(*st, chain1));
    struct stat s;
    REQUIRE(::lstat((p1 / "old").c_str(), &s) == 0);
    CHECK(S_ISCHR(s.st_mode));  // overlay whiteout
  }

  // adopt: an upperdir (same filesystem) becomes a snapshot by rename
  fs::create_directories(t / "root/tmp/up");
  write_file(t / "root/tmp/up/file", "u");
  store::ChainId fake{store::Digest::sha256_of("fake")};
  auto pa = ok(store::adopt_snapshot(*st, fake, t / "root/tmp/up"));
  CHECK(read_file(pa / "file") == "u");
  CHECK_FALSE(fs::exists(t / "root/tmp/up"));
  auto list = ok(store::list_snapshots(*st));
  CHECK(std::find(list.begin(), list.end(), chain0) != list.end());
  CHECK(std::find(list.begin(), list.end(), fake) != list.end());
  ok(store::remove_snapshot(*st, chain0));
  CHECK_FALSE(fs::exists(p0));
  row = ok(st->index().get_layer(chain0));
  CHECK_FALSE(row->snapshot.has_value());
}

TEST_CASE("snapshots: an unsynced snapshot of another boot is checked against its blob once") {
  TempDir t;
  auto st = ok(store::Store::open(t / "root"));
  auto img = make_image(*st, t);
  auto chain0 = store::chain_id_of(nullptr, img.config.diff_ids[0]);
  auto p0 = ok(store::ensure_snapshot(*st, chain0));
  fs::path marker = store::unsynced_marker(p0);
  // An unpack writes without syncs: marked with this boot, trusted in it.
  REQUIRE(fs::exists(marker));
  CHECK_FALSE(store::unsynced_from_another_boot(p0));

  // The same snapshot after a reboot, intact: verified, then trusted for good.
  write_file(marker, "00000000-0000-0000-0000-000000000000\n");
  CHECK(store::unsynced_from_another_boot(p0));
  CHECK(ok(store::ensure_snapshot(*st, chain0)) == p0);
  CHECK_FALSE(fs::exists(marker));
  CHECK_FALSE(store::unsynced_from_another_boot(p0));
  CHECK(read_file(p0 / "etc/passwd") == "root:x:0:0::/root:/bin/sh\n");

  // After a reboot that lost the unsynced writes (a truncated file; an empty,
  // torn marker): unpacked again from the blob.
  write_file(marker, "");
  ::truncate((p0 / "etc/passwd").c_str(), 0);
  CHECK(store::unsynced_from_another_boot(p0));
  CHECK(ok(store::ensure_snapshot(*st, chain0)) == p0);
  CHECK(read_file(p0 / "etc/passwd") == "root:x:0:0::/root:/bin/sh\n");
  CHECK_FALSE(store::unsynced_from_another_boot(p0));  // the new unpack: this boot's marker

  // adopt marks the upperdir before the rename; remove takes the marker too.
  fs::create_directories(t / "root/tmp/up");
  write_file(t / "root/tmp/up/file", "u");
  store::ChainId fake{store::Digest::sha256_of("fake")};
  auto pa = ok(store::adopt_snapshot(*st, fake, t / "root/tmp/up"));
  CHECK(fs::exists(store::unsynced_marker(pa)));
  CHECK_FALSE(store::unsynced_from_another_boot(pa));
  ok(store::remove_snapshot(*st, chain0));
  CHECK_FALSE(fs::exists(marker));

  // store check does not count markers as stale snapshots.
  auto report = ok(st->check(store::Repair::no, store::CheckDepth::deep));
  for (const auto& s : report.stale) CHECK_MESSAGE(s.find(".unsynced") == std::string::npos, s);
}
