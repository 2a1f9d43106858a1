#include "remote_cache/exporter.hpp"

#include "util/json_text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <mutex>
#include <set>

#include "registry/client.hpp"
#include "registry/parallel.hpp"
#include "store/archive.hpp"
#include "store/media_type.hpp"

namespace mkimage::remote_cache {

namespace fs = std::filesystem;
using nlohmann::json;
using util::Error;
using util::Result;

namespace {

// The distinct layers of the records and mounts, sorted by diff_id (a stable order:
// the same records give the same manifest).
std::vector<store::DiffId> layer_ids(const ExportInput& in) {
  std::set<std::string> seen;
  std::vector<store::DiffId> out;
  auto add = [&](const store::DiffId& d) {
    if (seen.insert(d.digest.str()).second) out.push_back(d);
  };
  for (const auto& r : in.records)
    if (r.diff_id) add(*r.diff_id);
  for (const auto& m : in.mounts) add(m.diff_id);
  std::sort(out.begin(), out.end(), [](const store::DiffId& a, const store::DiffId& b) { return a.digest.str() < b.digest.str(); });
  return out;
}

void log(const ExportInput& in, const std::string& line) {
  if (in.log) in.log(line);
}

// The layer compressed in the store (compressing it on first use; a remote hit's
// layer is fetched first). nullopt when that fetch fails: a bad imported layer
// leaves its records out of the export rather than failing it.
Result<std::optional<Layer>> local_layer(store::Store& st, const ExportInput& in, const store::DiffId& diff_id) {
  bool is_mount = std::any_of(in.mounts.begin(), in.mounts.end(), [&](const MountLayer& m) { return m.diff_id == diff_id; });
  store::Compression c = is_mount ? in.mount_compression : in.compression;
  auto memo = st.index().get_compressed_layer(diff_id, c);
  if (!memo.ok() || !*memo || !st.blobs().exists((*memo)->descriptor.digest)) {
    if (!st.blobs().exists(diff_id.digest)) {
      if (!in.materialize) return Error{"layer " + diff_id.digest.str() + " is not in the store"};
      if (auto got = in.materialize(diff_id); !got.ok()) {
        log(in, "layer " + diff_id.digest.str() + " left out: " + got.error().message);
        return std::optional<Layer>{};
      }
    }
  }
  MKIMAGE_TRY(store::Descriptor d, store::compressed_layer(st, diff_id, c));
  std::int64_t size = 0;
  if (st.blobs().exists(diff_id.digest)) {
    auto s = st.blobs().size(diff_id.digest);
    if (s.ok()) size = *s;
  }
  return std::optional<Layer>{Layer{diff_id, d, size}};
}

// The records (sorted, one per key) and mounts whose layers are among `layers`.
RecordSet make_set(const ExportInput& in, const std::vector<Layer>& layers) {
  RecordSet set;
  std::set<std::string> have;
  for (const auto& l : layers) have.insert(l.diff_id.digest.str());
  for (const auto& r : in.records)
    if (!r.diff_id || have.count(r.diff_id->digest.str())) set.records.push_back(r);
  std::sort(set.records.begin(), set.records.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  set.records.erase(std::unique(set.records.begin(), set.records.end(),
                                [](const Record& a, const Record& b) { return a.key == b.key; }),
                    set.records.end());
  set.layers = layers;
  for (const auto& m : in.mounts) {
    for (std::size_t i = 0; i < layers.size(); ++i)
      if (layers[i].diff_id == m.diff_id) set.mounts.push_back(Mount{m.id, i});
  }
  return set;
}

// A temporary file under the store's tmp dir holding `bytes`; removed on destruction.
struct TempFile {
  fs::path path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
  Result<void> write(const fs::path& dir, const std::string& bytes) {
    std::string tmpl = (dir / ("cache-config-" + std::to_string(::getpid()) + "-XXXXXX")).string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return util::sys_error("mkstemp", tmpl);
    path = tmpl;
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        int e = errno;
        ::close(fd);
        return util::sys_error("write", tmpl, e);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) return util::sys_error("close", tmpl);
    return {};
  }
};

// ---- registry -----------------------------------------------------------------

struct RegistryTarget {
  store::Store& st;
  registry::Client& client;
  const store::Reference& ref;
  const ExportInput& in;
  std::set<std::string> old_blobs;  // digests the ref's current manifest lists
  std::mutex m;
  ExportReport report;
};

// One layer onto the target repository, the cheapest way; returns what the
// manifest lists (nullopt: a remote hit's layer that could not be fetched).
Result<std::optional<Layer>> put_layer(RegistryTarget& t, const store::DiffId& diff_id) {
  const std::string repo = t.ref.path();
  std::optional<LayerLocation> loc;
  if (t.in.importer) loc = t.in.importer->locate(diff_id);
  if (loc && loc->registry == t.ref.domain()) {
    const store::Digest& d = loc->layer.blob.digest;
    if (t.old_blobs.count(d.str())) return std::optional<Layer>{loc->layer};
    if (loc->repository == repo) {
      MKIMAGE_TRY(auto size, t.client.blob_size(repo, d));
      if (size) return std::optional<Layer>{loc->layer};
    } else {
      MKIMAGE_TRY(bool mounted, t.client.mount_blob(repo, d, loc->repository));
      if (mounted) {
        std::lock_guard lock(t.m);
        ++t.report.mounted;
        log(t.in, "mounted layer " + d.str() + " from " + loc->repository);
        return std::optional<Layer>{loc->layer};
      }
    }
  }
  MKIMAGE_TRY(std::optional<Layer> fetched, local_layer(t.st, t.in, diff_id));
  if (!fetched) return fetched;
  const Layer& layer = *fetched;
  if (t.old_blobs.count(layer.blob.digest.str())) return fetched;
  MKIMAGE_TRY(auto size, t.client.blob_size(repo, layer.blob.digest));
  if (size) return fetched;
  log(t.in, "writing layer " + layer.blob.digest.str());
  MKIMAGE_TRY_VOID(t.client.upload_blob(repo, layer.blob, t.st.blobs().path(layer.blob.digest)));
  std::lock_guard lock(t.m);
  ++t.report.uploaded;
  t.report.bytes_uploaded += layer.blob.size;
  return fetched;
}

// The manifest the ref holds now (nullopt when the tag does not exist yet).
Result<std::optional<registry::FetchedManifest>> current_manifest(registry::Client& client, const store::Reference& ref) {
  auto m = client.get_manifest(ref.path(), ref.tag().value_or("latest"));
  if (m.ok()) return std::optional<registry::FetchedManifest>{*m};
  if (registry::Client::is_manifest_not_found(m.error())) return std::optional<registry::FetchedManifest>{};
  return m.error();
}

Result<ExportReport> registry_export(store::Store& st, registry::Client& client, const store::Reference& ref,
                                     const ExportInput& in, const registry::RegistryConfig& config) {
  RegistryTarget t{st, client, ref, in, {}, {}, {}};
  MKIMAGE_TRY(auto old, current_manifest(client, ref));
  if (old) {
    json m = json::parse(old->bytes, nullptr, false);
    if (m.is_object() && m.contains("layers") && m["layers"].is_array())
      for (const auto& l : m["layers"])
        if (l.is_object() && l.contains("digest") && l["digest"].is_string()) t.old_blobs.insert(l["digest"].get<std::string>());
    if (m.is_object() && m.contains("config") && m["config"].is_object() && m["config"].contains("digest") &&
        m["config"]["digest"].is_string())
      t.old_blobs.insert(m["config"]["digest"].get<std::string>());
  }
  std::vector<store::DiffId> ids = layer_ids(in);
  std::vector<std::optional<Layer>> put(ids.size());
  MKIMAGE_TRY_VOID(registry::parallel_for(config.max_concurrent_uploads, ids.size(), [&](std::size_t i) -> Result<void> {
    MKIMAGE_TRY(put[i], put_layer(t, ids[i]));
    return {};
  }));
  std::vector<Layer> layers;
  for (auto& l : put)
    if (l) layers.push_back(std::move(*l));
  RecordSet set = make_set(in, layers);
  std::string config_bytes = serialize(set);
  std::string manifest = manifest_json(set, config_bytes);
  t.report.layers = layers.size();
  t.report.manifest = store::Digest::sha256_of(manifest);
  if (old && old->digest == t.report.manifest) {
    t.report.unchanged = true;
    return t.report;
  }
  store::Descriptor cfg{store::MediaType::of(std::string(k_config_media_type)), store::Digest::sha256_of(config_bytes),
                        static_cast<std::int64_t>(config_bytes.size()), {}, std::nullopt};
  if (!t.old_blobs.count(cfg.digest.str())) {
    MKIMAGE_TRY(auto have, client.blob_size(ref.path(), cfg.digest));
    if (!have) {
      log(in, "writing config " + cfg.digest.str());
      TempFile f;
      MKIMAGE_TRY_VOID(f.write(st.root().tmp_dir(), config_bytes));
      MKIMAGE_TRY_VOID(client.upload_blob(ref.path(), cfg, f.path));
      ++t.report.uploaded;
      t.report.bytes_uploaded += cfg.size;
    }
  }
  log(in, "writing cache manifest " + t.report.manifest.str());
  MKIMAGE_TRY_VOID(client.put_manifest(ref.path(), ref.tag().value_or("latest"), manifest,
                                       store::MediaType::of(store::media_types::oci_manifest)));
  return t.report;
}

// ---- OCI image layout -----------------------------------------------------------

Result<void> write_atomic(const fs::path& path, const std::string& bytes) {
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return util::sys_error("open", tmp.string());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      int e = errno;
      std::error_code ec;
      fs::remove(tmp, ec);
      return util::sys_error("write", tmp.string(), e);
    }
  }
  int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    int r = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (r != 0) return util::sys_error("fsync", tmp.string(), e);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return util::sys_error("rename", path.string(), ec.value());
  return {};
}

// Copies a store blob into the layout (a hard link when on the same filesystem).
Result<bool> put_layout_blob(const fs::path& blobs, const fs::path& from, const store::Digest& d) {
  fs::path to = blobs / d.hex();
  std::error_code ec;
  if (fs::exists(to, ec)) return false;
  fs::path tmp = to;
  tmp += ".tmp-" + std::to_string(::getpid());
  fs::remove(tmp, ec);
  fs::create_hard_link(from, tmp, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) return util::sys_error("copy", tmp.string(), ec.value());
  }
  fs::rename(tmp, to, ec);
  if (ec) return util::sys_error("rename", to.string(), ec.value());
  return true;
}

Result<std::optional<store::Digest>> layout_manifest(const fs::path& dir) {
  std::ifstream in(dir / "index.json", std::ios::binary);
  if (!in) return std::optional<store::Digest>{};
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto index = store::parse_image_index(bytes);
  if (!index.ok() || index->manifests.empty()) return std::optional<store::Digest>{};
  return std::optional<store::Digest>{index->manifests.front().digest};
}

}  // namespace

Result<ExportReport> export_to_registry(store::Store& st, const registry::RegistryConfig& config,
                                        const registry::CredentialStore& credentials, const std::string& ref_text,
                                        const ExportInput& in) {
  MKIMAGE_TRY(store::Reference ref, store::Reference::parse(ref_text));
  if (ref.digest()) return Error{"cache ref " + ref_text + " names a digest: export needs a tag"};
  if (!ref.tag()) ref = ref.with_tag("latest");
  auto fail = [&](const Error& e) { return Error{"export cache to " + ref.familiar() + ": " + e.message}; };
  auto client = registry::Client::open(config, credentials, ref.domain(), true);
  if (!client.ok()) return fail(client.error());
  auto r = registry_export(st, **client, ref, in, config);
  if (!r.ok()) return fail(r.error());
  return r;
}

Result<ExportReport> export_to_layout(store::Store& st, const fs::path& dir, const ExportInput& in) {
  auto fail = [&](const Error& e) { return Error{"export cache to " + dir.string() + ": " + e.message}; };
  fs::path blobs = dir / "blobs" / "sha256";
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (ec) return fail(util::sys_error("mkdir", blobs.string(), ec.value()));
  ExportReport report;
  std::vector<Layer> layers;
  for (const auto& id : layer_ids(in)) {
    std::optional<LayerLocation> loc;
    if (in.importer) loc = in.importer->locate(id);
    if (loc && loc->registry.empty() && fs::exists(blobs / loc->layer.blob.digest.hex(), ec)) {
      layers.push_back(loc->layer);  // a remote hit from this very directory
      continue;
    }
    auto fetched = local_layer(st, in, id);
    if (!fetched.ok()) return fail(fetched.error());
    if (!*fetched) continue;
    const Layer* layer = &**fetched;
    auto put = put_layout_blob(blobs, st.blobs().path(layer->blob.digest), layer->blob.digest);
    if (!put.ok()) return fail(put.error());
    if (*put) {
      ++report.uploaded;
      report.bytes_uploaded += layer->blob.size;
    }
    layers.push_back(*layer);
  }
  RecordSet set = make_set(in, layers);
  std::string config_bytes = serialize(set);
  std::string manifest = manifest_json(set, config_bytes);
  report.layers = layers.size();
  report.manifest = store::Digest::sha256_of(manifest);
  MKIMAGE_TRY(auto old, layout_manifest(dir));
  if (old && *old == report.manifest && fs::exists(blobs / report.manifest.hex(), ec)) {
    report.unchanged = true;
    return report;
  }
  for (const auto* bytes : {&config_bytes, &manifest}) {
    fs::path p = blobs / store::Digest::sha256_of(*bytes).hex();
    if (fs::exists(p, ec)) continue;
    if (auto w = write_atomic(p, *bytes); !w.ok()) return fail(w.error());
    if (bytes == &config_bytes) {  // counted as the registry export counts it
      ++report.uploaded;
      report.bytes_uploaded += static_cast<std::int64_t>(config_bytes.size());
    }
  }
  json index = {{"schemaVersion", 2},
                {"mediaType", store::media_types::oci_index},
                {"manifests", json::array({{{"mediaType", store::media_types::oci_manifest},
                                            {"artifactType", std::string(k_artifact_type)},
                                            {"digest", report.manifest.str()},
                                            {"size", manifest.size()},
                                            {"annotations", {{store::annotations::ref_name, "latest"}}}}})}};
  if (auto w = write_atomic(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"); !w.ok()) return fail(w.error());
  if (auto w = write_atomic(dir / "index.json", util::json_text(index)); !w.ok()) return fail(w.error());
  return report;
}

}  // namespace mkimage::remote_cache
