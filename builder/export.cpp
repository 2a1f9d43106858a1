// --output oci|docker|tar|local: the built image leaves the store.
//   local  the final rootfs: every layer applied in order (OCI whiteouts) onto `dest`
//   tar    the same rootfs as one deterministic tar (store/layer_writer.hpp)
//   oci    an OCI image layout tar (image-layout.md): oci-layout, index.json (with
//          the tags as org.opencontainers.image.ref.name), blobs/sha256/…; layers
//          compressed with --compression (gzip default, zstd)
//   docker a docker-archive tar (`docker load`): manifest.json with Config,
//          RepoTags and Layers, plus the same blobs/ (gzip layers for zstd requests too:
//          docker 20.10 cannot load zstd)
// `dest` "-" writes the tar to standard output.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "builder/build_internal.hpp"
#include "store/compression.hpp"
#include "store/layer_apply.hpp"
#include "store/layer_writer.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A tar being written with libarchive to a file or stdout.
class TarOut {
public:
  ~TarOut() {
    if (m_a) archive_write_free(m_a);
    if (m_fd >= 0 && m_own) ::close(m_fd);
  }
  util::Result<void> open(const std::string& dest) {
    if (dest == "-") {
      m_fd = STDOUT_FILENO;
    } else {
      m_fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (m_fd < 0) return util::sys_error("open", dest);
      m_own = true;
    }
    m_a = archive_write_new();
    archive_write_set_format_pax_restricted(m_a);
    archive_write_set_bytes_per_block(m_a, 0);
    if (archive_write_open_fd(m_a, m_fd) != ARCHIVE_OK) return error("open");
    return {};
  }
  util::Result<void> add_bytes(const std::string& name, std::string_view bytes, int mode = 0644) {
    archive_entry* e = entry(name, AE_IFREG, mode, static_cast<la_int64_t>(bytes.size()));
    if (archive_write_header(m_a, e) != ARCHIVE_OK) return free_error(e, "write header");
    if (!bytes.empty() && archive_write_data(m_a, bytes.data(), bytes.size()) < 0) return free_error(e, "write");
    archive_entry_free(e);
    return {};
  }
  util::Result<void> add_file(const std::string& name, const fs::path& path) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) return util::sys_error("stat", path.string(), ec.value());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return util::sys_error("open", path.string());
    archive_entry* e = entry(name, AE_IFREG, 0644, static_cast<la_int64_t>(size));
    if (archive_write_header(m_a, e) != ARCHIVE_OK) {
      ::close(fd);
      return free_error(e, "write header");
    }
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0) {
        ::close(fd);
        archive_entry_free(e);
        return util::sys_error("read", path.string());
      }
      if (n == 0) break;
      if (archive_write_data(m_a, buf.data(), static_cast<size_t>(n)) < 0) {
        ::close(fd);
        return free_error(e, "write");
      }
    }
    ::close(fd);
    archive_entry_free(e);
    return {};
  }
  util::Result<void> add_dir(const std::string& name) {
    archive_entry* e = entry(name, AE_IFDIR, 0755, 0);
    if (archive_write_header(m_a, e) != ARCHIVE_OK) return free_error(e, "write header");
    archive_entry_free(e);
    return {};
  }
  util::Result<void> close() {
    if (archive_write_close(m_a) != ARCHIVE_OK) return error("close");
    return {};
  }

private:
  archive_entry* entry(const std::string& name, unsigned type, int mode, la_int64_t size) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, static_cast<mode_t>(mode));
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    return e;
  }
  util::Error error(const char* what) {
    const char* m = archive_error_string(m_a);
    return util::Error{std::string("export tar: ") + what + ": " + (m ? m : "unknown error")};
  }
  util::Error free_error(archive_entry* e, const char* what) {
    archive_entry_free(e);
    return error(what);
  }
  archive* m_a = nullptr;
  int m_fd = -1;
  bool m_own = false;
};

struct ExportedBlob {
  store::Descriptor descriptor;
  fs::path path;  // file with the bytes
};

// Compresses each layer into the build's work dir (once per build and compression).
util::Result<std::vector<ExportedBlob>> compressed_layers(BuildSession& s, const store::Image& image,
                                                          store::Compression c, bool docker) {
  std::vector<ExportedBlob> out;
  for (const auto& l : image.manifest.layers) {
    fs::path src = s.store->blobs().path(l.digest);
    fs::path dst = s.work_dir / ("export-" + l.digest.hex() + "." + std::string(store::compression_name(c)));
    int fd = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return util::sys_error("open", dst.string());
    store::FdSink sink(fd, dst.string());
    auto r = store::compress_file(src, c, sink);
    ::close(fd);
    if (!r.ok()) return r.error();
    ExportedBlob b;
    b.descriptor.media_type = docker ? store::docker_layer_media_type(c) : store::oci_layer_media_type(c);
    b.descriptor.digest = r->digest;
    b.descriptor.size = r->size;
    b.path = dst;
    out.push_back(b);
  }
  return out;
}

util::Result<void> export_rootfs_dir(BuildSession& s, const store::Image& image, const fs::path& dest) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) return util::sys_error("mkdir", dest.string(), ec.value());
  for (const auto& l : image.manifest.layers) {
    MKIMAGE_TRY(auto stats, store::apply_layer(s.store->blobs().path(l.digest), dest, store::ApplyMode::flat));
    (void)stats;
  }
  return {};
}

util::Result<void> export_image_tar(BuildSession& s, const store::Image& image, const OutputSpec& out) {
  bool docker = out.type == OutputType::docker;
  store::Compression c = s.request.compression == Compression::zstd && !docker ? store::Compression::zstd
                                                                              : store::Compression::gzip;
  MKIMAGE_TRY(auto layers, compressed_layers(s, image, c, docker));
  store::Manifest m = image.manifest;
  m.layers.clear();
  for (const auto& l : layers) m.layers.push_back(l.descriptor);
  if (docker) {
    m.media_type = store::MediaType::of(store::media_types::docker_manifest);
    m.config.media_type = store::MediaType::of(store::media_types::docker_config);
  }
  std::string manifest_bytes = store::serialize(m);
  store::Digest manifest_digest = store::Digest::sha256_of(manifest_bytes);

  TarOut tar;
  MKIMAGE_TRY_VOID(tar.open(out.dest));
  MKIMAGE_TRY_VOID(tar.add_dir("blobs/"));
  MKIMAGE_TRY_VOID(tar.add_dir("blobs/sha256/"));
  std::set<std::string> written;
  auto blob_name = [](const store::Digest& d) { return "blobs/sha256/" + d.hex(); };
  MKIMAGE_TRY_VOID(tar.add_bytes(blob_name(image.record.config), image.config_bytes));
  written.insert(image.record.config.hex());
  for (const auto& l : layers) {
    if (!written.insert(l.descriptor.digest.hex()).second) continue;
    MKIMAGE_TRY_VOID(tar.add_file(blob_name(l.descriptor.digest), l.path));
  }
  std::vector<std::string> tags = s.request.tags;
  if (docker) {
    json entry;
    entry["Config"] = blob_name(image.record.config);
    json repo_tags = json::array();
    for (const auto& t : tags) {
      auto ref = store::Reference::parse(t);
      if (ref.ok()) repo_tags.push_back((ref->tag() ? *ref : ref->with_tag("latest")).familiar());
    }
    entry["RepoTags"] = repo_tags;
    json ls = json::array();
    for (const auto& l : layers) ls.push_back(blob_name(l.descriptor.digest));
    entry["Layers"] = ls;
    MKIMAGE_TRY_VOID(tar.add_bytes("manifest.json", json::array({entry}).dump()));
  } else {
    MKIMAGE_TRY_VOID(tar.add_bytes(blob_name(manifest_digest), manifest_bytes));
    store::ImageIndex index;
    store::Descriptor d;
    d.media_type = m.media_type;
    d.digest = manifest_digest;
    d.size = static_cast<std::int64_t>(manifest_bytes.size());
    if (tags.empty()) {
      index.manifests.push_back(d);
    } else {
      for (const auto& t : tags) {
        auto ref = store::Reference::parse(t);
        store::Descriptor td = d;
        if (ref.ok()) td.annotations[store::annotations::ref_name] = (ref->tag() ? *ref->tag() : std::string("latest"));
        if (ref.ok()) td.annotations[store::annotations::containerd_image_name] = (ref->tag() ? *ref : ref->with_tag("latest")).str();
        index.manifests.push_back(td);
      }
    }
    MKIMAGE_TRY_VOID(tar.add_bytes("index.json", store::serialize(index)));
    MKIMAGE_TRY_VOID(tar.add_bytes("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"));
  }
  MKIMAGE_TRY_VOID(tar.close());
  for (const auto& l : layers) {
    std::error_code ec;
    fs::remove(l.path, ec);
  }
  return {};
}

util::Result<void> export_rootfs_tar(BuildSession& s, const store::Image& image, const OutputSpec& out) {
  fs::path dir = s.work_dir / ("rootfs-" + new_container_id());
  MKIMAGE_TRY_VOID(export_rootfs_dir(s, image, dir));
  int fd = out.dest == "-" ? STDOUT_FILENO : ::open(out.dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return util::sys_error("open", out.dest);
  store::FdSink sink(fd, out.dest);
  store::LayerWriteOptions opts;
  opts.source_date_epoch = s.source_date_epoch;
  auto r = store::write_layer_from_dir(dir, sink, opts);
  if (fd != STDOUT_FILENO) ::close(fd);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!r.ok()) return r.error();
  return {};
}

}  // namespace

util::Result<void> export_output(BuildSession& s, const store::Image& image, const StageState& final_state,
                                 const OutputSpec& output) {
  (void)final_state;
  switch (output.type) {
    case OutputType::local: return export_rootfs_dir(s, image, output.dest);
    case OutputType::tar: return export_rootfs_tar(s, image, output);
    case OutputType::oci:
    case OutputType::docker: return export_image_tar(s, image, output);
    case OutputType::image: return {};
  }
  return {};
}

}  // namespace mkimage::builder
