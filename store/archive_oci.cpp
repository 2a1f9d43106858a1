// save: OCI archive and docker archive writing (store/archive.hpp), and the
// compressed-layer memo.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "util/json_text.hpp"
#include "store/archive.hpp"
#include "store/image.hpp"
#include "store/owner.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using util::Error;
using util::Result;

namespace {

// A tar written to a file (temp file + rename) or stdout, entries with mtime 0,
// uid/gid 0, mode 0644 (directories 0755).
class ArchiveOut {
public:
  ~ArchiveOut() {
    if (m_archive) archive_write_free(m_archive);
    if (m_fd >= 0 && m_fd != 1) ::close(m_fd);
    if (!m_tmp.empty()) ::unlink(m_tmp.c_str());
  }

  Result<void> open(const fs::path& out) {
    if (out == "-") {
      m_fd = 1;
    } else {
      m_out = out;
      fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
      // Owner-tagged (store/owner.hpp): a killed save's temp file is removed
      // by the next save to the same directory.
      (void)sweep_dead_save_temps(dir);
      std::string tmpl = save_temp_template(out);
      m_fd = ::mkstemp(tmpl.data());
      if (m_fd < 0) return util::sys_error("create", tmpl);
      ::fchmod(m_fd, 0644);
      m_tmp = tmpl;
    }
    m_archive = archive_write_new();
    archive_write_set_format_pax_restricted(m_archive);
    archive_write_set_bytes_per_block(m_archive, 1 << 16);
    archive_write_set_bytes_in_last_block(m_archive, 1);
    if (archive_write_open_fd(m_archive, m_fd) != ARCHIVE_OK) return failure("open");
    return {};
  }

  Result<void> dir(const std::string& name) {
    archive_entry* e = entry(name, AE_IFDIR, 0755, 0);
    int r = archive_write_header(m_archive, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN) return failure(name);
    return {};
  }

  Result<void> bytes(const std::string& name, std::string_view data) {
    archive_entry* e = entry(name, AE_IFREG, 0644, static_cast<la_int64_t>(data.size()));
    int r = archive_write_header(m_archive, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN) return failure(name);
    if (!data.empty() && archive_write_data(m_archive, data.data(), data.size()) < 0) return failure(name);
    return {};
  }

  Result<void> file(const std::string& name, const fs::path& src) {
    int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return util::sys_error("open", src.string());
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return util::sys_error("stat", src.string());
    }
    archive_entry* e = entry(name, AE_IFREG, 0644, st.st_size);
    int r = archive_write_header(m_archive, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN) {
      ::close(fd);
      return failure(name);
    }
    std::vector<char> buf(1 << 20);
    std::int64_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return util::sys_error("read", src.string());
      }
      if (archive_write_data(m_archive, buf.data(), static_cast<std::size_t>(n)) < 0) {
        ::close(fd);
        return failure(name);
      }
      left -= n;
    }
    ::close(fd);
    return {};
  }

  Result<void> finish() {
    if (archive_write_close(m_archive) != ARCHIVE_OK) return failure("close");
    if (!m_tmp.empty()) {
      if (::fsync(m_fd) != 0) return util::sys_error("fsync", m_tmp);
      int closed = ::close(m_fd);
      m_fd = -1;
      if (closed != 0) return util::sys_error("close", m_tmp);
      if (::rename(m_tmp.c_str(), m_out.c_str()) != 0) return util::sys_error("rename to", m_out.string());
      m_tmp.clear();
    }
    return {};
  }

private:
  static archive_entry* entry(const std::string& name, unsigned type, unsigned perm, la_int64_t size) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    return e;
  }

  Error failure(const std::string& what) {
    const char* m = archive_error_string(m_archive);
    std::string why = m ? m : "libarchive error";
    // libarchive's fd writer says "Write error" only; the errno says why (a full disk)
    int err = archive_errno(m_archive);
    if (err > 0 && why.find(std::strerror(err)) == std::string::npos) why += std::string(": ") + std::strerror(err);
    return Error{"write archive \"" + (m_out.empty() ? std::string("-") : m_out.string()) + "\": " + what + ": " + why};
  }

  archive* m_archive = nullptr;
  int m_fd = -1;
  fs::path m_out;
  std::string m_tmp;
};

// The uncompressed layer blob of diff_id: a layers row, else a blob named by it.
Result<Descriptor> uncompressed_layer(Store& store, const DiffId& diff_id) {
  MKIMAGE_TRY(auto row, store.index().find_layer_by_diff_id(diff_id));
  Digest blob = row ? row->blob : diff_id.digest;
  if (!store.blobs().exists(blob)) return Error{"layer " + diff_id.digest.str() + " is not in the store"};
  MKIMAGE_TRY(std::int64_t size, store.blobs().size(blob));
  return Descriptor{oci_layer_media_type(Compression::none), blob, size, {}, std::nullopt};
}

}  // namespace

Result<ArchiveFormat> parse_archive_format(std::string_view text) {
  if (text == "docker-archive" || text == "docker") return ArchiveFormat::docker_archive;
  if (text == "oci-archive" || text == "oci") return ArchiveFormat::oci_archive;
  return Error{"unknown archive format \"" + std::string(text) + "\" (want docker-archive or oci-archive)"};
}

Result<Descriptor> compressed_layer(Store& store, const DiffId& diff_id, Compression c, int level) {
  if (c == Compression::none) return uncompressed_layer(store, diff_id);
  MKIMAGE_TRY(auto memo, store.index().get_compressed_layer(diff_id, c));
  if (memo && store.blobs().exists(memo->descriptor.digest)) {
    Descriptor d = memo->descriptor;
    d.media_type = oci_layer_media_type(c);
    return d;
  }
  MKIMAGE_TRY(Descriptor plain, uncompressed_layer(store, diff_id));
  MKIMAGE_TRY(BlobWriter w, store.blobs().writer());
  BlobSink sink(w);
  MKIMAGE_TRY(StreamDigest z, compress_file(store.blobs().path(plain.digest), c, sink, level));
  MKIMAGE_TRY(BlobInfo info, w.commit(z.digest, z.size));
  Descriptor d{oci_layer_media_type(c), info.digest, info.size, {}, std::nullopt};
  MKIMAGE_TRY_VOID(store.add_blob(info, d.media_type));
  MKIMAGE_TRY_VOID(store.index().put_compressed_layer(CompressedLayerRecord{diff_id, c, d}));
  return d;
}

Result<void> save_images(Store& store, const std::vector<ArchiveImage>& images, const fs::path& out,
                         const SaveOptions& options) {
  if (images.empty()) return Error{"save: no images given"};
  Compression c = options.compression.value_or(options.format == ArchiveFormat::oci_archive ? Compression::gzip
                                                                                            : Compression::none);
  ArchiveOut tar;
  MKIMAGE_TRY_VOID(tar.open(out));
  MKIMAGE_TRY_VOID(tar.dir("blobs/"));
  MKIMAGE_TRY_VOID(tar.dir("blobs/sha256/"));
  std::set<Digest> written;
  auto blob_name = [](const Digest& d) { return "blobs/sha256/" + d.hex(); };
  auto put_blob_file = [&](const Digest& d) -> Result<void> {
    if (!written.insert(d).second) return {};
    return tar.file(blob_name(d), store.blobs().path(d));
  };
  auto put_blob_bytes = [&](const Digest& d, const std::string& bytes) -> Result<void> {
    if (!written.insert(d).second) return {};
    return tar.bytes(blob_name(d), bytes);
  };

  ImageIndex index;
  nlohmann::json docker_manifest = nlohmann::json::array();
  for (const auto& item : images) {
    const Image& img = item.image;
    Manifest m;
    m.config = Descriptor{MediaType::of(media_types::oci_config), img.record.config,
                          static_cast<std::int64_t>(img.config_bytes.size()), {}, std::nullopt};
    MKIMAGE_TRY_VOID(put_blob_bytes(img.record.config, img.config_bytes));
    nlohmann::json layer_paths = nlohmann::json::array();
    for (std::size_t i = 0; i < img.config.diff_ids.size(); ++i) {
      const DiffId& diff = img.config.diff_ids[i];
      Descriptor d;
      // A layer kept compressed in the store (e.g. added from elsewhere) is used
      // as is when it already has the wanted compression.
      if (i < img.manifest.layers.size() && img.manifest.layers[i].media_type.layer_compression() == c &&
          store.blobs().exists(img.manifest.layers[i].digest)) {
        d = img.manifest.layers[i];
        d.media_type = oci_layer_media_type(c);
        d.annotations.clear();
      } else {
        MKIMAGE_TRY(d, compressed_layer(store, diff, c, options.level));
      }
      MKIMAGE_TRY_VOID(put_blob_file(d.digest));
      m.layers.push_back(d);
      layer_paths.push_back(blob_name(d.digest));
    }
    std::string manifest_bytes = serialize(m);
    Digest manifest_digest = Digest::sha256_of(manifest_bytes);
    MKIMAGE_TRY_VOID(put_blob_bytes(manifest_digest, manifest_bytes));
    Descriptor md{MediaType::of(media_types::oci_manifest), manifest_digest,
                  static_cast<std::int64_t>(manifest_bytes.size()), {}, std::nullopt};
    nlohmann::json repo_tags = nlohmann::json::array();
    if (item.tags.empty()) {
      index.manifests.push_back(md);
    }
    for (const auto& t : item.tags) {
      Descriptor tagged = md;
      tagged.annotations[annotations::containerd_image_name] = t.str();
      tagged.annotations[annotations::ref_name] = t.familiar();
      index.manifests.push_back(tagged);
      repo_tags.push_back(t.familiar());
    }
    docker_manifest.push_back({{"Config", blob_name(img.record.config)},
                               {"RepoTags", repo_tags},
                               {"Layers", layer_paths}});
  }
  MKIMAGE_TRY_VOID(tar.bytes("index.json", serialize(index)));
  if (options.format == ArchiveFormat::docker_archive) {
    MKIMAGE_TRY_VOID(tar.bytes("manifest.json", util::json_text(docker_manifest)));
  }
  MKIMAGE_TRY_VOID(tar.bytes("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  return tar.finish();
}

}  // namespace mkimage::store
