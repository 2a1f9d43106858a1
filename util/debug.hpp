// The process-wide --debug switch: when on, errors may carry internal detail
// (e.g. SQLite's own message and statement after the user-facing text of an
// index error). Off by default; the CLI turns it on for `--debug`.
#pragma once

#include <atomic>

namespace mkimage::util {

inline std::atomic<bool>& debug_flag() {
  static std::atomic<bool> on{false};
  return on;
}
inline bool debug_enabled() { return debug_flag().load(std::memory_order_relaxed); }
inline void set_debug(bool on) { debug_flag().store(on, std::memory_order_relaxed); }

}  // namespace mkimage::util
