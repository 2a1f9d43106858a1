#include "builder/scheduler.hpp"

#include <optional>
#include <thread>

#include "builder/build_internal.hpp"

namespace mkimage::builder {

ResourceLimit::ResourceLimit(unsigned limit) : m_limit(limit ? limit : 1) {}

ResourceLimit::Permit ResourceLimit::acquire() {
  std::unique_lock lock(m_mu);
  m_cv.wait(lock, [&] { return m_used < m_limit; });
  ++m_used;
  m_peak = std::max(m_peak, m_used);
  return Permit(this);
}

unsigned ResourceLimit::peak() const {
  std::lock_guard lock(m_mu);
  return m_peak;
}

void ResourceLimit::give_back() {
  {
    std::lock_guard lock(m_mu);
    --m_used;
  }
  m_cv.notify_one();
}

void ResourceLimit::Permit::release() {
  if (m_owner) std::exchange(m_owner, nullptr)->give_back();
}

ResourceLimit::Permit acquire_from(ResourceLimit* limit) {
  return limit ? limit->acquire() : ResourceLimit::Permit{};
}

std::map<int, std::set<int>> stage_dependencies(const std::vector<graph::Stage>& stages,
                                                const std::vector<graph::StageEdge>& edges) {
  std::map<int, std::set<int>> deps;
  std::set<int> present;
  for (const auto& st : stages) {
    deps[st.index];
    present.insert(st.index);
  }
  for (const auto& e : edges) {
    if (e.from == e.to || !present.count(e.from) || !present.count(e.to)) continue;
    deps[e.from].insert(e.to);
  }
  // FROM <stage> is an edge too; make sure it is there even if the planner
  // left it out of `edges`.
  for (const auto& st : stages) {
    if (st.base.kind == graph::StageBase::Kind::stage && present.count(st.base.stage) && st.base.stage != st.index)
      deps[st.index].insert(st.base.stage);
  }
  return deps;
}

unsigned cpu_bound(unsigned requested) {
  if (requested) return requested;
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

unsigned run_bound(unsigned requested) {
  if (requested) return requested;
  return std::max(8u, 4 * cpu_bound(0));
}

util::Result<void> run_when_ready(const std::map<int, std::set<int>>& deps,
                                  const std::function<util::Result<void>(int)>& run,
                                  const std::function<void()>& on_failure) {
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> done, started;
  unsigned running = 0;
  std::optional<util::Error> first_error;
  std::vector<std::thread> threads;

  std::unique_lock lock(mu);
  for (;;) {
    if (!first_error) {
      for (const auto& [node, needs] : deps) {
        if (started.count(node)) continue;
        bool ready = true;
        for (int d : needs)
          if (!done.count(d)) ready = false;
        if (!ready) continue;
        started.insert(node);
        ++running;
        threads.emplace_back([&, node = node] {
          auto r = run(node);
          bool first = false;
          {
            std::lock_guard g(mu);
            if (!r.ok()) {
              first = !first_error;
              if (first) first_error = r.error();
            } else {
              done.insert(node);
            }
          }
          if (first && on_failure) on_failure();
          std::lock_guard g(mu);
          --running;
          cv.notify_all();
        });
      }
    }
    if (running == 0) break;
    // Woken when a node ends: it may have made others ready.
    cv.wait(lock);
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  if (first_error) return *first_error;
  if (done.size() != deps.size()) return util::Error{"internal error: stages left unbuilt (dependency cycle?)"};
  return {};
}

util::Result<void> run_stages(BuildSession& session) {
  const auto& stages = session.plan.stages;
  // A stage starts when its base (FROM <stage>) is built; a COPY --from or
  // RUN --mount from= waits for its stage at that step (wait_for_stage), so the
  // steps before it run meanwhile. The planner rejects cycles and references to
  // later stages; the full graph is checked here all the same, since a cycle
  // would leave steps waiting for each other.
  std::map<int, std::set<int>> start_deps;
  for (const auto& st : stages) {
    start_deps[st.index];
    if (st.base.kind == graph::StageBase::Kind::stage && st.base.stage != st.index) start_deps[st.index].insert(st.base.stage);
  }
  auto full = stage_dependencies(stages, session.plan.edges);
  {
    std::set<int> ordered;
    for (bool progress = true; progress;) {
      progress = false;
      for (const auto& [node, needs] : full) {
        if (ordered.count(node)) continue;
        bool ready = true;
        for (int d : needs) ready = ready && ordered.count(d);
        if (ready) progress = ordered.insert(node).second;
      }
    }
    if (ordered.size() != full.size()) return util::Error{"internal error: stages left unbuilt (dependency cycle?)"};
  }
  std::map<int, const graph::Stage*> by_index;
  for (const auto& st : stages) by_index[st.index] = &st;
  return run_when_ready(
      start_deps,
      [&](int index) -> util::Result<void> {
        auto r = run_stage(session, *by_index.at(index));
        if (!r.ok()) return r.error();
        return {};
      },
      [&] {
        // Stops the stages at their next step, and wakes the ones waiting
        // for a stage that will now never finish.
        {
          std::lock_guard g(session.results_mutex);
          session.cancelled = true;
        }
        session.results_cv.notify_all();
      });
}

}  // namespace mkimage::builder
