#include "remote_cache/source.hpp"

#include "util/json_text.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

#include "registry/client.hpp"
#include "registry/pull.hpp"
#include "store/decompressing_sink.hpp"
#include "store/image.hpp"
#include "store/media_type.hpp"
#include "util/sha256.hpp"

namespace mkimage::remote_cache {

namespace fs = std::filesystem;
using nlohmann::json;
using util::Error;
using util::Result;

namespace {

// An index's linux/amd64 manifest descriptor, when `bytes` is an index.
std::optional<store::Descriptor> platform_entry(const std::string& bytes) {
  auto index = store::parse_image_index(bytes);
  if (!index.ok()) return std::nullopt;
  json j = json::parse(bytes, nullptr, false);
  if (!j.is_object() || !j.contains("manifests")) return std::nullopt;
  store::Platform want;
  return registry::select_platform(*index, want);
}

class RegistrySource : public Source {
public:
  RegistrySource(std::unique_ptr<registry::Client> client, store::Reference ref)
      : m_client(std::move(client)), m_ref(std::move(ref)) {}
  std::string name() const override { return m_ref.familiar(); }
  std::string registry_domain() const override { return m_ref.domain(); }
  std::string repository() const override { return m_ref.path(); }

  Result<std::optional<FetchedDocument>> manifest() override {
    std::string reference = m_ref.digest() ? m_ref.digest()->str() : m_ref.tag().value_or("latest");
    auto m = m_client->get_manifest(m_ref.path(), reference);
    if (!m.ok()) {
      if (registry::Client::is_manifest_not_found(m.error())) return std::optional<FetchedDocument>{};
      return m.error();
    }
    if (auto entry = platform_entry(m->bytes)) {
      MKIMAGE_TRY(m, m_client->get_manifest(m_ref.path(), entry->digest.str()));
    }
    return std::optional<FetchedDocument>{FetchedDocument{m->bytes, m->digest}};
  }

  Result<std::string> small_blob(const store::Descriptor& blob) override {
    if (blob.size < 0 || static_cast<std::size_t>(blob.size) > k_max_config_bytes)
      return Error{"blob " + blob.digest.str() + " is larger than " + std::to_string(k_max_config_bytes >> 20) + " MiB"};
    std::string out;
    MKIMAGE_TRY_VOID(m_client->get_blob(m_ref.path(), blob, [&](const char* p, std::size_t n) -> Result<void> {
      if (out.size() + n > k_max_config_bytes) return Error{"blob " + blob.digest.str() + " is larger than announced"};
      out.append(p, n);
      return {};
    }));
    if (store::Digest::sha256_of(out) != blob.digest)
      return Error{"blob " + blob.digest.str() + ": digest mismatch: the registry sent other bytes"};
    return out;
  }

  Result<std::int64_t> fetch_layer(store::Store& st, const store::Descriptor& blob, const store::DiffId& diff_id,
                                   registry::TransferEvents& events) override {
    MKIMAGE_TRY(std::int64_t size, registry::fetch_layer_blob(*m_client, st, m_ref.path(), blob, diff_id, events));
    // A later push to this registry can mount the blob instead of uploading it.
    (void)st.index().put_distribution_source(store::DistributionSource{blob, m_ref.domain(), m_ref.path(), diff_id});
    return size;
  }

private:
  std::unique_ptr<registry::Client> m_client;
  store::Reference m_ref;
};

class LayoutSource : public Source {
public:
  explicit LayoutSource(fs::path dir) : m_dir(std::move(dir)) {}
  std::string name() const override { return "local:" + m_dir.string(); }

  Result<std::optional<FetchedDocument>> manifest() override {
    std::error_code ec;
    if (!fs::exists(m_dir / "index.json", ec)) return std::optional<FetchedDocument>{};
    MKIMAGE_TRY(std::string bytes, read_file(m_dir / "index.json", k_max_config_bytes));
    MKIMAGE_TRY(store::ImageIndex index, store::parse_image_index(bytes));
    if (index.manifests.empty()) return std::optional<FetchedDocument>{};
    store::Descriptor d = index.manifests.front();
    for (const auto& m : index.manifests)
      if (m.annotations.count(store::annotations::ref_name) && m.annotations.at(store::annotations::ref_name) == "latest")
        d = m;
    MKIMAGE_TRY(std::string manifest, small_blob(d));
    if (auto entry = platform_entry(manifest)) {
      MKIMAGE_TRY(manifest, small_blob(*entry));
    }
    return std::optional<FetchedDocument>{FetchedDocument{manifest, store::Digest::sha256_of(manifest)}};
  }

  Result<std::string> small_blob(const store::Descriptor& blob) override {
    MKIMAGE_TRY(std::string bytes, read_file(blob_path(blob.digest), k_max_config_bytes));
    if (store::Digest::sha256_of(bytes) != blob.digest)
      return Error{"blob " + blob.digest.str() + " in " + m_dir.string() + ": digest mismatch"};
    return bytes;
  }

  Result<std::int64_t> fetch_layer(store::Store& st, const store::Descriptor& blob, const store::DiffId& diff_id,
                                   registry::TransferEvents& events) override {
    std::string id = blob.digest.short_id();
    fs::path p = blob_path(blob.digest);
    std::ifstream in(p, std::ios::binary);
    if (!in) return util::sys_error("open", p.string());
    MKIMAGE_TRY(store::BlobWriter w, st.blobs().writer());
    store::BlobSink out(w);
    store::DecompressingSink unpack(blob.media_type.layer_compression(), out);
    util::Sha256 hash;
    std::optional<Error> unpack_error;  // kept until the digest is known: a corrupt blob is a digest mismatch
    std::vector<char> buf(1 << 20);
    events.layer(id, "Copying");
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      std::size_t n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      hash.update(buf.data(), n);
      if (!unpack_error)
        if (auto r = unpack.write(buf.data(), n); !r.ok()) unpack_error = r.error();
    }
    if (in.bad()) return util::sys_error("read", p.string());
    if (store::Digest::from_bytes(hash.finish()) != blob.digest)
      return Error{"layer " + blob.digest.str() + " in " + m_dir.string() + ": digest mismatch"};
    if (unpack_error) return Error{"layer " + blob.digest.str() + ": " + unpack_error->message};
    if (auto f = unpack.finish(); !f.ok()) return Error{"layer " + blob.digest.str() + ": " + f.error().message};
    auto info = w.commit(diff_id.digest);
    if (!info.ok())
      return Error{"layer " + blob.digest.str() + ": uncompressed content does not match diff_id " + diff_id.digest.str()};
    events.layer(id, "Copied");
    return info->size;
  }

private:
  fs::path blob_path(const store::Digest& d) const { return m_dir / "blobs" / "sha256" / d.hex(); }
  static Result<std::string> read_file(const fs::path& p, std::size_t max) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return util::sys_error("open", p.string());
    std::string s;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      s.append(buf, static_cast<std::size_t>(in.gcount()));
      if (s.size() > max) return Error{p.string() + " is larger than " + std::to_string(max >> 20) + " MiB"};
    }
    return s;
  }
  fs::path m_dir;
};

// Inline records: the image config's k_inline_config_key, layers from the image.
Result<std::optional<RecordSet>> inline_records(Source& source, const json& manifest) {
  MKIMAGE_TRY(store::Descriptor config, store::descriptor_from_json(manifest["config"]));
  if (!config.media_type.is_config()) return Error{"not a cache: its config media type is " + config.media_type.str()};
  MKIMAGE_TRY(std::string bytes, source.small_blob(config));
  json c = json::parse(bytes, nullptr, false);
  if (!c.is_object() || !c.contains(k_inline_config_key))
    return Error{"the image has no cache records (build it with --cache-to type=inline)"};
  MKIMAGE_TRY(RecordSet set, parse_record_set(util::json_text(c[k_inline_config_key])));
  MKIMAGE_TRY(store::ImageConfig image, store::parse_image_config(bytes));
  if (!manifest.contains("layers") || !manifest["layers"].is_array() || manifest["layers"].size() != image.diff_ids.size())
    return Error{"the image's manifest and config list different numbers of layers"};
  set.layers.clear();
  set.mounts.clear();
  for (std::size_t i = 0; i < image.diff_ids.size(); ++i) {
    MKIMAGE_TRY(store::Descriptor blob, store::descriptor_from_json(manifest["layers"][i]));
    set.layers.push_back(Layer{image.diff_ids[i], blob, 0});
  }
  return std::optional<RecordSet>{std::move(set)};
}

}  // namespace

Result<std::unique_ptr<Source>> registry_source(const registry::RegistryConfig& config,
                                                const registry::CredentialStore& credentials, const std::string& ref) {
  MKIMAGE_TRY(store::Reference r, store::Reference::parse(ref));
  if (!r.tag() && !r.digest()) r = r.with_tag("latest");
  MKIMAGE_TRY(auto client, registry::Client::open(config, credentials, r.domain(), false));
  return std::unique_ptr<Source>(new RegistrySource(std::move(client), std::move(r)));
}

std::unique_ptr<Source> layout_source(const fs::path& dir) { return std::make_unique<LayoutSource>(dir); }

Result<std::optional<RecordSet>> read_records(Source& source) {
  MKIMAGE_TRY(auto doc, source.manifest());
  if (!doc) return std::optional<RecordSet>{};
  json m = json::parse(doc->bytes, nullptr, false);
  if (!m.is_object() || !m.contains("config") || !m["config"].is_object())
    return Error{"the cache manifest " + doc->digest.str() + " is not a JSON image manifest"};
  auto config = cache_manifest_config(doc->bytes);
  if (!config.ok()) return inline_records(source, m);
  MKIMAGE_TRY(std::string bytes, source.small_blob(*config));
  MKIMAGE_TRY(RecordSet set, parse_record_set(bytes));
  MKIMAGE_TRY_VOID(check_layers(doc->bytes, set));
  return std::optional<RecordSet>{std::move(set)};
}

}  // namespace mkimage::remote_cache
