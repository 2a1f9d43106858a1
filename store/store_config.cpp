#include "store/store_config.hpp"

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "util/units.hpp"

namespace mkimage::store {

namespace fs = std::filesystem;
using nlohmann::json;

util::Result<StoreConfig> parse_store_config(const std::string& text, const fs::path& source) {
  auto bad = [&](const std::string& what) { return util::Error{"configuration \"" + source.string() + "\": " + what}; };
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return bad("not a JSON object");
  StoreConfig c;
  c.source = source;
  if (j.contains("builder")) {
    const json& builder = j["builder"];
    if (!builder.is_object()) return bad("\"builder\" must be an object");
    for (const auto& [k, v] : builder.items()) {
      if (k != "max-parallelism") return bad("unknown key \"builder." + k + "\"");
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 4096)
        return bad("builder.max-parallelism must be a number from 1 to 4096");
      c.max_parallelism = static_cast<unsigned>(v.get<std::int64_t>());
    }
  }
  if (!j.contains("cache")) return c;
  const json& cache = j["cache"];
  if (!cache.is_object()) return bad("\"cache\" must be an object");
  for (const auto& [k, v] : cache.items()) {
    if (k != "max-size") return bad("unknown key \"cache." + k + "\"");
    std::int64_t bytes = 0;
    if (v.is_number_unsigned() || v.is_number_integer()) {
      bytes = v.get<std::int64_t>();
      if (bytes < 0) return bad("cache.max-size must not be negative");
    } else if (v.is_string()) {
      auto parsed = util::parse_size_bytes(v.get<std::string>());
      if (!parsed) return bad("cache.max-size: " + parsed.error().message);
      bytes = *parsed;
    } else {
      return bad("cache.max-size must be a size such as \"10GB\"");
    }
    if (bytes > 0) c.cache_max_size = bytes;
  }
  return c;
}

util::Result<StoreConfig> load_store_config(const fs::path& root) {
  for (fs::path p : {root / "config.json", fs::path("/etc/mkimage/config.json")}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    if (!fs::is_regular_file(p, ec)) return util::Error{"configuration \"" + p.string() + "\": not a regular file"};
    std::ifstream in(p, std::ios::binary);
    if (!in) return util::Error{"configuration \"" + p.string() + "\": cannot be read"};
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return parse_store_config(text, p);
  }
  return StoreConfig{};
}

}  // namespace mkimage::store
