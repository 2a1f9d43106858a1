// Images leaving and entering the store as archives and directories:
//   - OCI archive: a tar of an OCI image layout (image-spec image-layout.md):
//     oci-layout, index.json (one entry per image and tag, annotations
//     org.opencontainers.image.ref.name = "name:tag" and io.containerd.image.name =
//     full reference), blobs/sha256/<hex>; layers compressed (gzip by default,
//     media types tar+gzip / tar+zstd). `skopeo copy oci-archive:FILE …` reads it.
//   - docker archive: what `docker save` (Docker 25+) writes: the same OCI layout
//     with uncompressed layers plus manifest.json ([{"Config","RepoTags","Layers"}])
//     naming blobs/sha256/<hex> paths, so `docker load` and OCI readers both read it.
//   - flattened rootfs tar: every layer applied (whiteouts resolved), one tar.
//   - local directory: every layer applied onto DEST (flat apply).
// Archive entries are written in a fixed order with mtime 0, uid/gid 0, so the same
// image and options give the same archive bytes.
//
// Compressed layers are made once per (diff_id, compression): the result is kept
// as a blob and remembered in the index (compressed_layers table).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "store/compression.hpp"
#include "store/descriptor.hpp"
#include "store/media_type.hpp"
#include "store/reference.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace mkimage::store {

enum class ArchiveFormat { docker_archive, oci_archive };

// "docker-archive" / "docker", "oci-archive" / "oci". Errors: anything else.
util::Result<ArchiveFormat> parse_archive_format(std::string_view text);

// An image to write with the names to record for it (may be empty: untagged).
struct ArchiveImage {
  Image image;
  std::vector<Reference> tags;
};

struct SaveOptions {
  ArchiveFormat format = ArchiveFormat::docker_archive;
  // Layer compression. oci_archive: gzip unless set; docker_archive: none unless set
  // (docker save writes uncompressed layers; docker load reads gzip too).
  std::optional<Compression> compression;
  int level = 0;  // 0 = default level of the algorithm
};

// Writes `images` as one archive to `out` ("-" = stdout). The file is written to a
// temp file beside it and renamed into place. Errors: I/O, missing blobs.
util::Result<void> save_images(Store& store, const std::vector<ArchiveImage>& images,
                               const std::filesystem::path& out, const SaveOptions& options);

// The layer with `diff_id` compressed with `c`, as a blob in the store: made on
// first use (streamed from the uncompressed layer blob), then taken from the index.
// Compression::none returns the uncompressed layer's descriptor.
// Errors: the layer is not in the store, I/O.
util::Result<Descriptor> compressed_layer(Store& store, const DiffId& diff_id, Compression c, int level = 0);

// Writes the rootfs of `image` (its layers applied in order, whiteouts resolved)
// as one uncompressed tar to `out` ("-" = stdout). Uses a temp directory in the
// store root. Errors: refused layers, I/O.
util::Result<void> export_rootfs_tar(Store& store, const Image& image, const std::filesystem::path& out);

// Applies every layer of `image` onto `dest` (created if missing; existing files
// are overwritten, OCI whiteouts delete). Errors: refused layers, I/O.
util::Result<void> export_local(Store& store, const Image& image, const std::filesystem::path& dest);

// `load`: reads a docker archive or OCI archive (plain, gzip, zstd...) from `in`
// ("-" = stdin), stores every image it holds (layers decompressed and checked
// against the config's diff_ids; configs kept byte for byte) and restores its
// tags. Returns the images with their tags, in archive order. Errors: not an
// archive of either kind, digest or diff_id mismatches, unsafe archive entries, I/O.
util::Result<std::vector<ArchiveImage>> load_archive(Store& store, const std::filesystem::path& in);

// The image an OCI image layout directory `dir` holds (a `--build-context
// NAME=oci-layout://…`), stored untagged: `digest` ("sha256:…") names its manifest,
// or an index whose linux/amd64 (else only) manifest is taken; without a digest,
// the index.json entry whose org.opencontainers.image.ref.name is `tag` (or ends
// in ":TAG"), else the layout's only entry. Layers are decompressed and checked
// against the config's diff_ids, the config kept byte for byte. Errors: not a
// layout, no such digest or tag (several candidates), digest mismatches, I/O.
util::Result<Image> load_layout_image(Store& store, const std::filesystem::path& dir, const std::string& tag,
                                      const std::string& digest);

// Stores an image whose config is `config_bytes` (the exact bytes to keep) and
// whose layers are the uncompressed layer blobs listed in the config's diff_ids
// (already in the store): writes the OCI manifest the same way Store::put_image
// does and records the image. Errors: bad config, missing layers.
util::Result<Image> put_image_with_config_bytes(Store& store, const std::string& config_bytes);

}  // namespace mkimage::store
