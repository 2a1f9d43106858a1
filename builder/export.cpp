// --output oci|docker|tar|local: the built image leaves the store, through
// store/archive.hpp:
//   local  the final rootfs: every layer applied in order (OCI whiteouts) onto `dest`
//   tar    the same rootfs as one tar
//   oci    an OCI image layout tar; layers compressed with the output's compression=, else --compression (gzip default)
//   docker a docker-archive tar for `docker load` (uncompressed layers, like docker save)
// `dest` "-" writes the tar to standard output.
#include "builder/build_internal.hpp"
#include "store/archive.hpp"

namespace mkimage::builder {

util::Result<void> export_output(BuildSession& s, const store::Image& image, const StageState& final_state,
                                 const OutputSpec& output) {
  (void)final_state;
  switch (output.type) {
    case OutputType::local:
      return store::export_local(*s.store, image, output.dest);
    case OutputType::tar:
      return store::export_rootfs_tar(*s.store, image, output.dest);
    case OutputType::oci:
    case OutputType::docker: {
      store::ArchiveImage ai;
      ai.image = image;
      for (const auto& t : s.request.tags) {
        MKIMAGE_TRY(store::Reference ref, store::Reference::parse(t));
        ai.tags.push_back(ref.tag() ? ref : ref.with_tag("latest"));
      }
      store::SaveOptions opts;
      if (output.type == OutputType::oci) {
        opts.format = store::ArchiveFormat::oci_archive;
        Compression c = output.compression.value_or(s.request.compression);
        opts.compression = c == Compression::zstd ? store::Compression::zstd : store::Compression::gzip;
      } else {
        opts.format = store::ArchiveFormat::docker_archive;
      }
      return store::save_images(*s.store, {ai}, output.dest, opts);
    }
    case OutputType::image:
      return {};
  }
  return {};
}

}  // namespace mkimage::builder
