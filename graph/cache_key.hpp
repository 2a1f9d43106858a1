// Cache keys (docs/cache-keys.md is the specification; keep the two in step).
//
// A key is sha256 over tagged fields: `tag NUL len NUL value LF` for every field,
// in order. Every key starts with the key-format version, the op kind and the
// parent key. One function per op kind names all of that op's inputs. A
// KeyHasher also keeps the (tag, value) list so `--explain-cache` can print it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/digest.hpp"

namespace mkimage::graph {

// Bump when any key's inputs or encoding change (and update docs/cache-keys.md).
inline constexpr int k_cache_key_version = 2;

struct CacheKey {
  store::Digest digest;
  std::string str() const { return digest.str(); }
  bool operator==(const CacheKey&) const = default;
};

// sha256 over (tag, value) pairs; remembers them for explanations.
class KeyHasher {
public:
  void add(std::string_view tag, std::string_view value);
  void add(std::string_view tag, const char* value) { add(tag, std::string_view(value)); }
  void add(std::string_view tag, std::int64_t value) { add(tag, std::string_view(std::to_string(value))); }
  void add(std::string_view tag, bool value) { add(tag, std::string_view(value ? "true" : "false")); }
  void add(std::string_view tag, const std::vector<std::string>& values);  // one field per element
  void add(std::string_view tag, const CacheKey& key) { add(tag, std::string_view(key.str())); }
  void add(std::string_view tag, const store::Digest& d) { add(tag, std::string_view(d.str())); }

  CacheKey finish() const;
  // The fields added so far, as (tag, value) in order; values longer than 200
  // bytes are shown abbreviated with their sha256.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return m_fields; }

private:
  std::string m_bytes;  // the encoded stream (small: a few KiB at most)
  std::vector<std::pair<std::string, std::string>> m_fields;
};

// ---- per-op inputs -------------------------------------------------------------
// Each key_for_* fills `h` (so the caller can print h.fields()) and returns the key.

// FROM: `base` is "scratch", a manifest digest "sha256:…", or "stage:<final key>".
CacheKey key_for_from(KeyHasher& h, std::string_view base, std::string_view platform,
                      std::optional<std::int64_t> source_date_epoch);

// ENV, ARG, LABEL, EXPOSE, … : the keyword (upper case) and expanded arguments.
CacheKey key_for_metadata(KeyHasher& h, const CacheKey& parent, std::string_view instruction,
                          const std::vector<std::string>& args);

struct RunKeyInputs {
  std::vector<std::string> argv;                  // after the shell-form wrap
  std::vector<std::string> heredocs;              // "name\0content" each
  std::vector<std::pair<std::string, std::string>> env;  // proxy args already left out (graph/proxy_args.hpp)
  std::string user;
  std::string workdir;
  std::string network = "default";
  std::vector<std::string> mounts;                // canonical "type=…,target=…" strings
  std::string security = "sandbox";
};
CacheKey key_for_run(KeyHasher& h, const CacheKey& parent, const RunKeyInputs& in);

struct CopyKeyInputs {
  bool is_add = false;
  std::string dest;
  std::string workdir;
  std::string chown;            // as written after expansion, "" = none
  std::string chown_resolved;   // "uid:gid", "" = none
  std::string chmod;
  bool link = false;
  bool parents = false;
  bool unpack = true;
  std::vector<std::string> excludes;
  std::string from = "context";  // "context" | "stage:<key>" | "image:<digest>"
  std::vector<std::string> sources;
  std::vector<std::string> heredocs;  // "name\0content after expansion"
  std::string sources_digest;         // content digest of the selected sources
  std::string checksum;               // ADD URL
};
CacheKey key_for_copy(KeyHasher& h, const CacheKey& parent, const CopyKeyInputs& in);

CacheKey key_for_workdir(KeyHasher& h, const CacheKey& parent, std::string_view path,
                         std::string_view user);

// "KEY=VALUE" list sorted by key (stable for equal keys), as used by key_for_run.
std::vector<std::string> sorted_env(const std::vector<std::pair<std::string, std::string>>& env);

}  // namespace mkimage::graph
