// Runs count jobs on at most `workers` threads (the layer transfers of a pull or
// push). Jobs are taken in index order; after the first error no new job starts,
// and that error is returned once every running job has finished.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "util/result.hpp"

namespace mkimage::registry {

inline util::Result<void> parallel_for(int workers, std::size_t count,
                                       const std::function<util::Result<void>(std::size_t)>& job) {
  std::atomic<std::size_t> next{0};
  std::mutex m;
  std::optional<util::Error> first;
  auto worker = [&] {
    while (true) {
      {
        std::lock_guard lock(m);
        if (first) return;
      }
      std::size_t i = next++;
      if (i >= count) return;
      auto r = job(i);
      if (!r.ok()) {
        std::lock_guard lock(m);
        if (!first) first = r.error();
      }
    }
  };
  std::vector<std::thread> threads;
  int n = std::max(1, std::min<int>(workers, static_cast<int>(count)));
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (first) return *first;
  return {};
}

}  // namespace mkimage::registry
