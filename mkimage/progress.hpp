// Progress printers for `mkimage build --progress plain|tty|json` (and `-q`).
// Formats: plain and tty in docs/mkimage.md, json in docs/progress-json.md.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "mkimage/build.hpp"

namespace mkimage::cli {

// A progress sink that can also print the build's summary (image ID, tags) and
// its failure.
// Every printer keeps the build-check warnings it was given (check_warning):
// plain and tty print buildx's summary of them after the build or its failure,
// `--check` prints its report from them.
class ProgressPrinter : public EventSink {
public:
  virtual void finished(const BuildResult& result) = 0;
  virtual void failed(const std::string& message) = 0;
  void check_warning(const CheckWarning& w) override {
    m_checks.push_back(w);
    on_check_warning(w);
  }
  const std::vector<CheckWarning>& checks() const { return m_checks; }
  // `--dry-run`: the end of the predictions (plain and tty: a summary line; json:
  // a "dry_run" event) instead of finished().
  virtual void dry_run_finished(const BuildResult& result) = 0;

protected:
  virtual void on_check_warning(const CheckWarning&) {}

private:
  std::vector<CheckWarning> m_checks;
};

// `--dry-run`: a prediction as the plain and tty printers show it: "CACHED",
// "MISS", "MISS: reason", "would run", "UNKNOWN: reason" (docs/dry-run.md).
std::string prediction_text(PredictedOutcome outcome, const std::string& reason);
// "dry run: 5 steps: 3 cached, 1 miss, 1 would run" (unknown counted when any).
std::string dry_run_summary(const BuildResult& result);

// BuildKit's plain format on `out`: "#5 [app 3/6] RUN npm install", "#5 CACHED",
// "#5 0.123 text", "#5 DONE 1.4s", then "writing image sha256:…" and tags.
std::unique_ptr<ProgressPrinter> make_plain_printer(std::FILE* out);
// One updating line per running step (ANSI), finished steps above it.
std::unique_ptr<ProgressPrinter> make_tty_printer(std::FILE* out);
// One JSON object per line (docs/progress-json.md).
std::unique_ptr<ProgressPrinter> make_json_printer(std::FILE* out);
// `-q`: nothing while building; the image ID on `out` at the end; errors on stderr.
std::unique_ptr<ProgressPrinter> make_quiet_printer(std::FILE* out);

}  // namespace mkimage::cli
