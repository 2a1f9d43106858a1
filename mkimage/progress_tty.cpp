// `--progress tty` (the default on a terminal): finished steps scroll up as one line
// each (a step that ran with its "   MISS: reason" line under it); below them one
// updating line per running step with its miss reason, elapsed time and last
// output line. Redrawn on every event and every 100 ms. A dry run prints one
// line per step ("=> MISS: reason [2/5] COPY . .", docs/dry-run.md).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <sys/ioctl.h>
#include <unistd.h>

#include "mkimage/check_output.hpp"
#include "mkimage/progress.hpp"

namespace mkimage::cli {
namespace {

using Clock = std::chrono::steady_clock;

class TtyPrinter : public ProgressPrinter {
public:
  explicit TtyPrinter(std::FILE* out) : m_out(out), m_start(Clock::now()) {
    m_ticker = std::thread([this] {
      std::unique_lock lock(m_mu);
      while (!m_stop) {
        m_cv.wait_for(lock, std::chrono::milliseconds(100));
        if (!m_stop) redraw_locked();
      }
    });
  }
  ~TtyPrinter() override { stop(); }

  void step_started(const StepInfo& s) override {
    std::lock_guard lock(m_mu);
    m_running[s.number] = Running{s, Clock::now(), ""};
    redraw_locked();
  }
  void step_cached(const StepInfo& s) override {
    std::lock_guard lock(m_mu);
    m_running.erase(s.number);
    std::string how = s.cache_source.empty() ? "=> CACHED " : "=> CACHED (remote " + s.cache_source + ") ";
    finish_line_locked(how + s.label + " " + s.name);
  }
  void step_output(const StepInfo& s, std::string_view text, double) override {
    std::lock_guard lock(m_mu);
    auto it = m_running.find(s.number);
    if (it != m_running.end()) it->second.last_line = std::string(text);
    m_tail[s.number].push_back(std::string(text));
    if (m_tail[s.number].size() > 10) m_tail[s.number].erase(m_tail[s.number].begin());
  }
  void step_done(const StepInfo& s, double t) override {
    std::lock_guard lock(m_mu);
    m_running.erase(s.number);
    m_tail.erase(s.number);
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1fs", t);
    std::string text = "=> " + s.label + " " + s.name + buf;
    if (!s.miss_reason.empty()) text += "\n   MISS: " + s.miss_reason;
    finish_line_locked(text);
  }
  void step_error(const StepInfo& s, const std::string&, double t) override {
    std::lock_guard lock(m_mu);
    m_running.erase(s.number);
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1fs", t);
    std::string text = "=> ERROR " + s.label + " " + s.name + buf;
    if (!s.miss_reason.empty()) text += "\n   MISS: " + s.miss_reason;
    for (const auto& l : m_tail[s.number]) text += "\n   " + l;
    finish_line_locked(text);
  }
  void message(const std::string& m) override {
    std::lock_guard lock(m_mu);
    finish_line_locked(m);
  }
  void explain(const StepInfo& s, const std::vector<std::pair<std::string, std::string>>& fields) override {
    std::lock_guard lock(m_mu);
    std::string text = "   cache key " + s.cache_key + " for " + s.label + " " + s.name;
    for (const auto& [k, v] : fields) text += "\n     " + k + ": " + v;
    finish_line_locked(text);
  }
  void step_predicted(const StepInfo& s, PredictedOutcome o, const std::string& reason) override {
    std::lock_guard lock(m_mu);
    finish_line_locked("=> " + prediction_text(o, reason) + " " + s.label + " " + s.name);
  }
  void dry_run_finished(const BuildResult& r) override {
    stop();
    std::fprintf(m_out, "%s\n", dry_run_summary(r).c_str());
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fflush(m_out);
  }
  void finished(const BuildResult& r) override {
    stop();
    double t = std::chrono::duration<double>(Clock::now() - m_start).count();
    std::fprintf(m_out, "=> writing image %s\n", r.image_id.str().c_str());
    for (const auto& tag : r.tags) std::fprintf(m_out, "=> naming to %s\n", tag.c_str());
    std::fprintf(m_out, "[+] Building %.1fs FINISHED\n", t);
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fflush(m_out);
  }
  void failed(const std::string& message) override {
    stop();
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fprintf(m_out, "%s%s", message.c_str(), message.empty() || message.back() == '\n' ? "" : "\n");
    std::fflush(m_out);
  }

private:
  struct Running {
    StepInfo step;
    Clock::time_point started;
    std::string last_line;
  };

  void stop() {
    {
      std::lock_guard lock(m_mu);
      if (m_stop) return;
      m_stop = true;
      clear_block_locked();
    }
    m_cv.notify_all();
    if (m_ticker.joinable()) m_ticker.join();
  }

  int width() const {
    winsize ws{};
    if (ioctl(fileno(m_out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
    return 100;
  }

  void clear_block_locked() {
    for (int i = 0; i < m_drawn; ++i) std::fputs("\x1b[1A\x1b[2K", m_out);
    m_drawn = 0;
  }

  void finish_line_locked(const std::string& text) {
    clear_block_locked();
    std::fprintf(m_out, "%s\n", text.c_str());
    draw_block_locked();
  }

  void redraw_locked() {
    clear_block_locked();
    draw_block_locked();
  }

  void draw_block_locked() {
    if (m_stop) return;
    int w = width();
    auto now = Clock::now();
    double total = std::chrono::duration<double>(now - m_start).count();
    char head[64];
    std::snprintf(head, sizeof head, "[+] Building %.1fs", total);
    std::fprintf(m_out, "%s\n", head);
    m_drawn = 1;
    for (const auto& [n, r] : m_running) {
      double t = std::chrono::duration<double>(now - r.started).count();
      char buf[32];
      std::snprintf(buf, sizeof buf, " %.1fs", t);
      std::string line = "=> " + r.step.label + " " + r.step.name;
      if (!r.step.miss_reason.empty()) line += " (MISS: " + r.step.miss_reason + ")";
      if (!r.last_line.empty()) line += "  | " + r.last_line;
      std::string tail = buf;
      if (static_cast<int>(line.size() + tail.size()) > w - 1) line = line.substr(0, std::max(0, w - 2 - static_cast<int>(tail.size())));
      std::fprintf(m_out, "%s%s\n", line.c_str(), tail.c_str());
      ++m_drawn;
    }
    std::fflush(m_out);
  }

  std::FILE* m_out;
  Clock::time_point m_start;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::thread m_ticker;
  bool m_stop = false;
  int m_drawn = 0;
  std::map<int, Running> m_running;
  std::map<int, std::vector<std::string>> m_tail;
};

}  // namespace

std::unique_ptr<ProgressPrinter> make_tty_printer(std::FILE* out) { return std::make_unique<TtyPrinter>(out); }

}  // namespace mkimage::cli
