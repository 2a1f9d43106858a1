// `--progress plain`: BuildKit's plain progress format.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "mkimage/check_output.hpp"
#include "mkimage/progress.hpp"

namespace mkimage::cli {
namespace {

class PlainPrinter : public ProgressPrinter {
public:
  explicit PlainPrinter(std::FILE* out) : m_out(out) {}

  void step_started(const StepInfo& s) override {
    m_max = std::max(m_max, s.number);
    std::vector<std::string> lines;
    if (!s.miss_reason.empty()) lines.push_back("#" + std::to_string(s.number) + " MISS: " + s.miss_reason);
    event(s, std::move(lines), false);
  }
  void step_cached(const StepInfo& s) override {
    event(s, {"#" + std::to_string(s.number) + " CACHED" + (s.cache_source.empty() ? "" : " (remote " + s.cache_source + ")")},
          true);
  }
  void step_output(const StepInfo& s, std::string_view text, double t) override {
    char head[48];
    std::snprintf(head, sizeof head, "#%d %.3f ", s.number, t);
    event(s, {head + std::string(text)}, false);
  }
  void step_done(const StepInfo& s, double t) override {
    char line[48];
    std::snprintf(line, sizeof line, "#%d DONE %.1fs", s.number, t);
    event(s, {line}, true);
  }
  void step_error(const StepInfo& s, const std::string& message, double) override {
    event(s, {"#" + std::to_string(s.number) + " ERROR: " + message.substr(0, message.find('\n'))}, true);
  }
  void explain(const StepInfo& s, const std::vector<std::pair<std::string, std::string>>& fields) override {
    std::vector<std::string> lines{"#" + std::to_string(s.number) + " cache key " + s.cache_key};
    for (const auto& [tag, value] : fields) lines.push_back("#" + std::to_string(s.number) + "   " + tag + ": " + value);
    event(s, std::move(lines), false);
  }
  // BuildKit's plain progress shows a check under the step that loaded the
  // Dockerfile (always #1 here): "#1 WARN: FromAsCasing: … (line 2)".
  void on_check_warning(const CheckWarning& w) override {
    std::fprintf(m_out, "#1 WARN: %s\n", check_short(w).c_str());
    std::fflush(m_out);
  }
  void message(const std::string& m) override {
    std::fprintf(m_out, "%s\n", m.c_str());
    std::fflush(m_out);
  }
  void step_predicted(const StepInfo& s, PredictedOutcome o, const std::string& reason) override {
    m_max = std::max(m_max, s.number);
    std::fprintf(m_out, "\n#%d %s %s\n#%d %s\n", s.number, s.label.c_str(), s.name.c_str(), s.number,
                 prediction_text(o, reason).c_str());
    std::fflush(m_out);
  }
  void dry_run_finished(const BuildResult& r) override {
    std::fprintf(m_out, "\n%s\n", dry_run_summary(r).c_str());
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fflush(m_out);
  }
  void finished(const BuildResult& r) override {
    flush_held();
    std::fprintf(m_out, "\n#%d exporting to image\n", next_number(r));
    std::fprintf(m_out, "#%d writing image %s done\n", next_number(r), r.image_id.str().c_str());
    for (const auto& t : r.tags) std::fprintf(m_out, "#%d naming to %s done\n", next_number(r), t.c_str());
    std::fprintf(m_out, "#%d DONE 0.0s\n", next_number(r));
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fflush(m_out);
  }
  void failed(const std::string& message) override {
    flush_held();
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fprintf(m_out, "%s%s", message.c_str(), message.empty() || message.back() == '\n' ? "" : "\n");
    std::fflush(m_out);
  }

private:
  // Steps running at once print as BuildKit's plain printer does: one step is
  // shown at a time, under its header; what the other running steps say is
  // held until the shown one ends (or for at most 10 s). A step that ends
  // while another is shown is shown at once: the interrupted one gets
  // "#N ...", and its header again when it is shown next.
  using Clock = std::chrono::steady_clock;
  struct Held {
    StepInfo info;
    std::vector<std::string> lines;
    Clock::time_point since;  // of the first held line
  };
  static constexpr std::chrono::seconds kMaxDelay{10};

  void event(const StepInfo& s, std::vector<std::string> lines, bool completes) {
    if (s.number != m_current) {
      if (m_current && !completes) {
        Held& h = m_held[s.number];
        h.info = s;
        if (!lines.empty() && h.lines.empty()) h.since = Clock::now();
        h.lines.insert(h.lines.end(), lines.begin(), lines.end());
        if (h.lines.empty() || Clock::now() - h.since < kMaxDelay) return;
        lines.clear();  // held too long: shown now, with what it held
      }
      show(s);
    }
    for (const auto& l : lines) std::fprintf(m_out, "%s\n", l.c_str());
    if (completes) {
      m_current = 0;
      m_held.erase(s.number);
      // The step that has waited longest with something to say is next.
      auto next = m_held.end();
      for (auto it = m_held.begin(); it != m_held.end(); ++it)
        if (!it->second.lines.empty() && (next == m_held.end() || it->second.since < next->second.since)) next = it;
      if (next != m_held.end()) show(StepInfo(next->second.info));
    }
    std::fflush(m_out);
  }
  // Makes `s` the shown step: its header, then what it held.
  void show(const StepInfo& s) {
    if (m_current) std::fprintf(m_out, "#%d ...\n", m_current);
    std::fprintf(m_out, "\n#%d %s %s\n", s.number, s.label.c_str(), s.name.c_str());
    m_current = s.number;
    auto it = m_held.find(s.number);
    if (it == m_held.end()) return;
    for (const auto& l : it->second.lines) std::fprintf(m_out, "%s\n", l.c_str());
    m_held.erase(it);
  }
  void flush_held() {
    while (!m_held.empty()) {
      Held h = m_held.begin()->second;
      if (h.lines.empty()) {
        m_held.erase(m_held.begin());
        continue;
      }
      show(h.info);
    }
    std::fflush(m_out);
  }
  int next_number(const BuildResult& r) const {
    int n = m_max;
    for (const auto& s : r.steps) n = std::max(n, s.step.number);
    return n + 1;
  }
  std::FILE* m_out;
  int m_max = 0;
  int m_current = 0;         // the step shown now, while it runs (0 = none)
  std::map<int, Held> m_held;  // running steps not shown now, by number
};

class QuietPrinter : public ProgressPrinter {
public:
  explicit QuietPrinter(std::FILE* out) : m_out(out) {}
  void finished(const BuildResult& r) override {
    std::fprintf(m_out, "%s\n", r.image_id.str().c_str());
    std::fflush(m_out);
  }
  void failed(const std::string& message) override {
    std::fprintf(stderr, "%s%s", message.c_str(), message.empty() || message.back() == '\n' ? "" : "\n");
  }
  void dry_run_finished(const BuildResult&) override {}

private:
  std::FILE* m_out;
};

}  // namespace

std::string prediction_text(PredictedOutcome outcome, const std::string& reason) {
  switch (outcome) {
    case PredictedOutcome::cached: return "CACHED";
    case PredictedOutcome::miss: return reason.empty() ? "MISS" : "MISS: " + reason;
    case PredictedOutcome::would_run: return "would run";
    case PredictedOutcome::unknown: return "UNKNOWN: " + reason;
  }
  return "UNKNOWN";
}

std::string dry_run_summary(const BuildResult& r) {
  int n[4] = {0, 0, 0, 0};
  for (const auto& p : r.predictions) ++n[static_cast<int>(p.outcome)];
  std::string s = "dry run: " + std::to_string(r.predictions.size()) + " steps: " + std::to_string(n[0]) +
                  " cached, " + std::to_string(n[1]) + " miss, " + std::to_string(n[2]) + " would run";
  if (n[3]) s += ", " + std::to_string(n[3]) + " unknown";
  return s;
}

std::unique_ptr<ProgressPrinter> make_plain_printer(std::FILE* out) { return std::make_unique<PlainPrinter>(out); }
std::unique_ptr<ProgressPrinter> make_quiet_printer(std::FILE* out) { return std::make_unique<QuietPrinter>(out); }

}  // namespace mkimage::cli
