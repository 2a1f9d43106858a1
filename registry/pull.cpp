#include "registry/pull.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "registry/client.hpp"
#include "registry/parallel.hpp"
#include "store/decompressing_sink.hpp"
#include "util/sha256.hpp"

namespace mkimage::registry {

using util::Error;
using util::Result;

// Downloads one layer into an uncompressed blob (see pull.hpp, step 3).
Result<std::int64_t> fetch_layer_blob(Client& client, store::Store& st, const std::string& repository,
                                      const store::Descriptor& blob, const store::DiffId& diff_id,
                                      TransferEvents& events, const std::vector<std::string>& urls) {
  std::string id = blob.digest.short_id();
  store::Compression c = blob.media_type.layer_compression();
  MKIMAGE_TRY(store::BlobWriter w, st.blobs().writer());
  store::BlobSink out(w);
  store::DecompressingSink unpack(c, out);
  util::Sha256 hash;
  std::optional<Error> unpack_error;  // kept until the digest is known: a corrupt blob is a digest mismatch
  events.layer(id, "Downloading");
  auto got = client.get_blob(
      repository, blob,
      [&](const char* p, std::size_t n) -> Result<void> {
        hash.update(p, n);
        if (!unpack_error) {
          if (auto w = unpack.write(p, n); !w.ok()) unpack_error = w.error();
        }
        return {};
      },
      [&](std::int64_t done) { events.layer_progress(id, done, blob.size); }, urls);
  if (!got.ok()) return Error{"layer " + blob.digest.str() + ": " + got.error().message};
  store::Digest seen = store::Digest::from_bytes(hash.finish());
  if (seen != blob.digest)
    return Error{"layer " + blob.digest.str() + ": digest mismatch: the registry sent " + seen.str()};
  if (unpack_error) return Error{"layer " + blob.digest.str() + ": " + unpack_error->message};
  if (auto f = unpack.finish(); !f.ok()) return Error{"layer " + blob.digest.str() + ": " + f.error().message};
  events.layer(id, "Download complete");
  auto info = w.commit(diff_id.digest);
  if (!info.ok())
    return Error{"layer " + blob.digest.str() + ": uncompressed content does not match diff_id " +
                 diff_id.digest.str() + ": " + info.error().message};
  events.layer(id, "Pull complete");
  return info->size;
}

namespace {

struct LayerJob {
  store::Descriptor blob;        // as the manifest lists it
  std::vector<std::string> urls; // foreign / non-distributable layers
  store::DiffId diff_id;
  std::int64_t size = 0;         // uncompressed bytes, once downloaded
};

// The manifest's layers' "urls" (foreign layers), by position.
std::vector<std::vector<std::string>> layer_urls(const std::string& manifest_bytes) {
  std::vector<std::vector<std::string>> out;
  try {
    auto j = nlohmann::json::parse(manifest_bytes);
    for (const auto& l : j.at("layers")) {
      std::vector<std::string> u;
      if (l.contains("urls") && l["urls"].is_array())
        for (const auto& x : l["urls"])
          if (x.is_string()) u.push_back(x.get<std::string>());
      out.push_back(std::move(u));
    }
  } catch (...) {
  }
  return out;
}

enum class DocKind { manifest, index, unknown };

DocKind kind_of(const FetchedManifest& m) {
  if (m.media_type.is_index()) return DocKind::index;
  if (m.media_type.is_manifest()) return DocKind::manifest;
  try {
    auto j = nlohmann::json::parse(m.bytes);
    std::string mt = j.value("mediaType", "");
    auto parsed = store::MediaType::parse(mt);
    if (parsed.ok() && parsed->is_index()) return DocKind::index;
    if (parsed.ok() && parsed->is_manifest()) return DocKind::manifest;
    if (mt.empty() && j.contains("manifests")) return DocKind::index;
    if (mt.empty() && j.contains("layers") && j.contains("config")) return DocKind::manifest;
  } catch (...) {
  }
  return DocKind::unknown;
}

Result<void> download_layer(Client& client, store::Store& st, const std::string& repository, LayerJob& job,
                            TransferEvents& events) {
  MKIMAGE_TRY(job.size, fetch_layer_blob(client, st, repository, job.blob, job.diff_id, events, job.urls));
  return {};
}

// Docker's foreign layers and OCI non-distributable ones: their `urls` are tried first.
bool is_foreign(const store::MediaType& m) {
  return m.str().find("foreign") != std::string::npos || m.str().find("nondistributable") != std::string::npos;
}

// Step 3 and the image record: downloads the layers the store lacks, then records
// the image. A layer that was here at the start may be deleted meanwhile (a
// concurrent prune); the image is then refused by the store and its missing
// layers are downloaded once more.
Result<store::Image> fetch_layers_and_record(Client& client, store::Store& st, const std::string& repository,
                                             const std::string& config_bytes, std::vector<LayerJob>& jobs,
                                             const RegistryConfig& config, TransferEvents& events) {
  for (int round = 0;; ++round) {
    std::vector<LayerJob*> todo;
    for (auto& j : jobs) {
      if (st.blobs().exists(j.diff_id.digest)) {
        MKIMAGE_TRY(j.size, st.blobs().size(j.diff_id.digest));
        if (round == 0) events.layer(j.blob.digest.short_id(), "Already exists");
      } else {
        events.layer(j.blob.digest.short_id(), "Pulling fs layer");
        todo.push_back(&j);
      }
    }
    MKIMAGE_TRY_VOID(parallel_for(config.max_concurrent_downloads, todo.size(), [&](std::size_t i) {
      return download_layer(client, st, repository, *todo[i], events);
    }));
    std::vector<store::Descriptor> layers;
    for (const auto& j : jobs)
      layers.push_back(store::Descriptor{store::oci_layer_media_type(store::Compression::none), j.diff_id.digest, j.size,
                                         {}, std::nullopt});
    auto image = st.put_image_raw(config_bytes, layers);
    if (image.ok() || round > 0) return image;
    bool lost = std::any_of(jobs.begin(), jobs.end(), [&](const LayerJob& j) { return !st.blobs().exists(j.diff_id.digest); });
    if (!lost) return image;
  }
}

Result<std::string> fetch_config(Client& client, store::Store& st, const std::string& repository,
                                 const store::Descriptor& config) {
  if (st.blobs().exists(config.digest)) return st.blobs().read(config.digest);
  if (config.size > static_cast<std::int64_t>(k_max_manifest_bytes) * 4)
    return Error{"config " + config.digest.str() + " is larger than 16 MiB"};
  std::string bytes;
  MKIMAGE_TRY_VOID(client.get_blob(repository, config, [&](const char* p, std::size_t n) -> Result<void> {
    bytes.append(p, n);
    return {};
  }));
  if (store::Digest::sha256_of(bytes) != config.digest)
    return Error{"config " + config.digest.str() + ": digest mismatch: the registry sent " +
                 store::Digest::sha256_of(bytes).str()};
  return bytes;
}

// Steps 1 and the platform choice: the image manifest to pull and the digest
// the user's reference resolved to (the index's, for a multi-platform image).
Result<std::pair<FetchedManifest, store::Digest>> resolve_manifest(Client& client, const store::Reference& ref,
                                                                   const store::Platform& platform) {
  std::string reference = ref.digest() ? ref.digest()->str() : ref.tag().value_or("latest");
  MKIMAGE_TRY(FetchedManifest top, client.get_manifest(ref.path(), reference));
  store::Digest resolved = top.digest;
  DocKind kind = kind_of(top);
  if (kind == DocKind::unknown)
    return Error{"unsupported manifest media type \"" + top.media_type.str() + "\""};
  if (kind == DocKind::manifest) return std::pair{std::move(top), resolved};
  MKIMAGE_TRY(store::ImageIndex index, store::parse_image_index(top.bytes));
  auto entry = select_platform(index, platform);
  std::string want = platform.os + "/" + platform.architecture + (platform.variant.empty() ? "" : "/" + platform.variant);
  if (!entry) return Error{"no matching manifest for " + want + " in the manifest list entries"};
  MKIMAGE_TRY(FetchedManifest child, client.get_manifest(ref.path(), entry->digest.str()));
  if (kind_of(child) != DocKind::manifest)
    return Error{"the index entry for " + want + " is not an image manifest (" + child.media_type.str() + ")"};
  return std::pair{std::move(child), resolved};
}

}  // namespace

std::optional<store::Descriptor> select_platform(const store::ImageIndex& index, const store::Platform& platform) {
  std::optional<store::Descriptor> loose;
  for (const auto& d : index.manifests) {
    if (!d.platform || d.platform->os != platform.os || d.platform->architecture != platform.architecture) continue;
    if (!d.media_type.empty() && !d.media_type.is_manifest()) continue;  // attestations, nested indexes
    if (d.platform->variant == platform.variant) return d;
    if (platform.variant.empty() && !loose) loose = d;
  }
  return loose;
}

Result<PullResult> pull_image(store::Store& st, const store::Reference& ref, const PullOptions& options,
                              TransferEvents& events) {
  std::string what = ref.familiar();
  auto fail = [&](const Error& e) { return Error{"pull " + what + ": " + e.message}; };
  auto client_r = Client::open(*options.config, *options.credentials, ref.domain(), false);
  if (!client_r.ok()) return fail(client_r.error());
  Client& client = **client_r;

  auto resolved = resolve_manifest(client, ref, options.platform);
  if (!resolved.ok()) return fail(resolved.error());
  auto& [fetched, top_digest] = *resolved;
  events.message((ref.digest() ? ref.str() : ref.tag().value_or("latest")) + ": Pulling from " + ref.path());
  PullResult result;
  result.repo_digest = ref.with_digest(top_digest);

  auto manifest = store::parse_manifest(fetched.bytes);
  if (!manifest.ok()) return fail(Error{"malformed manifest: " + manifest.error().message});
  if (!manifest->config.media_type.empty() && !manifest->config.media_type.is_config())
    return fail(Error{"unsupported config media type \"" + manifest->config.media_type.str() + "\""});

  // Already here under this digest, for this platform (the same config): nothing to download.
  auto known = st.index().find_repo_digest(result.repo_digest);
  if (!known.ok()) return fail(known.error());
  if (*known) {
    auto img = st.load(**known);
    if (img.ok() && img->record.config == manifest->config.digest) {
      if (ref.tag() && !ref.digest()) MKIMAGE_TRY_VOID(st.tag(ref, **known));
      result.image = std::move(*img);
      return result;
    }
  }
  auto config_bytes = fetch_config(client, st, ref.path(), manifest->config);
  if (!config_bytes.ok()) return fail(config_bytes.error());
  auto config = store::parse_image_config(*config_bytes);
  if (!config.ok()) return fail(Error{"malformed image config: " + config.error().message});
  if (config->diff_ids.size() != manifest->layers.size())
    return fail(Error{"the config lists " + std::to_string(config->diff_ids.size()) + " diff_ids but the manifest " +
                      std::to_string(manifest->layers.size()) + " layers"});

  std::vector<LayerJob> jobs(manifest->layers.size());
  auto urls = layer_urls(fetched.bytes);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& l = manifest->layers[i];
    if (!l.media_type.is_layer())
      return fail(Error{"unsupported layer media type \"" + l.media_type.str() + "\""});
    jobs[i].blob = l;
    jobs[i].diff_id = config->diff_ids[i];
    if (i < urls.size() && is_foreign(l.media_type)) jobs[i].urls = urls[i];
  }
  auto image = fetch_layers_and_record(client, st, ref.path(), *config_bytes, jobs, *options.config, events);
  if (!image.ok()) return fail(image.error());
  const store::Digest& local = image->manifest_descriptor.digest;
  auto recorded = st.index().transaction([&]() -> Result<void> {
    MKIMAGE_TRY_VOID(st.index().put_repo_digest(result.repo_digest, local));
    for (const auto& j : jobs)
      MKIMAGE_TRY_VOID(st.index().put_distribution_source(store::DistributionSource{j.blob, ref.domain(), ref.path(), j.diff_id}));
    return {};
  });
  if (!recorded.ok()) return fail(recorded.error());
  if (ref.tag() && !ref.digest()) MKIMAGE_TRY_VOID(st.tag(ref, local));  // NAME:TAG@DIGEST: the digest wins, no tag
  MKIMAGE_TRY(result.image, st.load(local));
  result.downloaded = true;  // a new image (even when every layer was here: "Downloaded newer image")
  return result;
}

}  // namespace mkimage::registry
