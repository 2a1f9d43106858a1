// The image config while a stage is built: the effect of every metadata
// instruction on the OCI image config (image-spec config.md, store/image.hpp),
// with docker's rules: ENV replaces a key in place, ENTRYPOINT resets an
// inherited CMD (not one set in the same stage), LABEL merges, EXPOSE/VOLUME are
// sets, ONBUILD appends, MAINTAINER sets `author`, the default PATH is added when
// the base has none. History entries follow BuildKit (`comment`
// "buildkit.dockerfile.v0", `empty_layer` for steps without a layer).
// Everything here is in memory: metadata instructions never touch the filesystem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/image.hpp"

namespace mkimage::builder {

class ConfigState {
public:
  // `FROM scratch`: amd64/linux, Env = [default PATH].
  static ConfigState scratch();
  // A base image's config. Adds the default PATH when Env has none. Its ONBUILD
  // triggers move to base_triggers() (they are not inherited by the new image).
  static ConfigState from_base(const store::ImageConfig& base);
  // `FROM <stage>`: the stage's config; its ONBUILD triggers move to base_triggers().
  static ConfigState from_stage(const ConfigState& stage);

  // -- metadata instructions (values already expanded) -------------------------
  void set_env(const std::string& key, const std::string& value);
  void set_workdir(const std::string& absolute_path);
  void set_user(const std::string& user);
  void add_label(const std::string& key, const std::string& value);
  void add_exposed_port(const std::string& port_key);  // "8080/tcp"
  void add_volume(const std::string& path);
  void set_cmd(const std::vector<std::string>& cmd);
  void set_entrypoint(const std::vector<std::string>& entrypoint);  // [] clears it
  void set_healthcheck(const store::HealthConfig& hc);
  void set_shell(const std::vector<std::string>& shell);
  void set_stopsignal(const std::string& signal);
  void set_maintainer(const std::string& author);
  void add_onbuild(const std::string& trigger);

  // -- reading ---------------------------------------------------------------
  std::vector<std::pair<std::string, std::string>> env() const;  // in order
  std::optional<std::string> env_value(const std::string& key) const;
  const std::string& workdir() const { return m_config.config.working_dir; }
  const std::string& user() const { return m_config.config.user; }
  const std::vector<std::string>& base_triggers() const { return m_base_triggers; }

  // -- layers and history -------------------------------------------------------
  // Appends a history entry; with `diff_id` the layer is added to rootfs.diff_ids,
  // without it the entry is `empty_layer`. `created` may be absent for a
  // metadata step with no earlier time to inherit (FROM scratch): like
  // BuildKit, such entries take the time of the next layer entry, and stay
  // without a time when no layer follows, so rebuilding gives the same image ID.
  void add_history(const std::string& created_by, const std::optional<store::Timestamp>& created,
                   const std::optional<store::DiffId>& diff_id);
  const std::vector<store::DiffId>& diff_ids() const { return m_config.diff_ids; }

  // The config to store with `created` set (absent: the config has no created time).
  store::ImageConfig finish(const std::optional<store::Timestamp>& created) const;
  const store::ImageConfig& config() const { return m_config; }

private:
  store::ImageConfig m_config;
  // Env name -> index in m_config.config.env, built on the first set_env (so a
  // stage of N ENV instructions costs O(N), not O(N²)).
  std::unordered_map<std::string, std::size_t> m_env_at;
  bool m_env_indexed = false;
  std::vector<std::string> m_base_triggers;
  bool m_cmd_set_in_stage = false;
};

// Timestamp of history entries and the image: SOURCE_DATE_EPOCH when given, else now.
store::Timestamp created_time(std::optional<std::int64_t> source_date_epoch);

// EXPOSE word → port keys: "8080" → {"8080/tcp"}, "53/UDP" → {"53/udp"},
// "8000-8001" → {"8000/tcp","8001/tcp"}. nullopt: not a port, range or protocol.
std::optional<std::vector<std::string>> expose_keys(const std::string& word);

}  // namespace mkimage::builder
