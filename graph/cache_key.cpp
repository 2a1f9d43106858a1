#include "graph/cache_key.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "util/sha256.hpp"

namespace mkimage::graph {

void KeyHasher::add(std::string_view tag, std::string_view value) {
  m_bytes.append(tag);
  m_bytes.push_back('\0');
  m_bytes.append(std::to_string(value.size()));
  m_bytes.push_back('\0');
  m_bytes.append(value);
  m_bytes.push_back('\n');
  std::string shown;
  if (value.size() > 200) {
    shown = std::string(value.substr(0, 80)) + "… (" + std::to_string(value.size()) +
            " bytes, sha256:" + util::sha256_hex(value) + ")";
  } else {
    shown.reserve(value.size());
    for (char c : value) {
      if (c == '\0') shown += "\\0";
      else if (c == '\n') shown += "\\n";
      else shown.push_back(c);
    }
  }
  m_fields.emplace_back(std::string(tag), std::move(shown));
}

void KeyHasher::add(std::string_view tag, const std::vector<std::string>& values) {
  for (const auto& v : values) add(tag, std::string_view(v));
}

CacheKey KeyHasher::finish() const { return CacheKey{store::Digest::sha256_of(m_bytes)}; }

namespace {
void head(KeyHasher& h, std::string_view op, const CacheKey* parent) {
  h.add("key-version", std::int64_t{k_cache_key_version});
  h.add("op", op);
  if (parent) h.add("parent", *parent);
}
}  // namespace

CacheKey key_for_from(KeyHasher& h, std::string_view base, std::string_view platform,
                      std::optional<std::int64_t> source_date_epoch) {
  head(h, "from", nullptr);
  h.add("base", base);
  h.add("platform", platform);
  if (source_date_epoch) h.add("source-date-epoch", *source_date_epoch);
  return h.finish();
}

CacheKey key_for_metadata(KeyHasher& h, const CacheKey& parent, std::string_view instruction,
                          const std::vector<std::string>& args) {
  head(h, "metadata", &parent);
  h.add("instruction", instruction);
  h.add("arg", args);
  return h.finish();
}

CacheKey key_for_run(KeyHasher& h, const CacheKey& parent, const RunKeyInputs& in) {
  head(h, "run", &parent);
  h.add("argv", in.argv);
  h.add("heredoc", in.heredocs);
  h.add("env", sorted_env(in.env));
  h.add("user", in.user);
  h.add("workdir", in.workdir);
  h.add("network", in.network);
  h.add("mount", in.mounts);
  h.add("security", in.security);
  return h.finish();
}

CacheKey key_for_copy(KeyHasher& h, const CacheKey& parent, const CopyKeyInputs& in) {
  head(h, in.is_add ? "add" : "copy", &parent);
  h.add("dest", in.dest);
  h.add("workdir", in.workdir);
  h.add("chown", in.chown + (in.chown_resolved.empty() ? "" : " (" + in.chown_resolved + ")"));
  h.add("chmod", in.chmod);
  h.add("link", in.link);
  h.add("parents", in.parents);
  if (in.is_add) h.add("unpack", in.unpack);
  h.add("exclude", in.excludes);
  h.add("from", in.from);
  h.add("source", in.sources);
  h.add("heredoc", in.heredocs);
  h.add("sources-digest", in.sources_digest);
  if (!in.checksum.empty()) h.add("checksum", in.checksum);
  return h.finish();
}

CacheKey key_for_workdir(KeyHasher& h, const CacheKey& parent, std::string_view path,
                         std::string_view user) {
  head(h, "workdir", &parent);
  h.add("path", path);
  h.add("user", user);
  return h.finish();
}

std::vector<std::string> sorted_env(const std::vector<std::pair<std::string, std::string>>& env) {
  auto copy = env;
  std::stable_sort(copy.begin(), copy.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  out.reserve(copy.size());
  for (const auto& [k, v] : copy) out.push_back(k + "=" + v);
  return out;
}

}  // namespace mkimage::graph
