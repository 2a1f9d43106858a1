#include "store/downloads.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "util/hex.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;

namespace {

bool is_hex_name(const std::string& s) { return s.size() == 64 && util::is_lower_hex(s); }

}  // namespace

std::vector<DownloadRecord> list_downloads(const fs::path& dir) {
  std::vector<DownloadRecord> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".json" || !is_hex_name(p.stem().string())) continue;
    struct stat meta {}, data {};
    fs::path data_path = dir / (p.stem().string() + ".data");
    if (::lstat(p.c_str(), &meta) != 0 || ::lstat(data_path.c_str(), &data) != 0) continue;
    if (!S_ISREG(meta.st_mode) || !S_ISREG(data.st_mode)) continue;
    out.push_back({p.stem().string(), static_cast<std::int64_t>(meta.st_size + data.st_size),
                   static_cast<std::int64_t>(meta.st_mtim.tv_sec)});
  }
  return out;
}

std::int64_t remove_download(const fs::path& dir, const std::string& name) {
  std::int64_t freed = 0;
  for (const char* ext : {".json", ".data"}) {
    fs::path p = dir / (name + ext);
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && ::unlink(p.c_str()) == 0) freed += st.st_size;
  }
  return freed;
}

}  // namespace mkimage::store
