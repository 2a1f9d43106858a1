#include "builder/scheduler.hpp"

#include <thread>

#include "builder/build_internal.hpp"

namespace mkimage::builder {

std::map<int, std::set<int>> stage_dependencies(const std::vector<parser::Stage>& stages,
                                                const std::vector<parser::StageEdge>& edges) {
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
    if (st.base.kind == parser::StageBase::Kind::stage && present.count(st.base.stage) && st.base.stage != st.index)
      deps[st.index].insert(st.base.stage);
  }
  return deps;
}

unsigned pool_size(unsigned requested) {
  if (requested) return requested;
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

util::Result<void> run_stages(BuildSession& session, unsigned jobs) {
  const auto& stages = session.plan.stages;
  auto deps = stage_dependencies(stages, session.plan.edges);
  jobs = pool_size(jobs);

  std::mutex mu;
  std::condition_variable cv;
  std::set<int> done, started;
  unsigned running = 0;
  std::optional<util::Error> first_error;
  std::vector<std::thread> threads;

  std::unique_lock lock(mu);
  for (;;) {
    bool launched = false;
    if (!first_error) {
      for (const auto& st : stages) {
        if (running >= jobs) break;
        if (started.count(st.index)) continue;
        bool ready = true;
        for (int d : deps[st.index])
          if (!done.count(d)) ready = false;
        if (!ready) continue;
        started.insert(st.index);
        ++running;
        launched = true;
        const parser::Stage* stage = &st;
        threads.emplace_back([&, stage] {
          auto r = run_stage(session, *stage);
          std::lock_guard g(mu);
          if (!r.ok()) {
            if (!first_error) first_error = r.error();
            session.cancelled = true;
          } else {
            done.insert(stage->index);
          }
          --running;
          cv.notify_all();
        });
      }
    }
    if (launched) continue;
    if (running == 0) break;
    cv.wait(lock);
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  if (first_error) return *first_error;
  if (done.size() != stages.size()) return util::Error{"internal error: stages left unbuilt (dependency cycle?)"};
  return {};
}

}  // namespace mkimage::builder
