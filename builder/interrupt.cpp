#include "builder/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace mkimage::builder {
namespace {

std::mutex g_mutex;
std::map<std::uint64_t, std::function<void()>> g_actions;  // id order = registration order
std::uint64_t g_next_id = 1;
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};
std::once_flag g_once;
std::thread::id g_watcher_id;

void on_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    // Second signal while cleaning up: give up at once.
    _exit(128 + sig);
  }
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = write(g_pipe[1], &b, 1);
}

void watcher() {
  g_watcher_id = std::this_thread::get_id();
  unsigned char b = 0;
  while (true) {
    ssize_t n = read(g_pipe[0], &b, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
  std::vector<std::function<void()>> actions;
  {
    std::lock_guard lock(g_mutex);
    for (auto it = g_actions.rbegin(); it != g_actions.rend(); ++it) actions.push_back(it->second);
    g_actions.clear();
    g_interrupted = true;
  }
  for (auto& a : actions) {
    try {
      a();
    } catch (...) {
    }
  }
  _exit(128 + b);
}

}  // namespace

void install_interrupt_handlers() {
  std::call_once(g_once, [] {
    if (pipe2(g_pipe, O_CLOEXEC) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    std::thread(watcher).detach();
  });
}

bool interrupted() { return g_interrupted.load(); }

std::uint64_t register_cleanup(std::function<void()> action) {
  std::lock_guard lock(g_mutex);
  std::uint64_t id = g_next_id++;
  g_actions.emplace(id, std::move(action));
  return id;
}

void unregister_cleanup(std::uint64_t id) {
  if (id == 0) return;
  std::unique_lock lock(g_mutex);
  if (g_interrupted.load() && std::this_thread::get_id() != g_watcher_id) {
    // Cleanup is running and may use what this owner is about to destroy:
    // wait for the watcher to exit the process.
    lock.unlock();
    while (true) pause();
  }
  g_actions.erase(id);
}

}  // namespace mkimage::builder
