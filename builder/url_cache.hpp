// Revalidation of `ADD <url>` downloads, as BuildKit's HTTP source does it:
// the bytes of a URL fetched before are kept with the response's ETag under
// ROOT/url-cache/<sha256 of the URL>.{json,data}; the next build asks the server
// with a HEAD request carrying `If-None-Match: <etag>` and reuses the kept bytes
// when the server answers 200 or 304 with that same ETag, instead of fetching
// the body again. Anything else (no ETag, another ETag, an error, kept bytes
// gone) falls back to a full GET. They are build cache: `cache du` counts them,
// `cache prune` and the cache.max-size bound remove them (store/downloads.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "builder/copy_internal.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

// The kept download of `url` whose ETag the server confirms, or nullopt.
std::optional<Download> url_cache_revalidate(const std::filesystem::path& cache_dir, const std::string& url);

// Keeps `d` (its file is copied) as the download of `url` with `etag`. Failures
// are not errors of the build: the next build simply downloads again.
void url_cache_keep(const std::filesystem::path& cache_dir, const std::string& url, const std::string& etag,
                    const Download& d);

}  // namespace mkimage::builder
