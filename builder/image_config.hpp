// The image config while a stage is built: the effect of every metadata
// instruction on the OCI image config (image-spec config.md), with docker's rules:
// ENV replaces a key in place, ENTRYPOINT resets an inherited CMD (not one set in
// the same stage), LABEL merges, EXPOSE/VOLUME are sets, ONBUILD appends, MAINTAINER
// sets `author`. History entries follow BuildKit (`comment` buildkit.dockerfile.v0,
// `empty_layer` for metadata-only steps). Everything here is in memory: metadata
// instructions never touch the filesystem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/digest.hpp"

namespace mkimage::builder {

// The default PATH docker adds when the base image has none (Linux).
inline constexpr const char* k_default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct HealthcheckSpec {
  std::vector<std::string> test;  // ["NONE"] | ["CMD", …] | ["CMD-SHELL", "text"]
  std::int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;
  int retries = 0;
};

// The config of the image being built by one stage.
class ImageConfig {
public:
  // An empty config for `FROM scratch` (architecture amd64, os linux, no Env).
  static ImageConfig scratch();
  // From a base image's config JSON (the whole config blob). Adds the default PATH
  // when Env has no PATH. ONBUILD triggers are kept in onbuild_triggers() and
  // cleared from the config (they are not inherited by the new image).
  static ImageConfig from_base(const nlohmann::json& base_config);

  // -- metadata instructions (values already expanded) -----------------------
  void set_env(const std::string& key, const std::string& value);
  void set_workdir(const std::string& absolute_path);
  void set_user(const std::string& user);
  void add_label(const std::string& key, const std::string& value);
  void add_exposed_port(const std::string& port_key);  // "8080/tcp"
  void add_volume(const std::string& path);
  void set_cmd(const std::vector<std::string>& cmd);               // exec form (already wrapped)
  void set_entrypoint(const std::vector<std::string>& entrypoint); // [] clears
  void set_healthcheck(const HealthcheckSpec& hc);
  void set_shell(const std::vector<std::string>& shell);
  void set_stopsignal(const std::string& signal);
  void set_maintainer(const std::string& author);
  void add_onbuild(const std::string& trigger);

  // -- reading ---------------------------------------------------------------
  std::vector<std::pair<std::string, std::string>> env() const;  // in order
  std::optional<std::string> env_value(const std::string& key) const;
  std::string workdir() const;  // "" when unset
  std::string user() const;
  std::vector<std::string> shell() const;  // default {"/bin/sh", "-c"}
  // The base image's ONBUILD triggers (to run after FROM), in order.
  const std::vector<std::string>& onbuild_triggers() const { return m_base_triggers; }

  // -- layers and history -----------------------------------------------------
  // Appends a history entry; `diff_id` set = a layer was added, else empty_layer.
  void add_history(const std::string& created_by, const std::string& created_rfc3339,
                     const std::optional<store::DiffId>& diff_id);
  const std::vector<store::DiffId>& diff_ids() const { return m_diff_ids; }
  std::size_t history_size() const;

  // The final config JSON (image-spec config.md), `created` set to `created_rfc3339`.
  // Keys are emitted in a fixed order (nlohmann's sorted object), so the same state
  // gives the same bytes.
  nlohmann::json to_json(const std::string& created_rfc3339) const;

  // The raw "config" object (Env, Cmd, …) for tests and inspection.
  const nlohmann::json& container_config() const { return m_config; }

private:
  nlohmann::json m_root;    // everything but "config", "rootfs", "history", "created"
  nlohmann::json m_config = nlohmann::json::object();  // the "config" object
  nlohmann::json m_history = nlohmann::json::array();
  std::vector<store::DiffId> m_diff_ids;
  std::vector<std::string> m_base_triggers;
  bool m_cmd_set_in_stage = false;
};

// RFC 3339 UTC with seconds and nanoseconds as docker writes them:
// "2026-11-29T19:11:49.123456789Z" (fraction omitted when 0).
std::string rfc3339(std::int64_t epoch_seconds, std::int64_t nanos = 0);
// Now, or SOURCE_DATE_EPOCH when given.
std::string created_time(std::optional<std::int64_t> source_date_epoch);

// EXPOSE word → port key: "8080" → "8080/tcp", "53/UDP" → "53/udp". Errors: not a
// port or range, unknown protocol. Ranges "8000-8002" expand to three keys.
std::optional<std::vector<std::string>> expose_keys(const std::string& word);

}  // namespace mkimage::builder
