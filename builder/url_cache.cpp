#include "builder/url_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "net/http.hpp"
#include "util/sha256.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path entry_base(const fs::path& dir, const std::string& url) {
  return dir / store::Digest::sha256_of(url).hex();
}

}  // namespace

std::optional<Download> url_cache_revalidate(const fs::path& cache_dir, const std::string& url) {
  if (cache_dir.empty()) return std::nullopt;
  fs::path base = entry_base(cache_dir, url);
  std::ifstream in(base.string() + ".json");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("url", "") != url) return std::nullopt;
  std::string etag = j.value("etag", "");
  auto digest = store::Digest::parse(j.value("digest", ""));
  fs::path data = base.string() + ".data";
  std::error_code ec;
  if (etag.empty() || !digest.ok() || !fs::is_regular_file(data, ec)) return std::nullopt;

  net::HttpRequest req;
  req.method = "HEAD";
  req.url = url;
  req.follow_redirects = true;
  // BuildKit sends Accept-Encoding on the HEAD too: some servers give another
  // ETag without it.
  req.headers = {{"If-None-Match", etag}, {"Accept-Encoding", "gzip"}};
  net::HttpClient client;
  auto r = client.perform(req);
  if (!r.ok() || (r->status != 200 && r->status != 304)) return std::nullopt;
  std::string got = r->header("etag").value_or(r->status == 304 ? etag : "");
  if (got != etag) return std::nullopt;
  // The reuse counts as a use: the cache GC takes least recently used
  // downloads first (store/downloads.hpp reads this mtime).
  ::utimensat(AT_FDCWD, (base.string() + ".json").c_str(), nullptr, 0);
  Download d;
  d.file = data;
  d.digest = *digest;
  if (j.contains("mtime") && j["mtime"].is_number_integer()) d.mtime_s = j["mtime"].get<std::int64_t>();
  return d;
}

void url_cache_keep(const fs::path& cache_dir, const std::string& url, const std::string& etag, const Download& d) {
  if (cache_dir.empty() || etag.empty()) return;
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) return;
  fs::path base = entry_base(cache_dir, url);
  std::string tmp_suffix = ".tmp-" + std::to_string(::getpid());
  fs::path data = base.string() + ".data";
  fs::path data_tmp = data.string() + tmp_suffix;
  if (!fs::copy_file(d.file, data_tmp, fs::copy_options::overwrite_existing, ec) || ec) return;
  json j = {{"url", url}, {"etag", etag}, {"digest", d.digest.str()}};
  if (d.mtime_s) j["mtime"] = *d.mtime_s;
  fs::path meta = base.string() + ".json";
  fs::path meta_tmp = meta.string() + tmp_suffix;
  {
    std::ofstream out(meta_tmp);
    out << j.dump();
    if (!out) {
      fs::remove(data_tmp, ec);
      return;
    }
  }
  // Data first: a record never names bytes that are not there yet.
  fs::rename(data_tmp, data, ec);
  if (!ec) fs::rename(meta_tmp, meta, ec);
  if (ec) {
    fs::remove(data_tmp, ec);
    fs::remove(meta_tmp, ec);
  }
}

}  // namespace mkimage::builder
