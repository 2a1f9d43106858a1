// Scheduling (issue 15 "Step-level scheduling"): only the stages the planner
// found reachable from the target are built (graph/plan.hpp Plan::stages); a
// stage starts as soon as every stage it needs (FROM <stage>, COPY --from,
// RUN --mount from=) has finished, on a thread of its own — not on a pool
// sized to the cores, so a stage whose RUN sleeps or waits on the network
// holds no core. Concurrency is bounded by what is scarce, per step:
//   - CPU-bound work (content hashing of COPY/ADD and RUN --mount sources, the
//     layer commit: tar + sha256) takes a unit of `cpu`, sized to the cores;
//   - RUN steps take a unit of `run` while their process runs: a larger bound,
//     BuildKit's `max-parallelism` (store configuration builder.max-parallelism).
// A step never holds a unit while it waits for another stage or for the other
// kind of unit, so the bounds cannot deadlock. The first failure stops new
// stages from starting; running ones stop at their next step.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "graph/stages.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

// A counting semaphore: at most limit() holders at once. Tracks the most
// holders seen (peak), which tests and `--debug` traces read.
class ResourceLimit {
public:
  explicit ResourceLimit(unsigned limit);
  ResourceLimit(const ResourceLimit&) = delete;
  ResourceLimit& operator=(const ResourceLimit&) = delete;

  // One unit, returned when the permit is destroyed.
  class Permit {
  public:
    Permit() = default;
    explicit Permit(ResourceLimit* owner) : m_owner(owner) {}
    Permit(Permit&& o) noexcept : m_owner(std::exchange(o.m_owner, nullptr)) {}
    Permit& operator=(Permit&& o) noexcept {
      if (this != &o) {
        release();
        m_owner = std::exchange(o.m_owner, nullptr);
      }
      return *this;
    }
    ~Permit() { release(); }
    void release();

  private:
    ResourceLimit* m_owner = nullptr;
  };

  // Blocks until a unit is free.
  [[nodiscard]] Permit acquire();
  unsigned limit() const { return m_limit; }
  unsigned peak() const;

private:
  void give_back();
  const unsigned m_limit;
  mutable std::mutex m_mu;
  std::condition_variable m_cv;
  unsigned m_used = 0;
  unsigned m_peak = 0;
};

// A permit from `limit`, or none when `limit` is null (no bound).
ResourceLimit::Permit acquire_from(ResourceLimit* limit);

// Stage index → the stage indexes it needs, from the plan's edges (only
// reachable stages appear).
std::map<int, std::set<int>> stage_dependencies(const std::vector<graph::Stage>& stages,
                                                const std::vector<graph::StageEdge>& edges);

// Runs `run(node)` for every node of `deps` (node → the nodes it needs), each on
// a thread of its own as soon as every node it needs has succeeded. After the
// first failure no node starts and `on_failure` is called once (so running
// nodes can stop); the call returns when every started node has returned, with
// the first error. Nodes that can never start (a cycle, a need not in `deps`)
// are an internal error.
util::Result<void> run_when_ready(const std::map<int, std::set<int>>& deps,
                                  const std::function<util::Result<void>(int)>& run,
                                  const std::function<void()>& on_failure = {});

// The bound for CPU-bound work: `requested`, 0 = the number of cores (at least 1).
unsigned cpu_bound(unsigned requested);
// The bound for RUN steps at once: `requested`, 0 = the default, four per core
// and at least 8 (a RUN mostly waits: on a process, the network, the disk).
unsigned run_bound(unsigned requested);

}  // namespace mkimage::builder
