#include "mkimage/transfer_progress.hpp"

#include <cstdio>

namespace mkimage::cli {

std::string human_bytes(std::int64_t n) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", v, units[u]);
  return buf;
}

std::string TransferProgress::line_of(const std::string& id) const {
  const State& s = m_layers.at(id);
  std::string line = id + ": " + s.status;
  if ((s.status == "Downloading" || s.status == "Pushing") && s.total > 0) {
    int width = 50;
    int fill = static_cast<int>(width * std::min<std::int64_t>(s.done, s.total) / s.total);
    std::string bar(static_cast<std::size_t>(fill), '=');
    if (fill < width) bar += '>';
    bar.resize(static_cast<std::size_t>(width), ' ');
    line += " [" + bar + "]  " + human_bytes(s.done) + "/" + human_bytes(s.total);
  }
  return line;
}

void TransferProgress::redraw() {
  if (m_drawn > 0) m_out << "\x1b[" << m_drawn << "A";
  for (const auto& id : m_order) m_out << "\x1b[2K\r" << line_of(id) << "\n";
  m_drawn = static_cast<int>(m_order.size());
  m_out.flush();
  m_last_draw = std::chrono::steady_clock::now();
}

void TransferProgress::message(const std::string& line) {
  if (m_quiet) return;
  std::lock_guard lock(m_mutex);
  m_out << line << "\n";
  m_out.flush();
  m_drawn = 0;  // the layer block starts below this line
  if (m_tty && !m_order.empty()) {
    m_order.clear();
    m_layers.clear();
  }
}

void TransferProgress::layer(const std::string& id, const std::string& status) {
  if (m_quiet) return;
  std::lock_guard lock(m_mutex);
  if (!m_layers.count(id)) m_order.push_back(id);
  State& s = m_layers[id];
  if (s.status == status) return;
  s.status = status;
  if (m_tty) {
    redraw();
  } else {
    m_out << id << ": " << status << "\n";
    m_out.flush();
  }
}

void TransferProgress::layer_progress(const std::string& id, std::int64_t done, std::int64_t total) {
  if (m_quiet || !m_tty) return;
  std::lock_guard lock(m_mutex);
  if (!m_layers.count(id)) return;
  State& s = m_layers[id];
  s.done = done;
  s.total = total;
  if (std::chrono::steady_clock::now() - m_last_draw > std::chrono::milliseconds(100)) redraw();
}

}  // namespace mkimage::cli
