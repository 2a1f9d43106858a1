// Prints pull/push progress as docker does: on a terminal one line per layer,
// redrawn in place ("a1b2c3d4e5f6: Downloading [=====>   ]  12.3MB/45.6MB");
// otherwise (pipes, CI logs) one plain line per layer state change, no bars.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "registry/events.hpp"

namespace mkimage::cli {

class TransferProgress : public registry::TransferEvents {
public:
  // `tty`: redraw lines in place; `quiet`: print nothing.
  TransferProgress(std::ostream& out, bool tty, bool quiet) : m_out(out), m_tty(tty), m_quiet(quiet) {}

  void message(const std::string& line) override;
  void layer(const std::string& id, const std::string& status) override;
  void layer_progress(const std::string& id, std::int64_t done, std::int64_t total) override;

private:
  void redraw();  // m_mutex held
  std::string line_of(const std::string& id) const;

  std::ostream& m_out;
  bool m_tty;
  bool m_quiet;
  std::mutex m_mutex;
  std::vector<std::string> m_order;  // layer ids in first-seen order
  struct State {
    std::string status;
    std::int64_t done = 0, total = 0;
  };
  std::map<std::string, State> m_layers;
  int m_drawn = 0;  // lines of the layer block on screen
  std::chrono::steady_clock::time_point m_last_draw{};
};

// docker's byte units: "12.3MB" (powers of 1000).
std::string human_bytes(std::int64_t n);

}  // namespace mkimage::cli
