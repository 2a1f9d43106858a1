// parse_cache_spec (include/mkimage/build.hpp): buildx's --cache-to / --cache-from values.
#include <limits>
#include <sstream>

#include "mkimage/build.hpp"
#include "store/reference.hpp"
#include "util/result.hpp"

namespace mkimage {

namespace {

util::Result<bool> parse_bool(const std::string& k, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return util::Error{"cache " + k + " must be true or false, not \"" + v + "\""};
}

util::Result<std::int64_t> parse_size(const std::string& v) {
  std::size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &pos);
  } catch (...) {
    return util::Error{"cache mounts-max-size \"" + v + "\" is not a size"};
  }
  std::string unit = v.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::int64_t mult = 1;
  if (unit == "" || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1 << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1 << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = std::int64_t{1} << 30;
  else return util::Error{"cache mounts-max-size \"" + v + "\" has an unknown unit"};
  if (n < 0) return util::Error{"cache mounts-max-size \"" + v + "\" is negative"};
  if (n > std::numeric_limits<std::int64_t>::max() / mult)
    return util::Error{"cache mounts-max-size \"" + v + "\" is too large"};
  return static_cast<std::int64_t>(n) * mult;
}

// One key=value of a spec; false when the key is unknown.
util::Result<bool> apply_field(CacheSpec& c, const std::string& k, const std::string& v) {
  if (k == "ref") c.ref = v;
  else if (k == "dest" || k == "src") c.dir = v;
  else if (k == "mode") {
    if (v != "min" && v != "max") return util::Error{"cache mode must be min or max, not \"" + v + "\""};
    c.mode_max = v == "max";
  } else if (k == "compression") {
    if (v == "gzip") c.compression = Compression::gzip;
    else if (v == "zstd") c.compression = Compression::zstd;
    else return util::Error{"cache compression must be gzip or zstd, not \"" + v + "\""};
  } else if (k == "ignore-error") {
    MKIMAGE_TRY(c.ignore_error, parse_bool(k, v));
  } else if (k == "mounts") {
    MKIMAGE_TRY(c.mounts, parse_bool(k, v));
  } else if (k == "mounts-max-size") {
    MKIMAGE_TRY(c.mounts_max_size, parse_size(v));
  } else if (k == "oci-mediatypes" || k == "image-manifest" || k == "compression-level" || k == "force-compression") {
    // buildx options whose effect mkimage always has (OCI types, one manifest) or ignores.
  } else {
    return false;
  }
  return true;
}

}  // namespace

util::Result<CacheSpec> parse_cache_spec(std::string_view text, bool for_export) {
  const std::string flag = for_export ? "--cache-to" : "--cache-from";
  std::string s(text);
  CacheSpec c;
  if (s.find('=') == std::string::npos) {  // `--cache-from REF`
    if (s.empty()) return util::Error{flag + " needs a value"};
    c.ref = s;
    if (auto r = store::Reference::parse(c.ref); !r.ok()) return util::Error{flag + ": " + r.error().message};
    return c;
  }
  std::string type, field;
  std::stringstream ss(s);
  while (std::getline(ss, field, ',')) {
    auto eq = field.find('=');
    if (eq == std::string::npos) return util::Error{flag + ": invalid field \"" + field + "\": want key=value"};
    std::string k = field.substr(0, eq), v = field.substr(eq + 1);
    if (k == "type") {
      type = v;
      continue;
    }
    MKIMAGE_TRY(bool known, apply_field(c, k, v));
    if (!known) return util::Error{flag + ": unknown key \"" + k + "\""};
  }
  if (type.empty() || type == "registry") c.type = CacheType::registry;
  else if (type == "local") c.type = CacheType::local;
  else if (type == "inline") c.type = CacheType::inline_records;
  else return util::Error{flag + ": unsupported cache type \"" + type + "\" (want registry, local or inline)"};
  if (c.type == CacheType::registry && c.ref.empty()) return util::Error{flag + ": type=registry needs ref=REF"};
  if (c.type == CacheType::registry) {
    // A malformed ref fails now, not after every step has run.
    if (auto r = store::Reference::parse(c.ref); !r.ok()) return util::Error{flag + ": " + r.error().message};
  }
  if (c.type == CacheType::local && c.dir.empty())
    return util::Error{flag + ": type=local needs " + (for_export ? "dest=DIR" : "src=DIR")};
  if (c.type == CacheType::inline_records && !for_export)
    return util::Error{"--cache-from: type=inline is not a source; import an inline cache with type=registry,ref=IMAGE"};
  return c;
}

}  // namespace mkimage
