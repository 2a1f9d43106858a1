// `--progress plain`: BuildKit's plain progress format.
#include <chrono>
#include <cstdio>
#include <string>

#include "mkimage/check_output.hpp"
#include "mkimage/progress.hpp"

namespace mkimage::cli {
namespace {

class PlainPrinter : public ProgressPrinter {
public:
  explicit PlainPrinter(std::FILE* out) : m_out(out) {}

  void step_started(const StepInfo& s) override {
    m_max = std::max(m_max, s.number);
    std::fprintf(m_out, "\n#%d %s %s\n", s.number, s.label.c_str(), s.name.c_str());
    std::fflush(m_out);
  }
  void step_cached(const StepInfo& s) override {
    if (s.cache_source.empty()) std::fprintf(m_out, "#%d CACHED\n", s.number);
    else std::fprintf(m_out, "#%d CACHED (remote %s)\n", s.number, s.cache_source.c_str());
    std::fflush(m_out);
  }
  void step_output(const StepInfo& s, std::string_view text, double t) override {
    std::fprintf(m_out, "#%d %.3f %.*s\n", s.number, t, static_cast<int>(text.size()), text.data());
    std::fflush(m_out);
  }
  void step_done(const StepInfo& s, double t) override {
    std::fprintf(m_out, "#%d DONE %.1fs\n", s.number, t);
    std::fflush(m_out);
  }
  void step_error(const StepInfo& s, const std::string& message, double t) override {
    std::string first = message.substr(0, message.find('\n'));
    std::fprintf(m_out, "#%d ERROR: %s\n", s.number, first.c_str());
    (void)t;
    std::fflush(m_out);
  }
  void explain(const StepInfo& s, const std::vector<std::pair<std::string, std::string>>& fields) override {
    std::fprintf(m_out, "#%d cache key %s\n", s.number, s.cache_key.c_str());
    for (const auto& [tag, value] : fields)
      std::fprintf(m_out, "#%d   %s: %s\n", s.number, tag.c_str(), value.c_str());
    std::fflush(m_out);
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
    std::fprintf(m_out, "\n#%d exporting to image\n", next_number(r));
    std::fprintf(m_out, "#%d writing image %s done\n", next_number(r), r.image_id.str().c_str());
    for (const auto& t : r.tags) std::fprintf(m_out, "#%d naming to %s done\n", next_number(r), t.c_str());
    std::fprintf(m_out, "#%d DONE 0.0s\n", next_number(r));
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fflush(m_out);
  }
  void failed(const std::string& message) override {
    std::fputs(format_check_summary(checks()).c_str(), m_out);
    std::fprintf(m_out, "%s%s", message.c_str(), message.empty() || message.back() == '\n' ? "" : "\n");
    std::fflush(m_out);
  }

private:
  int next_number(const BuildResult& r) const {
    int n = m_max;
    for (const auto& s : r.steps) n = std::max(n, s.step.number);
    return n + 1;
  }
  std::FILE* m_out;
  int m_max = 0;
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
