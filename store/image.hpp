// OCI image config, manifest and index as value types, with JSON conversion
// exactly per image-spec config.md, manifest.md and image-index.md (and the
// Docker schema 2 media types where docker needs them).
//
// Serialisation is deterministic (keys sorted, no insignificant whitespace),
// so the same value always gives the same digest. Parsing keeps what it does
// not model in `extra` maps only where noted; a blob read from elsewhere should
// be stored as its original bytes, not re-serialised.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/descriptor.hpp"
#include "store/digest.hpp"
#include "store/media_type.hpp"
#include "util/result.hpp"

namespace mkimage::store {

// A point in time: Unix epoch seconds + nanoseconds, UTC.
struct Timestamp {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;  // 0..999999999

  // RFC 3339 in UTC as Go formats time.Time: "2024-01-02T03:04:05Z", or with
  // trailing-zero-trimmed fractional seconds "…05.123Z".
  std::string str() const;
  // Parses RFC 3339 ("Z" or "+hh:mm" offsets, optional fraction up to 9 digits).
  // Errors: anything else.
  static util::Result<Timestamp> parse(std::string_view text);
  static Timestamp now();

  bool operator==(const Timestamp&) const = default;
  auto operator<=>(const Timestamp&) const = default;
};

// config.md config.Healthcheck (Docker's HealthConfig); durations in nanoseconds, 0 = inherit.
struct HealthConfig {
  std::vector<std::string> test;  // ["NONE"] | ["CMD", args...] | ["CMD-SHELL", cmd]
  std::int64_t interval_ns = 0;
  std::int64_t timeout_ns = 0;
  std::int64_t start_period_ns = 0;
  std::int64_t start_interval_ns = 0;
  int retries = 0;
  bool operator==(const HealthConfig&) const = default;
};

// config.md "config" object: the execution parameters of a container.
// optional = key omitted; empty vector for Cmd/Entrypoint serialises as [].
struct ContainerConfig {
  std::string user;                           // "User"; "" omitted
  std::set<std::string> exposed_ports;        // "ExposedPorts": {"80/tcp":{}}
  std::vector<std::string> env;               // "Env": ["K=V"] in order
  std::optional<std::vector<std::string>> entrypoint;  // "Entrypoint"
  std::optional<std::vector<std::string>> cmd;         // "Cmd"
  std::set<std::string> volumes;              // "Volumes": {"/data":{}}
  std::string working_dir;                    // "WorkingDir"; "" omitted
  std::map<std::string, std::string> labels;  // "Labels"
  std::string stop_signal;                    // "StopSignal"; "" omitted
  std::optional<bool> args_escaped;           // "ArgsEscaped" (Docker, Windows only; kept for round trip)
  std::optional<HealthConfig> healthcheck;    // "Healthcheck" (Docker extension)
  std::vector<std::string> on_build;          // "OnBuild" (Docker extension)
  std::vector<std::string> shell;             // "Shell" (Docker extension)

  bool operator==(const ContainerConfig&) const = default;

  // Value of env var `name` ("" if unset) and setter (replace or append).
  std::optional<std::string> env_value(std::string_view name) const;
  void set_env(std::string_view name, std::string_view value);
};

// config.md "history" entry.
struct HistoryEntry {
  std::optional<Timestamp> created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;  // true: no entry in rootfs.diff_ids
  bool operator==(const HistoryEntry&) const = default;
};

// config.md: the image configuration (media type oci_config).
struct ImageConfig {
  std::optional<Timestamp> created;
  std::string author;
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string variant;  // "" omitted
  ContainerConfig config;
  std::vector<DiffId> diff_ids;  // rootfs.diff_ids, bottom first; rootfs.type is "layers"
  std::vector<HistoryEntry> history;

  bool operator==(const ImageConfig&) const = default;
};

nlohmann::json to_json(const ContainerConfig& c);
nlohmann::json to_json(const ImageConfig& c);
// Errors: not an object, wrong types of known keys, invalid diff_ids.
util::Result<ContainerConfig> container_config_from_json(const nlohmann::json& j);
util::Result<ImageConfig> image_config_from_json(const nlohmann::json& j);
// Canonical bytes (nlohmann dump(), sorted keys) and parse from bytes.
std::string serialize(const ImageConfig& c);
util::Result<ImageConfig> parse_image_config(std::string_view bytes);

// manifest.md (also Docker schema 2 when media_type is docker_manifest).
struct Manifest {
  MediaType media_type = MediaType::of(media_types::oci_manifest);
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first
  std::map<std::string, std::string> annotations;
  bool operator==(const Manifest&) const = default;
};
nlohmann::json to_json(const Manifest& m);
std::string serialize(const Manifest& m);
// Errors: schemaVersion != 2, missing config/layers, bad descriptors.
util::Result<Manifest> parse_manifest(std::string_view bytes);

// image-index.md (also the root's index.json).
struct ImageIndex {
  MediaType media_type = MediaType::of(media_types::oci_index);
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
  bool operator==(const ImageIndex&) const = default;
};
nlohmann::json to_json(const ImageIndex& i);
std::string serialize(const ImageIndex& i);
util::Result<ImageIndex> parse_image_index(std::string_view bytes);

}  // namespace mkimage::store
