// builder/scheduler.hpp: nodes start as soon as what they need is done (not on a
// pool sized to the cores), resource limits bound what runs at once, and the
// first failure stops new work. No wall-clock thresholds: overlap is proved by
// nodes waiting for each other (with a generous timeout that only a broken
// scheduler reaches).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "builder/scheduler.hpp"

using namespace mkimage::builder;
using namespace std::chrono_literals;

namespace {

// Counts arrivals; wait_for(n) is true once n have arrived (false after a timeout).
class Rendezvous {
public:
  void arrive() {
    {
      std::lock_guard l(m_mu);
      ++m_count;
    }
    m_cv.notify_all();
  }
  bool wait_for(int n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock l(m_mu);
    return m_cv.wait_for(l, timeout, [&] { return m_count >= n; });
  }

private:
  std::mutex m_mu;
  std::condition_variable m_cv;
  int m_count = 0;
};

}  // namespace

TEST_CASE("scheduler: a node starts only after every node it needs has finished") {
  // 0 → {1, 2} → 3, and 4 alone.
  std::map<int, std::set<int>> deps{{0, {}}, {1, {0}}, {2, {0}}, {3, {1, 2}}, {4, {}}};
  std::mutex mu;
  std::vector<std::pair<int, bool>> events;  // (node, true = start / false = end)
  Rendezvous both;                           // 1 and 2 are independent: they overlap
  auto r = run_when_ready(deps, [&](int n) -> mkimage::util::Result<void> {
    {
      std::lock_guard l(mu);
      events.emplace_back(n, true);
    }
    if (n == 1 || n == 2) {
      both.arrive();
      CHECK_MESSAGE(both.wait_for(2), "nodes 1 and 2 did not run at the same time");
    }
    std::lock_guard l(mu);
    events.emplace_back(n, false);
    return {};
  });
  REQUIRE(r.ok());
  REQUIRE(events.size() == 10);
  auto pos = [&](int n, bool start) {
    for (std::size_t i = 0; i < events.size(); ++i)
      if (events[i] == std::make_pair(n, start)) return static_cast<int>(i);
    return -1;
  };
  for (const auto& [node, needs] : deps) {
    for (int d : needs) CHECK_MESSAGE(pos(d, false) < pos(node, true), node << " started before " << d << " ended");
  }
}

TEST_CASE("scheduler: independent nodes all run at once, whatever the number of cores") {
  // More nodes than this machine has cores, each waiting until all have
  // started: a pool sized to the cores would never let them meet.
  const int n = static_cast<int>(cpu_bound(0)) * 3 + 2;
  std::map<int, std::set<int>> deps;
  for (int i = 0; i < n; ++i) deps[i];
  Rendezvous all;
  std::atomic<int> met{0};
  auto r = run_when_ready(deps, [&](int) -> mkimage::util::Result<void> {
    all.arrive();
    if (all.wait_for(n)) ++met;
    return {};
  });
  REQUIRE(r.ok());
  CHECK(met == n);
}

TEST_CASE("scheduler: a resource limit never lets more than N hold it at once") {
  SUBCASE("a waiter gets a unit only when one is released") {
    ResourceLimit limit(3);
    std::vector<ResourceLimit::Permit> held;
    for (int i = 0; i < 3; ++i) held.push_back(limit.acquire());
    std::atomic<bool> got{false};
    std::thread waiter([&] {
      auto p = limit.acquire();
      got = true;
    });
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(got.load());  // all three units are held
    held.pop_back();          // one returned
    for (int i = 0; i < 2000 && !got; ++i) std::this_thread::sleep_for(10ms);
    CHECK(got.load());
    waiter.join();
    CHECK(limit.peak() == 3);
  }
  SUBCASE("nodes sharing a limit of 2: at most 2 inside, and they do get 2") {
    ResourceLimit limit(2);
    std::map<int, std::set<int>> deps;
    for (int i = 0; i < 12; ++i) deps[i];
    std::mutex mu;
    int inside = 0, most = 0;
    Rendezvous pair;
    auto r = run_when_ready(deps, [&](int) -> mkimage::util::Result<void> {
      auto p = limit.acquire();
      {
        std::lock_guard l(mu);
        most = std::max(most, ++inside);
      }
      pair.arrive();
      pair.wait_for(2, 5s);  // the first two wait for each other: the bound is reached
      std::this_thread::sleep_for(2ms);
      std::lock_guard l(mu);
      --inside;
      return {};
    });
    REQUIRE(r.ok());
    CHECK(most == 2);
    CHECK(limit.peak() == 2);
  }
  SUBCASE("no limit: a permit from nothing") {
    auto p = acquire_from(nullptr);
    p.release();
  }
}

TEST_CASE("scheduler: the first failure stops new work and is the error returned") {
  // 0 fails at once; 1 is independent and still running then; 2 needs 1 and
  // must not start after the failure; 3 needs 0.
  std::map<int, std::set<int>> deps{{0, {}}, {1, {}}, {2, {1}}, {3, {0}}};
  std::mutex mu;
  std::set<int> ran;
  Rendezvous failed;
  int failures_seen = 0;
  auto r = run_when_ready(
      deps,
      [&](int n) -> mkimage::util::Result<void> {
        {
          std::lock_guard l(mu);
          ran.insert(n);
        }
        if (n == 0) return mkimage::util::Error{"node 0 failed"};
        if (n == 1) CHECK(failed.wait_for(1));  // ends only after the failure was seen
        return {};
      },
      [&] {
        ++failures_seen;
        failed.arrive();
      });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "node 0 failed");
  CHECK(failures_seen == 1);
  CHECK(ran == std::set<int>{0, 1});
}

TEST_CASE("scheduler: a cycle is an internal error, nothing runs") {
  std::map<int, std::set<int>> deps{{0, {1}}, {1, {0}}};
  bool called = false;
  auto r = run_when_ready(deps, [&](int) -> mkimage::util::Result<void> {
    called = true;
    return {};
  });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("cycle") != std::string::npos);
  CHECK_FALSE(called);
}

TEST_CASE("scheduler: bounds: CPU work by the cores, RUN steps by a larger default") {
  CHECK(cpu_bound(3) == 3);
  CHECK(cpu_bound(0) >= 1);
  CHECK(run_bound(5) == 5);
  CHECK(run_bound(0) >= 8);
  CHECK(run_bound(0) >= cpu_bound(0));
}
