// The build history recorder (docs/history.md): an EventSink that passes every
// event on to the caller's sink and records the build in the store
// (store/build_history.hpp) — the builds row when the build starts and when it
// ends, every step's outcome, duration and cache key, and every step's output,
// appended as it arrives to ROOT/history/<id>/<step>.log, never clipped.
// `mkimage::build()` wraps the caller's sink in one, so programs embedding the
// library record their builds too. Recording never fails a build: the first
// error (an unwritable root, say) turns the recorder into a pass-through that
// reports one warning.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "mkimage/build.hpp"
#include "store/build_history.hpp"
#include "store/index.hpp"
#include "store/store.hpp"

namespace mkimage::builder {

// Builds kept in the history: after each build the oldest beyond this many are
// removed (`mkimage builds prune --keep N` removes more).
constexpr std::size_t k_history_keep = 1000;

class BuildHistoryRecorder : public EventSink {
public:
  // Opens the store (the build uses the same one: store()) and writes the
  // "running" row. `next` receives every event.
  BuildHistoryRecorder(const BuildRequest& request, EventSink& next);
  ~BuildHistoryRecorder() override;
  BuildHistoryRecorder(const BuildHistoryRecorder&) = delete;
  BuildHistoryRecorder& operator=(const BuildHistoryRecorder&) = delete;

  // The store opened for the build (null when it could not be opened: the
  // build then opens it and reports why it cannot).
  std::shared_ptr<store::Store> store() const { return m_store; }
  // The build id ("" when nothing is recorded).
  const std::string& id() const { return m_build.id; }
  // Writes the outcome: the image (completed) or the error, the steps.
  void finish(const Result<BuildResult>& result);

  void step_started(const StepInfo& info) override;
  void step_cached(const StepInfo& info) override;
  void step_output(const StepInfo& info, std::string_view text, double elapsed_s) override;
  void step_done(const StepInfo& info, double elapsed_s) override;
  void step_error(const StepInfo& info, const std::string& message, double elapsed_s) override;
  void explain(const StepInfo& info, const std::vector<std::pair<std::string, std::string>>& fields) override {
    m_next.explain(info, fields);
  }
  void message(const std::string& text) override { m_next.message(text); }
  void check_warning(const CheckWarning& w) override { m_next.check_warning(w); }

private:
  void start(const BuildRequest& request);
  void write_outcome(const Result<BuildResult>& result);
  void disable(const std::string& why);
  void release_lease();
  void append_log(int number, std::string_view text);
  void close_log(int number);
  store::BuildStepRecord& step(const StepInfo& info);

  EventSink& m_next;
  std::filesystem::path m_root;
  std::shared_ptr<store::Store> m_store;
  store::Index* m_index = nullptr;        // m_store's; null: not recording
  std::string m_lease_id;                 // the lease held while the build runs (store::history_lease_description)
  store::BuildRecord m_build;
  std::map<int, store::BuildStepRecord> m_steps;
  std::map<int, std::FILE*> m_logs;  // open log files of running steps
};

}  // namespace mkimage::builder
