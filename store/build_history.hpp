// Build history in the index (its migration in store/index_schema.cpp): one
// `builds` row per build and one `build_steps` row per step. The steps' full
// logs are files beside the index, ROOT/history/<build id>/<step number>.log
// (history_log_path), written by the recorder (builder/build_history.cpp) as
// the build runs. `mkimage builds` (mkimage/cmd_builds.cpp) reads them;
// docs/history.md describes what is kept.
//
// Example:
//   BuildRecord b; b.id = new_build_id(); b.started_ms = now_ms();
//   MKIMAGE_TRY_VOID(put_build(index, b));
//   BuildStepRecord st; st.build = b.id; st.number = 3; st.outcome = "CACHED";
//   MKIMAGE_TRY_VOID(put_build_step(index, st));
//   MKIMAGE_TRY(auto all, list_builds(index));  // newest first
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/index.hpp"
#include "util/result.hpp"

namespace mkimage::store {

struct BuildRecord {
  std::string id;                 // short random id (lower-case base32, 20 chars)
  std::string name;               // what `builds ls` shows: the first tag, else the context dir name
  std::int64_t started_ms = 0;    // epoch milliseconds
  std::int64_t finished_ms = 0;   // 0 while running (or when the process died)
  std::string status = "running";  // running | completed | error (also for a build whose process died)
  std::string dockerfile;         // the Dockerfile's name ("Dockerfile", "-f" path)
  std::string dockerfile_digest;  // "sha256:…" of its bytes ("" when unread)
  std::string context;            // the context directory
  std::string target;             // "" = last stage
  std::map<std::string, std::string> args;  // --build-arg values
  std::vector<std::string> secrets;         // --secret ids only, never values
  std::vector<std::string> tags;            // -t references as given
  std::string image;              // config digest (completed builds)
  std::string manifest;           // manifest digest (completed builds)
  std::string error;              // the failure's message (status error)
};

struct BuildStepRecord {
  std::string build;              // BuildRecord::id
  int number = 0;                 // "#N"
  std::string label;              // "[stage 2/5]", "[internal]"
  std::string name;               // "RUN npm ci"
  std::string outcome;            // CACHED | remote-cached | run | error | "" (never finished)
  std::int64_t started_ms = 0;    // epoch milliseconds
  std::int64_t duration_ms = 0;
  std::string cache_key;          // "sha256:…" ("" for steps without a key)
  std::string miss_reason;        // why a step ran ("" when unknown)
  std::int64_t log_bytes = 0;     // size of its log file
};

// A new build id: 20 characters of Crockford base32 (100 random bits).
std::string new_build_id();
// Epoch milliseconds now.
std::int64_t now_ms();

// The description of the lease (store/lease.hpp) a recording build holds for
// as long as it runs: a "running" row without a live lease of this name is a
// build whose process died.
std::string history_lease_description(const std::string& build_id);

// The error text of such a build (status "error" when read).
inline constexpr const char* k_interrupted_error =
    "interrupted: the build's process ended before the build finished";

// ROOT/history/<id>/ and the log file of one step in it.
std::filesystem::path history_dir(const std::filesystem::path& root, const std::string& build_id);
std::filesystem::path history_log_path(const std::filesystem::path& root, const std::string& build_id, int step);

// Inserts or replaces the build row (its steps are kept).
util::Result<void> put_build(Index& index, const BuildRecord& b);
// Inserts or replaces one step row.
util::Result<void> put_build_step(Index& index, const BuildStepRecord& s);
// Every build, newest first. A "running" row whose process died reads as
// status "error" with k_interrupted_error (the row itself is left as it is).
util::Result<std::vector<BuildRecord>> list_builds(Index& index);
// The build whose id is `id_or_prefix`, or the only one it is a prefix of;
// "" = the newest build. Errors: no such build, an ambiguous prefix.
util::Result<BuildRecord> find_build(Index& index, const std::string& id_or_prefix);
// The steps of a build, by number.
util::Result<std::vector<BuildStepRecord>> build_steps(Index& index, const std::string& build_id);
// The steps of every build, oldest build first, then by step number.
util::Result<std::vector<BuildStepRecord>> all_build_steps(Index& index);
// Deletes build rows (and their steps) and their ROOT/history directories:
// all but the newest `keep` builds. Builds still running are kept (those
// whose process died are not). Returns the ids removed.
util::Result<std::vector<std::string>> prune_builds(Index& index, const std::filesystem::path& root, std::size_t keep);

}  // namespace mkimage::store
