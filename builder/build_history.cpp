#include "builder/build_history.hpp"

#include <fstream>
#include <iterator>
#include <system_error>

#include "store/lease.hpp"
#include "store/root.hpp"
#include "util/sha256.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

// The Dockerfile's bytes as build() reads them, or nullopt when unreadable
// (the build then fails on its own).
std::optional<std::string> dockerfile_bytes(const BuildRequest& req) {
  if (req.dockerfile_bytes) return *req.dockerfile_bytes;
  fs::path p = req.dockerfile_path.empty() ? req.context_dir / "Dockerfile" : req.dockerfile_path;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string build_name(const BuildRequest& req) {
  if (!req.tags.empty()) return req.tags.front();
  std::error_code ec;
  fs::path dir = fs::absolute(req.context_dir, ec);
  std::string name = dir.filename().string();
  if (name.empty() || name == ".") name = dir.parent_path().filename().string();
  return name;
}

}  // namespace

BuildHistoryRecorder::BuildHistoryRecorder(const BuildRequest& req, EventSink& next) : m_next(next) {
  try {
    start(req);
  } catch (const std::exception& e) {
    disable(e.what());
  }
}

void BuildHistoryRecorder::start(const BuildRequest& req) {
  auto root_dir = store::default_root(req.store_root.string());
  if (!root_dir) return;  // build() reports the same error
  auto opened = store::Store::open(*root_dir);
  if (!opened) return;
  m_store = std::move(*opened);
  m_root = m_store->root().dir();
  m_index = &m_store->index();

  m_build.id = store::new_build_id();
  m_build.name = build_name(req);
  m_build.started_ms = store::now_ms();
  m_build.dockerfile = req.dockerfile_bytes ? std::string("Dockerfile")
                       : req.dockerfile_path.empty() ? std::string("Dockerfile")
                                                     : req.dockerfile_path.string();
  if (auto bytes = dockerfile_bytes(req)) m_build.dockerfile_digest = "sha256:" + util::sha256_hex(*bytes);
  std::error_code ec;
  m_build.context = fs::absolute(req.context_dir, ec).lexically_normal().string();
  m_build.target = req.target;
  m_build.args = req.build_args;
  for (const auto& s : req.secrets) m_build.secrets.push_back(s.id);  // names only, never values
  m_build.tags = req.tags;
  // The lease with the row: a "running" row without a live lease reads as a
  // build whose process died. The build's own lease (Store::begin_lease, what
  // it holds from prune) starts in the same commit: one write instead of three.
  store::LeaseRecord lease = store::new_lease_record(store::history_lease_description(m_build.id));
  auto put = m_index->transaction([&]() -> util::Result<void> {
    if (!m_store->has_lease()) MKIMAGE_TRY_VOID(m_store->begin_lease("build"));
    MKIMAGE_TRY_VOID(m_index->put_lease(lease));
    return store::put_build(*m_index, m_build);
  });
  if (!put) {
    (void)m_store->end_lease();  // rolled back: prepare_build starts it again
    return disable(put.error().message);
  }
  m_lease_id = lease.id;
}

void BuildHistoryRecorder::release_lease() {
  if (m_lease_id.empty() || !m_index) return;
  (void)m_index->delete_lease(m_lease_id);  // one left behind is dead once this process ends
  m_lease_id.clear();
}

BuildHistoryRecorder::~BuildHistoryRecorder() {
  for (auto& [n, f] : m_logs) std::fclose(f);
  release_lease();
}

void BuildHistoryRecorder::disable(const std::string& why) {
  if (!m_index) return;
  release_lease();
  m_index = nullptr;
  m_build.id.clear();
  m_next.message("WARNING: the build is not recorded in the build history: " + why);
}

store::BuildStepRecord& BuildHistoryRecorder::step(const StepInfo& info) {
  auto& st = m_steps[info.number];
  st.build = m_build.id;
  st.number = info.number;
  st.label = info.label;
  st.name = info.name;
  if (!info.cache_key.empty()) st.cache_key = info.cache_key;
  return st;
}

void BuildHistoryRecorder::append_log(int number, std::string_view text) {
  if (!m_index) return;
  auto it = m_logs.find(number);
  if (it == m_logs.end()) {
    fs::path p = store::history_log_path(m_root, m_build.id, number);
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);  // on the first output: a build without any has no directory
    std::FILE* f = std::fopen(p.c_str(), "ab");
    if (!f) {
      disable("cannot write " + p.string());
      return;
    }
    it = m_logs.emplace(number, f).first;
  }
  std::fwrite(text.data(), 1, text.size(), it->second);
  std::fputc('\n', it->second);
  std::fflush(it->second);  // a killed build keeps its logs as far as they got
  m_steps[number].log_bytes += static_cast<std::int64_t>(text.size()) + 1;
}

void BuildHistoryRecorder::close_log(int number) {
  auto it = m_logs.find(number);
  if (it == m_logs.end()) return;
  std::fclose(it->second);
  m_logs.erase(it);
}

void BuildHistoryRecorder::step_started(const StepInfo& info) {
  m_next.step_started(info);
  if (!m_index) return;
  bool again = m_steps.count(info.number) > 0;  // a later pass of build() runs the step again
  auto& st = step(info);
  st.started_ms = store::now_ms();
  st.outcome.clear();
  st.miss_reason = info.miss_reason;
  if (again) {
    close_log(info.number);
    st.log_bytes = 0;
    std::error_code ec;
    fs::remove(store::history_log_path(m_root, m_build.id, info.number), ec);
  }
}

void BuildHistoryRecorder::step_cached(const StepInfo& info) {
  m_next.step_cached(info);
  if (!m_index) return;
  auto& st = step(info);
  st.outcome = info.cache_source.empty() ? "CACHED" : "remote-cached";
  st.duration_ms = 0;
  st.miss_reason.clear();
}

void BuildHistoryRecorder::step_output(const StepInfo& info, std::string_view text, double elapsed_s) {
  m_next.step_output(info, text, elapsed_s);
  append_log(info.number, text);
}

void BuildHistoryRecorder::step_done(const StepInfo& info, double elapsed_s) {
  m_next.step_done(info, elapsed_s);
  if (!m_index) return;
  auto& st = step(info);
  if (st.outcome.empty()) st.outcome = "run";
  st.duration_ms = static_cast<std::int64_t>(elapsed_s * 1000 + 0.5);
  close_log(info.number);
}

void BuildHistoryRecorder::step_error(const StepInfo& info, const std::string& message, double elapsed_s) {
  m_next.step_error(info, message, elapsed_s);
  if (!m_index) return;
  auto& st = step(info);
  st.outcome = "error";
  st.duration_ms = static_cast<std::int64_t>(elapsed_s * 1000 + 0.5);
  append_log(info.number, "ERROR: " + message);
  close_log(info.number);
}

void BuildHistoryRecorder::finish(const Result<BuildResult>& result) {
  try {
    write_outcome(result);
  } catch (const std::exception& e) {
    m_next.message(std::string("WARNING: the build is not recorded in the build history: ") + e.what());
  }
}

void BuildHistoryRecorder::write_outcome(const Result<BuildResult>& result) {
  if (!m_index) return;
  for (auto& [n, f] : m_logs) std::fclose(f);
  m_logs.clear();
  m_build.finished_ms = store::now_ms();
  if (result.ok()) {
    m_build.status = "completed";
    m_build.image = result->image_id.str();
    m_build.manifest = result->manifest_digest.str();
  } else {
    m_build.status = "error";
    m_build.error = result.error().message;
  }
  // The outcome, the end of both leases (the build's result is recorded: its
  // image and cache entries keep what it made) and the cache hits still to be
  // counted (Index::get_cache) in one commit.
  auto written = m_index->transaction([&]() -> util::Result<void> {
    MKIMAGE_TRY_VOID(store::put_build(*m_index, m_build));
    for (const auto& [n, st] : m_steps) MKIMAGE_TRY_VOID(store::put_build_step(*m_index, st));
    if (!m_lease_id.empty()) MKIMAGE_TRY_VOID(m_index->delete_lease(m_lease_id));
    MKIMAGE_TRY_VOID(m_store->end_lease());
    (void)m_index->flush_hits();  // best effort: bookkeeping
    return util::Result<void>{};
  });
  if (written) m_lease_id.clear();
  release_lease();
  if (!written) {
    m_next.message("WARNING: the build is not recorded in the build history: " + written.error().message);
    return;
  }
  // Retention: the newest k_history_keep builds (a no-op below it: one COUNT).
  (void)store::prune_builds(*m_index, m_root, k_history_keep);
}

}  // namespace mkimage::builder
