// `mkimage import`: a rootfs tarball becomes a one-layer image (docker import
// semantics). The tarball (a file, stdin or an http(s) URL; plain, gzip, zstd,
// xz or bzip2) is checked and unpacked like a layer (store/layer_apply.hpp: unsafe
// names are refused), then written again as a deterministic layer
// (store/layer_writer.hpp), so the same tree always gives the same diff_id.
// History: one entry, comment "Imported from <source>" unless a message is given.
#pragma once

#include <optional>
#include <string>

#include "net/http.hpp"
#include "store/image.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace mkimage::store {

struct ImportOptions {
  ContainerConfig config;              // from --change instructions
  std::string message;                 // history comment; "" = "Imported from <source>"
  std::optional<Reference> tag;        // NAME[:TAG] to point at the image
  std::optional<Timestamp> created;    // nullopt = now
  std::string architecture;            // "" = the host's (GOARCH name)
};

// Imports `source` ("-" = stdin, a URL, or a file path). Errors: download
// failures (with the HTTP status), refused tar entries, I/O.
util::Result<Image> import_rootfs(Store& store, const std::string& source, const ImportOptions& options);

// The host architecture as a GOARCH name ("amd64", "arm64", ...).
std::string host_architecture();

}  // namespace mkimage::store
