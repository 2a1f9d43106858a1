// Metadata instructions: ENV, ARG, LABEL, EXPOSE, VOLUME, USER, CMD, ENTRYPOINT,
// HEALTHCHECK, SHELL, STOPSIGNAL, MAINTAINER, ONBUILD. They change the image
// config in memory and chain the cache key (docs/cache-keys.md "Metadata"; the
// keyed arguments: graph/key_inputs.hpp).
#include "builder/build_internal.hpp"
#include "graph/key_inputs.hpp"
#include "util/overloaded.hpp"

namespace mkimage::builder {

using util::overloaded;

util::Result<bool> apply_metadata(BuildSession& s, StageState& state, const graph::Step& step) {
  ConfigState& c = state.config;
  bool meta = std::visit(
      overloaded{
          [&](const parser::EnvInstruction& i) {
            for (const auto& kv : i.pairs) c.set_env(kv.key, kv.value);
            return true;
          },
          [&](const parser::ArgInstruction&) { return true; },
          [&](const parser::LabelInstruction& i) {
            for (const auto& kv : i.pairs) c.add_label(kv.key, kv.value);
            return true;
          },
          [&](const parser::ExposeInstruction& i) {
            for (const auto& p : i.port_keys) c.add_exposed_port(p);
            return true;
          },
          [&](const parser::VolumeInstruction& i) {
            for (const auto& v : i.volumes) c.add_volume(v);
            return true;
          },
          [&](const parser::UserInstruction& i) {
            c.set_user(i.user);
            return true;
          },
          [&](const parser::CmdInstruction& i) {
            c.set_cmd(i.argv);
            return true;
          },
          [&](const parser::EntrypointInstruction& i) {
            c.set_entrypoint(i.argv);
            return true;
          },
          [&](const parser::HealthcheckInstruction& i) {
            store::HealthConfig hc;
            hc.test = i.test;
            hc.interval_ns = i.interval_ns;
            hc.timeout_ns = i.timeout_ns;
            hc.start_period_ns = i.start_period_ns;
            hc.start_interval_ns = i.start_interval_ns;
            hc.retries = i.retries;
            c.set_healthcheck(hc);
            return true;
          },
          [&](const parser::ShellInstruction& i) {
            c.set_shell(i.shell);
            return true;
          },
          [&](const parser::StopSignalInstruction& i) {
            c.set_stopsignal(i.signal);
            return true;
          },
          [&](const parser::MaintainerInstruction& i) {
            c.set_maintainer(i.maintainer);
            return true;
          },
          [&](const parser::OnbuildInstruction& i) {
            c.add_onbuild(i.expression);
            return true;
          },
          [&](const auto&) { return false; },
      },
      step.instruction);
  if (!meta) return false;
  KeyHasher h;
  state.key = key_for_metadata(h, state.key, step.keyword, *graph::metadata_key_args(step));
  state.chain.add(step.keyword, h.fields());
  if (step.adds_history) {
    // SOURCE_DATE_EPOCH, else the time of the last layer (or the base image);
    // none yet (FROM scratch): filled in by the next layer step, if any.
    std::optional<store::Timestamp> created = state.last_created;
    if (s.source_date_epoch) created = created_time(s.source_date_epoch);
    c.add_history(step.created_by, created, std::nullopt);
  }
  return true;
}

}  // namespace mkimage::builder
