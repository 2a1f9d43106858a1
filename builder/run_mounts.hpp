// RUN --mount (BuildKit's dockerfile reference, "RUN --mount") → OCI mounts
// for builder/runtime.hpp, plus the environment variables of `type=secret,env=`.
//
//   type=cache   persistent directory ROOT/cache-mounts/<escaped id>/data (id
//                defaults to the target). New directories get uid/gid/mode
//                (default 0:0, 0755). sharing=shared: used by every run at once;
//                locked: flock() on ROOT/cache-mounts/<id>/lock held until the
//                PreparedMounts is destroyed (other runs wait); private: the
//                shared directory when it is free, else a fresh temporary one
//                that is discarded afterwards.
//   type=secret  the secret given with `--secret id=ID,src=PATH|env=VAR`, copied
//                to a private temp file (mode, default 0400, uid/gid) and
//                bind-mounted read-only at `target` (default /run/secrets/ID);
//                with `env=NAME` it is given as an environment variable instead
//                (and mounted too only if a target is also given). A secret
//                that was not provided is an error when required=true, else
//                skipped. Never in a layer: its mount point is excluded and
//                removed (ActiveSnapshot::record_mount_points), never in a key.
//   type=bind    `source` (default "/") inside a tree the caller resolves from
//                `from` (empty = the build context); read-only unless `rw`,
//                and `rw` writes go to a throw-away overlay upperdir.
//   type=tmpfs   a tmpfs at `target`, `size` bytes (0 = unlimited).
//   type=ssh     the --ssh agent `id` (default "default") as a socket at
//                `target` (default /run/buildkit/ssh_agent.N, set by the
//                planner), owned uid:gid (default 0:0), mode (default 0600):
//                a read-only proxy to the agent (builder/ssh_agent.hpp), ended
//                with the PreparedMounts. An id --ssh did not give is an
//                error when required ("no SSH key \"ID\" forwarded from the
//                client"), else the mount is left out. Never in a layer or a key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/runtime.hpp"
#include "builder/ssh_agent.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

// One RUN --mount flag, already parsed and expanded (builder fills it from
// the parser's typed instruction).
struct RunMountSpec {
  enum class Type { bind, cache, tmpfs, secret, ssh };
  enum class Sharing { shared, private_, locked };
  Type type = Type::bind;
  std::string target;       // absolute container path ("" only for secret with env)
  std::string source;       // bind/cache: path inside `from` ("" = its root)
  std::string from;         // bind/cache: stage name, image or "" (build context)
  std::string id;           // cache/secret id ("" = target for cache, basename of target for secret)
  bool readonly = false;    // bind: default true unless rw; cache: ro
  bool rw = false;          // bind: writable (writes discarded)
  Sharing sharing = Sharing::shared;
  std::optional<std::uint32_t> uid, gid, mode;  // cache/secret; mode octal permission bits
  std::uint64_t size = 0;   // tmpfs bytes (0 = no limit)
  bool required = false;    // secret
  std::string env;          // secret: environment variable name
};

// A `--secret id=ID,src=PATH` / `env=VAR` of the build.
struct SecretSource {
  std::filesystem::path file;  // set for src=
  std::string env;             // set for env= (name of the host environment variable)
};

// What prepare_run_mounts needs from the builder.
struct RunMountContext {
  std::filesystem::path cache_root;       // ROOT/cache-mounts
  std::filesystem::path scratch_dir;      // per-run private temp dir (created 0700; removed by the caller)
  std::map<std::string, SecretSource> secrets;  // by id
  const SshAgents* ssh_agents = nullptr;        // --ssh; null = none given
  // Resolves a bind/cache `from` ("" = build context) to the directories of
  // that tree, top first (a context: one directory; a stage or image: its
  // snapshot lowerdirs). Errors: unknown stage/image.
  std::function<util::Result<std::vector<std::filesystem::path>>(const std::string& from)> resolve_from;
  // Called for each cache mount with its id and its persistent data directory
  // (not for a private mount's scratch copy), under the mount's lock, before the
  // run; `fresh` = the directory was just created. May fill it (--cache-from
  // restores exported cache mounts). Errors stop the run.
  std::function<util::Result<void>(const std::string& id, const std::filesystem::path& data, bool fresh)>
      on_cache_mount;
};

// Mounts ready for one run. Destroying it unmounts what it mounted on the
// host (bind overlays), releases cache locks and removes its temp files.
class PreparedMounts {
public:
  PreparedMounts() = default;
  ~PreparedMounts();
  PreparedMounts(PreparedMounts&&) noexcept;
  PreparedMounts& operator=(PreparedMounts&&) noexcept;
  PreparedMounts(const PreparedMounts&) = delete;
  PreparedMounts& operator=(const PreparedMounts&) = delete;

  std::vector<OciMount> mounts;   // in flag order
  std::vector<std::string> env;   // "NAME=secret" for secret env=
  // Mount targets whose content must never reach a layer (secrets, ssh sockets).
  std::vector<std::string> secret_targets;
  // Targets of the ssh sockets mounted, in flag order (SSH_AUTH_SOCK: the first).
  std::vector<std::string> ssh_targets;

  // Internal state (host mounts to undo, lock fds, temp paths).
  struct Cleanup;
  std::unique_ptr<Cleanup> cleanup;
};

// Turns the RUN --mount flags into mounts. Errors: unknown secret that is
// required, an ssh id not given that is required, missing bind source, a
// source escaping its tree, mount/I/O failures.
util::Result<PreparedMounts> prepare_run_mounts(const std::vector<RunMountSpec>& specs,
                                                const RunMountContext& context);

// The cache directory for `id` (escaped: '/' and other unsafe bytes → %XX).
std::filesystem::path cache_mount_dir(const std::filesystem::path& cache_root, const std::string& id);

}  // namespace mkimage::builder
