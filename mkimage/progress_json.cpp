// `--progress json`: one JSON object per line (docs/progress-json.md).
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "util/json_text.hpp"
#include "mkimage/progress.hpp"

namespace mkimage::cli {
namespace {

using nlohmann::json;

double now_s() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

const char* outcome_name(PredictedOutcome o) {
  switch (o) {
    case PredictedOutcome::cached: return "cached";
    case PredictedOutcome::miss: return "miss";
    case PredictedOutcome::would_run: return "would_run";
    case PredictedOutcome::unknown: return "unknown";
  }
  return "unknown";
}

json step_json(const char* event, const StepInfo& s) {
  json j;
  j["event"] = event;
  j["time"] = now_s();
  j["step"] = s.number;
  j["stage"] = s.stage;
  j["stage_index"] = s.stage_index;
  j["label"] = s.label;
  j["name"] = s.name;
  j["line"] = s.line;
  j["cache_key"] = s.cache_key;
  if (!s.miss_reason.empty()) j["miss_reason"] = s.miss_reason;
  return j;
}

class JsonPrinter : public ProgressPrinter {
public:
  explicit JsonPrinter(std::FILE* out) : m_out(out) {}
  void step_started(const StepInfo& s) override { emit(step_json("started", s)); }
  void step_cached(const StepInfo& s) override {
    json j = step_json("cached", s);
    j["source"] = s.cache_source.empty() ? "local" : s.cache_source;
    emit(j);
  }
  void step_output(const StepInfo& s, std::string_view text, double t) override {
    json j{{"event", "output"}, {"time", now_s()}, {"step", s.number}, {"elapsed", t}};
    j["text"] = std::string(text);
    emit(j);
  }
  void step_done(const StepInfo& s, double t) override {
    json j = step_json("done", s);
    j["elapsed"] = t;
    emit(j);
  }
  void step_error(const StepInfo& s, const std::string& message, double t) override {
    json j = step_json("error", s);
    j["elapsed"] = t;
    j["message"] = message;
    emit(j);
  }
  void explain(const StepInfo& s, const std::vector<std::pair<std::string, std::string>>& fields) override {
    json j = step_json("explain", s);
    json f = json::array();
    for (const auto& [k, v] : fields) f.push_back(json::array({k, v}));
    j["fields"] = f;
    emit(j);
  }
  void on_check_warning(const CheckWarning& w) override {
    json j{{"event", "check"}, {"time", now_s()}, {"rule", w.rule}, {"description", w.description},
           {"url", w.url},     {"detail", w.detail}, {"line", w.line}, {"end_line", w.end_line}};
    emit(j);
  }
  void message(const std::string& m) override { emit(json{{"event", "message"}, {"time", now_s()}, {"text", m}}); }
  void finished(const BuildResult& r) override {
    if (!r.image_id.valid()) {
      // --check: no image
      emit(json{{"event", "checked"}, {"time", now_s()}, {"warnings", r.checks.size()}});
      return;
    }
    json j{{"event", "result"}, {"time", now_s()}, {"image_id", r.image_id.str()},
           {"manifest_digest", r.manifest_digest.str()}, {"tags", r.tags}};
    int hits = 0, misses = 0;
    for (const auto& s : r.steps) (s.outcome == CacheOutcome::hit ? hits : misses)++;
    j["cached_steps"] = hits;
    j["executed_steps"] = misses;
    if (!r.pushed.empty()) {
      json pushed = json::object();
      for (const auto& [ref, digest] : r.pushed) pushed[ref] = digest;
      j["pushed"] = pushed;  // reference → the manifest digest in its registry
    }
    emit(j);
  }
  void step_predicted(const StepInfo& s, PredictedOutcome o, const std::string& reason) override {
    json j = step_json("predicted", s);
    j["outcome"] = outcome_name(o);
    j["reason"] = reason;
    emit(j);
  }
  void dry_run_finished(const BuildResult& r) override {
    int n[4] = {0, 0, 0, 0};
    for (const auto& p : r.predictions) ++n[static_cast<int>(p.outcome)];
    emit(json{{"event", "dry_run"}, {"time", now_s()}, {"steps", r.predictions.size()}, {"cached", n[0]},
              {"miss", n[1]}, {"would_run", n[2]}, {"unknown", n[3]}});
  }
  void failed(const std::string& message) override {
    emit(json{{"event", "failed"}, {"time", now_s()}, {"message", message}});
  }

private:
  void emit(const json& j) {
    std::string line = util::json_text(j);
    std::fprintf(m_out, "%s\n", line.c_str());
    std::fflush(m_out);
  }
  std::FILE* m_out;
};

}  // namespace

std::unique_ptr<ProgressPrinter> make_json_printer(std::FILE* out) { return std::make_unique<JsonPrinter>(out); }

}  // namespace mkimage::cli
