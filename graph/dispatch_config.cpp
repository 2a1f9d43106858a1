// CMD, ENTRYPOINT, HEALTHCHECK, EXPOSE, VOLUME, STOPSIGNAL, MAINTAINER, ONBUILD:
// the instructions that only change the image config (BuildKit dispatchCmd,
// dispatchEntrypoint, dispatchHealthcheck, dispatchExpose, dispatchVolume,
// dispatchStopSignal, dispatchMaintainer, dispatchOnbuild).
#include <algorithm>
#include <cctype>

#include "graph/dispatch.hpp"
#include "parser/text.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

// nat.ParsePortSpecs for EXPOSE: "port[-end][/proto]" (an "ip:host:" prefix is
// accepted and ignored). Returns the ExposedPorts keys.
util::Result<std::vector<std::string>> port_keys(const std::string& spec) {
  std::string s = spec;
  std::string proto = "tcp";
  auto slash = s.rfind('/');
  if (slash != std::string::npos) {
    proto = ascii_lower(s.substr(slash + 1));
    s = s.substr(0, slash);
    if (proto.empty()) proto = "tcp";
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return util::Error{"invalid proto: " + proto};
  auto colon = s.rfind(':');
  if (colon != std::string::npos) s = s.substr(colon + 1);
  auto parse_port = [&](const std::string& p) -> util::Result<unsigned> {
    if (p.empty() || p.size() > 5) return util::Error{"invalid containerPort: " + s};
    unsigned v = 0;
    for (char c : p) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return util::Error{"invalid containerPort: " + s};
      v = v * 10 + (c - '0');
    }
    if (v > 65535) return util::Error{"invalid containerPort: " + s};
    return v;
  };
  unsigned start, end;
  auto dash = s.find('-');
  if (dash != std::string::npos) {
    MKIMAGE_TRY(start, parse_port(s.substr(0, dash)));
    MKIMAGE_TRY(end, parse_port(s.substr(dash + 1)));
    if (end < start) return util::Error{"invalid range specified for container port: " + s};
  } else {
    MKIMAGE_TRY(start, parse_port(s));
    end = start;
  }
  std::vector<std::string> out;
  for (unsigned p = start; p <= end; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

bool valid_signal(const std::string& raw) {
  bool digits = !raw.empty();
  std::size_t i = (!raw.empty() && (raw[0] == '-' || raw[0] == '+')) ? 1 : 0;
  if (i == raw.size()) digits = false;
  for (std::size_t k = i; digits && k < raw.size(); ++k) digits = std::isdigit(static_cast<unsigned char>(raw[k]));
  if (digits) {
    try {
      return std::stoll(raw) != 0;
    } catch (...) {
      return false;
    }
  }
  std::string s = ascii_upper(raw);
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const std::vector<std::string> names = {
      "ABRT", "ALRM", "BUS",  "CHLD", "CLD",  "CONT", "FPE",    "HUP",  "ILL",  "INT",  "IO",   "IOT",
      "KILL", "PIPE", "POLL", "PROF", "PWR",  "QUIT", "SEGV",   "STKFLT", "STOP", "SYS", "TERM", "TRAP",
      "TSTP", "TTIN", "TTOU", "URG",  "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
  if (std::find(names.begin(), names.end(), s) != names.end()) return true;
  for (int k = 1; k <= 15; ++k) {
    if (s == "RTMIN+" + std::to_string(k) || s == "RTMAX-" + std::to_string(k)) return true;
  }
  return false;
}

}  // namespace

util::Result<void> dispatch_cmd(StepContext& ctx, CmdInstruction& cmd) {
  cmd.argv = cmd.shell_form ? with_shell(ctx.state, cmd.command) : cmd.command;
  ctx.state.cmd_set = true;
  ctx.step.created_by = "CMD " + go_quote_list(cmd.argv);
  return {};
}

util::Result<void> dispatch_entrypoint(StepContext& ctx, EntrypointInstruction& ep) {
  ep.argv = ep.shell_form ? with_shell(ctx.state, ep.command) : ep.command;
  ep.clears_cmd = !ctx.state.cmd_set;
  ctx.step.created_by = "ENTRYPOINT " + go_quote_list(ep.argv);
  return {};
}

util::Result<void> dispatch_healthcheck(StepContext& ctx, HealthcheckInstruction& h) {
  ctx.step.created_by = "HEALTHCHECK {Test:[" + join(h.test, " ") + "] Interval:" + format_go_duration(h.interval_ns) +
                        " Timeout:" + format_go_duration(h.timeout_ns) +
                        " StartPeriod:" + format_go_duration(h.start_period_ns) +
                        " StartInterval:" + format_go_duration(h.start_interval_ns) +
                        " Retries:" + std::to_string(h.retries) + "}";
  return {};
}

util::Result<void> dispatch_expose(StepContext& ctx, ExposeInstruction& ex) {
  // BuildKit sorts the ports as written (instructions.parseExpose), then
  // records "EXPOSE [80/tcp 53/udp]" (dispatchExpose: every port/proto in order).
  std::vector<std::string> written = ex.ports;
  std::sort(written.begin(), written.end());
  std::vector<std::string> ports;
  std::vector<std::string> history;
  for (const auto& p : written) {
    auto words = expand_words(p, ctx.state.env, ctx.options.lex);
    if (!words.ok()) return ctx.error(words.error().message, p);
    ports.insert(ports.end(), words->begin(), words->end());
  }
  ex.ports = ports;
  ex.port_keys.clear();
  for (const auto& p : ports) {
    auto keys = port_keys(p);
    if (!keys.ok()) return ctx.error(keys.error().message, p);
    history.insert(history.end(), keys->begin(), keys->end());
    for (const auto& k : *keys) {
      if (std::find(ex.port_keys.begin(), ex.port_keys.end(), k) == ex.port_keys.end()) {
        ex.port_keys.push_back(k);
      }
    }
  }
  ctx.step.created_by = "EXPOSE [" + join(history, " ") + "]";
  return {};
}

util::Result<void> dispatch_volume(StepContext& ctx, VolumeInstruction& vol) {
  for (auto& v : vol.volumes) {
    std::string raw = v;
    MKIMAGE_TRY(v, ctx.word(v, raw));
    if (v.empty()) return ctx.error("VOLUME specified can not be an empty string", raw);
    MKIMAGE_TRY_VOID(ctx.no_nul("VOLUME", v, raw));
  }
  ctx.step.created_by = "VOLUME [" + join(vol.volumes, " ") + "]";
  return {};
}

util::Result<void> dispatch_stopsignal(StepContext& ctx, StopSignalInstruction& sig) {
  MKIMAGE_TRY(sig.signal, ctx.word(sig.signal));
  if (!valid_signal(sig.signal)) return ctx.error("Invalid signal: " + sig.signal);
  ctx.step.created_by = "STOPSIGNAL " + sig.signal;
  return {};
}

util::Result<void> dispatch_maintainer(StepContext& ctx, MaintainerInstruction& mt) {
  ctx.step.created_by = "MAINTAINER " + mt.maintainer;
  return {};
}

// ONBUILD: BuildKit records no history for it.
util::Result<void> dispatch_onbuild(StepContext& ctx, OnbuildInstruction&) {
  ctx.step.adds_history = false;
  return {};
}

}  // namespace mkimage::graph::detail
