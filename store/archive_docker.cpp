// load: docker archives (manifest.json) and OCI archives (index.json) into the
// store (store/archive.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "store/archive.hpp"
#include "store/image.hpp"
#include "store/layer_apply.hpp"
#include "store/snapshots.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

// A path named inside the archive, resolved inside `root` (no escape through
// ".." or symlinks). Errors: outside, missing.
Result<fs::path> inside(const fs::path& root, const std::string& name) {
  if (name.empty() || name.front() == '/') return Error{"archive names \"" + name + "\": not a relative path"};
  std::error_code ec;
  fs::path p = fs::canonical(root / name, ec);
  if (ec) return Error{"archive has no \"" + name + "\""};
  std::string r = root.string() + "/";
  if (p.string().compare(0, r.size(), r) != 0) return Error{"archive names \"" + name + "\" outside the archive"};
  if (!fs::is_regular_file(p, ec)) return Error{"archive entry \"" + name + "\" is not a file"};
  return p;
}

// One image found in the archive, before it is stored.
struct Found {
  std::string config_bytes;
  std::vector<fs::path> layers;  // files, bottom first (any compression)
  std::vector<Reference> tags;
};

Result<std::optional<Reference>> tag_of(const std::string& name) {
  if (name.empty()) return std::optional<Reference>{};
  auto r = Reference::parse(name);
  if (!r.ok()) return std::optional<Reference>{};  // e.g. a bare tag "latest": no repository
  if (r->digest()) return std::optional<Reference>{};
  return std::optional<Reference>(*r);
}

Result<void> collect_oci_manifest(const fs::path& root, const Descriptor& d, std::vector<Found>& out,
                                  std::map<Digest, std::size_t>& seen, int depth);

Result<std::string> read_blob(const fs::path& root, const Digest& d) {
  MKIMAGE_TRY(fs::path p, inside(root, "blobs/sha256/" + d.hex()));
  MKIMAGE_TRY(std::string bytes, read_file(p));
  if (Digest::sha256_of(bytes) != d) return Error{"archive blob " + d.str() + " does not match its digest"};
  return bytes;
}

Result<void> collect_oci_index(const fs::path& root, const ImageIndex& index, std::vector<Found>& out,
                               std::map<Digest, std::size_t>& seen, int depth) {
  if (depth > 4) return Error{"archive: image indexes nested too deeply"};
  for (const auto& d : index.manifests) {
    if (d.platform && (d.platform->os != "linux" && d.platform->os != "")) continue;  // attestations: os "unknown"
    if (d.media_type.is_index()) {
      MKIMAGE_TRY(std::string bytes, read_blob(root, d.digest));
      MKIMAGE_TRY(ImageIndex nested, parse_image_index(bytes));
      std::size_t before = out.size();
      MKIMAGE_TRY_VOID(collect_oci_index(root, nested, out, seen, depth + 1));
      // tags on the index entry name its (first) image
      if (out.size() > before) {
        for (const char* key : {annotations::containerd_image_name, annotations::ref_name}) {
          auto it = d.annotations.find(key);
          if (it == d.annotations.end()) continue;
          MKIMAGE_TRY(auto t, tag_of(it->second));
          if (t) {
            out[before].tags.push_back(*t);
            break;
          }
        }
      }
      continue;
    }
    MKIMAGE_TRY_VOID(collect_oci_manifest(root, d, out, seen, depth));
  }
  return {};
}

Result<void> collect_oci_manifest(const fs::path& root, const Descriptor& d, std::vector<Found>& out,
                                  std::map<Digest, std::size_t>& seen, int) {
  std::optional<Reference> tag;
  for (const char* key : {annotations::containerd_image_name, annotations::ref_name}) {
    auto it = d.annotations.find(key);
    if (it == d.annotations.end()) continue;
    MKIMAGE_TRY(tag, tag_of(it->second));
    if (tag) break;
  }
  if (auto it = seen.find(d.digest); it != seen.end()) {
    if (tag) out[it->second].tags.push_back(*tag);
    return {};
  }
  MKIMAGE_TRY(std::string bytes, read_blob(root, d.digest));
  MKIMAGE_TRY(Manifest m, parse_manifest(bytes));
  Found f;
  MKIMAGE_TRY(f.config_bytes, read_blob(root, m.config.digest));
  for (const auto& l : m.layers) {
    MKIMAGE_TRY(fs::path p, inside(root, "blobs/sha256/" + l.digest.hex()));
    f.layers.push_back(p);
  }
  if (tag) f.tags.push_back(*tag);
  seen[d.digest] = out.size();
  out.push_back(std::move(f));
  return {};
}

Result<std::vector<Found>> collect_docker(const fs::path& root) {
  MKIMAGE_TRY(std::string text, read_file(root / "manifest.json"));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Error{"archive: manifest.json is not a JSON array"};
  std::vector<Found> out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() || !e.contains("Layers") ||
        !e["Layers"].is_array()) {
      return Error{"archive: manifest.json entry without Config or Layers"};
    }
    Found f;
    std::string cfg_name = e["Config"].get<std::string>();
    MKIMAGE_TRY(fs::path cfg, inside(root, cfg_name));
    MKIMAGE_TRY(f.config_bytes, read_file(cfg));
    // the config file is named by its digest ("<hex>.json" or "blobs/sha256/<hex>")
    std::string stem = fs::path(cfg_name).filename().string();
    if (stem.size() >= 64) {
      auto named = Digest::from_hex(stem.substr(0, 64));
      if (named.ok() && *named != Digest::sha256_of(f.config_bytes)) {
        return Error{"archive: config \"" + cfg_name + "\" does not match its digest"};
      }
    }
    for (const auto& l : e["Layers"]) {
      if (!l.is_string()) return Error{"archive: manifest.json Layers holds a non-string"};
      MKIMAGE_TRY(fs::path p, inside(root, l.get<std::string>()));
      f.layers.push_back(p);
    }
    if (e.contains("RepoTags") && e["RepoTags"].is_array()) {
      for (const auto& t : e["RepoTags"]) {
        if (!t.is_string()) continue;
        auto r = Reference::parse(t.get<std::string>());
        if (!r.ok()) return Error{"archive: RepoTags: " + r.error().message};
        f.tags.push_back(*r);
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

// Stores one layer file (any compression) as an uncompressed blob; checks its diff_id.
Result<void> ingest_layer(Store& store, const fs::path& file, const DiffId& want, std::size_t i) {
  if (store.blobs().exists(want.digest)) return {};
  MKIMAGE_TRY(BlobWriter w, store.blobs().writer());
  BlobSink sink(w);
  MKIMAGE_TRY(StreamDigest plain, decompress_file(file, sink));
  if (plain.digest != want.digest) {
    return Error{"layer " + std::to_string(i) + " (" + file.filename().string() + "): its content is " +
                 plain.digest.str() + " but the config's diff_id is " + want.digest.str()};
  }
  MKIMAGE_TRY(BlobInfo info, w.commit(want.digest, plain.size));
  return store.add_blob(info, oci_layer_media_type(Compression::none));
}

}  // namespace

Result<Image> put_image_with_config_bytes(Store& store, const std::string& config_bytes) {
  MKIMAGE_TRY(ImageConfig config, parse_image_config(config_bytes));
  MKIMAGE_TRY(BlobInfo cfg, store.blobs().put(config_bytes));
  Manifest m;
  m.config = Descriptor{MediaType::of(media_types::oci_config), cfg.digest, cfg.size, {}, std::nullopt};
  for (const auto& diff : config.diff_ids) {
    if (!store.blobs().exists(diff.digest)) return Error{"layer " + diff.digest.str() + " is not in the store"};
    MKIMAGE_TRY(std::int64_t size, store.blobs().size(diff.digest));
    m.layers.push_back(Descriptor{oci_layer_media_type(Compression::none), diff.digest, size, {}, std::nullopt});
  }
  std::string manifest_bytes = serialize(m);
  MKIMAGE_TRY(BlobInfo man, store.blobs().put(manifest_bytes));
  return store.add_manifest(man.digest);
}

Result<std::vector<ArchiveImage>> load_archive(Store& store, const fs::path& in) {
  TempPath input_copy;
  fs::path input = in;
  if (in == "-") {
    MKIMAGE_TRY(fs::path dir, make_temp_dir(store.root(), "load-stdin"));
    input_copy.path = dir;
    input = dir / "archive";
    MKIMAGE_TRY_VOID(copy_fd_to_file(0, "-", input));
  }
  MKIMAGE_TRY(fs::path staging, make_temp_dir(store.root(), "load"));
  TempPath guard(staging);
  ApplyOptions opts;
  opts.allow_devices = false;
  opts.restore_owners = false;
  auto applied = apply_layer(input, staging, ApplyMode::flat, opts);
  if (!applied) return Error{"load: " + applied.error().message};
  staging = fs::canonical(staging);

  std::vector<Found> found;
  std::error_code ec;
  if (fs::exists(staging / "index.json", ec)) {
    MKIMAGE_TRY(std::string text, read_file(staging / "index.json"));
    MKIMAGE_TRY(ImageIndex index, parse_image_index(text));
    std::map<Digest, std::size_t> seen;
    MKIMAGE_TRY_VOID(collect_oci_index(staging, index, found, seen, 0));
    // docker archives also list RepoTags in manifest.json; take them when index.json has none
    if (fs::exists(staging / "manifest.json", ec)) {
      auto docker = collect_docker(staging);
      if (docker.ok()) {
        for (auto& d : *docker) {
          for (auto& f : found) {
            if (f.config_bytes == d.config_bytes && f.tags.empty()) f.tags = d.tags;
          }
        }
      }
    }
  } else if (fs::exists(staging / "manifest.json", ec)) {
    MKIMAGE_TRY(found, collect_docker(staging));
  } else {
    return Error{"load \"" + in.string() + "\": neither an OCI archive (index.json) nor a docker archive (manifest.json)"};
  }
  if (found.empty()) return Error{"load \"" + in.string() + "\": the archive holds no image"};

  std::vector<ArchiveImage> out;
  for (auto& f : found) {
    MKIMAGE_TRY(ImageConfig config, parse_image_config(f.config_bytes));
    if (config.diff_ids.size() != f.layers.size()) {
      return Error{"load: image config lists " + std::to_string(config.diff_ids.size()) + " diff_ids but the archive has " +
                   std::to_string(f.layers.size()) + " layers"};
    }
    for (std::size_t i = 0; i < f.layers.size(); ++i) {
      MKIMAGE_TRY_VOID(ingest_layer(store, f.layers[i], config.diff_ids[i], i));
    }
    MKIMAGE_TRY(Image img, put_image_with_config_bytes(store, f.config_bytes));
    std::vector<Reference> tags;
    for (const auto& t : f.tags) {
      Reference r = t.tag() ? t : t.with_tag("latest");
      MKIMAGE_TRY_VOID(store.tag(r, img.record.manifest));
      tags.push_back(r);
    }
    MKIMAGE_TRY(Image reloaded, store.load(img.record.manifest));
    out.push_back(ArchiveImage{std::move(reloaded), std::move(tags)});
  }
  return out;
}

namespace {

// The index.json entry of a layout that `tag` names (see load_layout_image).
Result<Descriptor> layout_entry_for_tag(const ImageIndex& index, const std::string& tag, const std::string& where) {
  std::vector<const Descriptor*> exact, suffix;
  for (const auto& d : index.manifests) {
    auto it = d.annotations.find(annotations::ref_name);
    if (it == d.annotations.end()) continue;
    const std::string& n = it->second;
    if (n == tag) exact.push_back(&d);
    else if (n.size() > tag.size() && n.compare(n.size() - tag.size() - 1, std::string::npos, ":" + tag) == 0)
      suffix.push_back(&d);
  }
  if (exact.size() == 1) return *exact[0];
  if (exact.empty() && suffix.size() == 1) return *suffix[0];
  if (exact.empty() && suffix.empty() && index.manifests.size() == 1) return index.manifests[0];
  return Error{"oci-layout " + where + ": failed to resolve digest: " +
               (exact.size() + suffix.size() > 1 ? "several manifests are tagged \"" + tag + "\""
                                                 : "no manifest is tagged \"" + tag + "\"") +
               " among the " + std::to_string(index.manifests.size()) + " entries of index.json"};
}

// The descriptor of blob `d` of the layout (its media type read from the blob).
Result<Descriptor> layout_descriptor(const fs::path& root, const Digest& d) {
  MKIMAGE_TRY(std::string bytes, read_blob(root, d));
  nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
  if (!j.is_object()) return Error{"oci-layout: blob " + d.str() + " is not a manifest or an index"};
  std::string mt = j.value("mediaType", std::string());
  if (mt.empty()) mt = j.contains("manifests") ? media_types::oci_index : media_types::oci_manifest;
  return Descriptor{MediaType::of(mt), d, static_cast<std::int64_t>(bytes.size()), {}, std::nullopt};
}

}  // namespace

Result<Image> load_layout_image(Store& store, const fs::path& dir, const std::string& tag, const std::string& digest) {
  std::error_code ec;
  fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec)) return Error{"oci-layout " + dir.string() + ": not a directory"};
  if (!fs::exists(root / "index.json", ec)) {
    return Error{"oci-layout " + dir.string() + ": no index.json (not an OCI image layout)"};
  }
  Descriptor chosen;
  if (!digest.empty()) {
    MKIMAGE_TRY(Digest d, Digest::parse(digest));
    auto desc = layout_descriptor(root, d);
    if (!desc.ok()) return Error{"oci-layout " + dir.string() + "@" + digest + ": " + desc.error().message};
    chosen = *desc;
  } else {
    MKIMAGE_TRY(std::string text, read_file(root / "index.json"));
    MKIMAGE_TRY(ImageIndex index, parse_image_index(text));
    MKIMAGE_TRY(chosen, layout_entry_for_tag(index, tag.empty() ? "latest" : tag, dir.string()));
  }
  for (int depth = 0; chosen.media_type.is_index(); ++depth) {
    if (depth > 4) return Error{"oci-layout " + dir.string() + ": image indexes nested too deeply"};
    MKIMAGE_TRY(std::string bytes, read_blob(root, chosen.digest));
    MKIMAGE_TRY(ImageIndex nested, parse_image_index(bytes));
    const Descriptor* pick = nullptr;
    for (const auto& m : nested.manifests) {
      if (m.platform && m.platform->os == "linux" && m.platform->architecture == "amd64") {
        pick = &m;
        break;
      }
    }
    if (!pick && nested.manifests.size() == 1) pick = &nested.manifests[0];
    if (!pick) return Error{"oci-layout " + dir.string() + ": no linux/amd64 manifest in index " + chosen.digest.str()};
    chosen = *pick;
  }
  std::vector<Found> found;
  std::map<Digest, std::size_t> seen;
  chosen.annotations.clear();
  MKIMAGE_TRY_VOID(collect_oci_manifest(root, chosen, found, seen, 0));
  const Found& f = found.at(0);
  MKIMAGE_TRY(ImageConfig config, parse_image_config(f.config_bytes));
  if (config.diff_ids.size() != f.layers.size()) {
    return Error{"oci-layout " + dir.string() + ": image config lists " + std::to_string(config.diff_ids.size()) +
                 " diff_ids but the manifest has " + std::to_string(f.layers.size()) + " layers"};
  }
  for (std::size_t i = 0; i < f.layers.size(); ++i) MKIMAGE_TRY_VOID(ingest_layer(store, f.layers[i], config.diff_ids[i], i));
  return put_image_with_config_bytes(store, f.config_bytes);
}

}  // namespace mkimage::store
