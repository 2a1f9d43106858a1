// Internal to the store's layer tar readers (store/layer_apply.cpp applies a
// layer, store/snapshot_verify.cpp checks a snapshot against one): libarchive
// handles, tar name normalisation, an owning fd. Not a public header.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "store/archive_error.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace mkimage::store::layer_tar {

constexpr std::size_t k_max_name = 4096;       // bytes of a name or link target
constexpr std::size_t k_max_component = 255;   // bytes of one path component
constexpr int k_max_xattrs = 1024;             // per entry
constexpr std::size_t k_max_xattr_value = 64 * 1024;  // bytes
constexpr la_int64_t k_max_id = 4294967294;    // uid/gid
constexpr const char* k_opaque = ".wh..wh..opq";

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;

using util::Fd;

inline util::Result<ReadArchive> open_archive(const std::filesystem::path& layer) {
  ReadArchive a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  if (archive_read_open_filename(a.get(), layer.c_str(), 1 << 20) != ARCHIVE_OK) {
    return util::Error{"layer \"" + layer.string() + "\": " + archive_error_text(a.get())};
  }
  return a;
}

inline std::string parent_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? std::string() : p.substr(0, s);
}
inline std::string base_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
inline std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// Normalises a tar name. Errors: absolute, "..", too long.
inline util::Result<std::string> normalize(const char* raw, const char* what) {
  if (!raw) return util::Error{std::string(what) + " is not readable"};
  std::string_view s(raw);
  if (s.size() > k_max_name) return util::Error{std::string(what) + " longer than 4096 bytes"};
  if (s.empty()) return util::Error{std::string(what) + " is empty"};
  if (s.front() == '/') return util::Error{std::string(what) + " is an absolute path"};
  std::string out;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view c = s.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") return util::Error{std::string(what) + " has a \"..\" component"};
    if (c.size() > k_max_component) return util::Error{std::string(what) + " has a component longer than 255 bytes"};
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

// The next header of `a` and its normalised name; nullopt at the end of the
// archive. Errors name the layer (`where`): a read error, a bad name.
inline util::Result<std::optional<std::pair<archive_entry*, std::string>>> next_entry(archive* a, const std::string& where) {
  archive_entry* e = nullptr;
  int r = archive_read_next_header(a, &e);
  if (r == ARCHIVE_EOF) return std::optional<std::pair<archive_entry*, std::string>>{};
  if (r < ARCHIVE_WARN) return util::Error{where + ": " + archive_error_text(a)};
  auto name = normalize(archive_entry_pathname(e), "name");
  if (!name) return util::Error{where + ": " + name.error().message};
  return std::optional<std::pair<archive_entry*, std::string>>{std::pair{e, std::move(*name)}};
}

}  // namespace mkimage::store::layer_tar
