#include "builder/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
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
std::condition_variable g_sections_done;
int g_sections = 0;                       // UninterruptibleScope sections in progress
thread_local int t_section_depth = 0;     // this thread's nesting

// The calling thread waits for the watcher to end the process.
[[noreturn]] void wait_for_exit() {
  while (true) pause();
}

std::atomic<std::int64_t> g_first_signal_ns{0};

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void on_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    // Second signal while cleaning up: give up at once, unless it is the same
    // interrupt delivered twice (`timeout` and process-group kills signal the
    // process and then its group) within a second of the first.
    if (monotonic_ns() - g_first_signal_ns.load() < 1000000000) return;
    _exit(128 + sig);
  }
  g_first_signal_ns = monotonic_ns();
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
    std::unique_lock lock(g_mutex);
    g_interrupted = true;  // from here on no section starts
    g_sections_done.wait(lock, [] { return g_sections == 0; });
    for (auto it = g_actions.rbegin(); it != g_actions.rend(); ++it) actions.push_back(it->second);
    g_actions.clear();
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

UninterruptibleScope::UninterruptibleScope() {
  if (t_section_depth++ > 0) return;
  std::unique_lock lock(g_mutex);
  if (g_interrupted.load() && std::this_thread::get_id() != g_watcher_id) {
    lock.unlock();
    wait_for_exit();
  }
  ++g_sections;
}

UninterruptibleScope::~UninterruptibleScope() {
  if (--t_section_depth > 0) return;
  std::lock_guard lock(g_mutex);
  if (--g_sections == 0) g_sections_done.notify_all();
}

std::uint64_t register_cleanup(std::function<void()> action) {
  std::unique_lock lock(g_mutex);
  if (g_interrupted.load() && std::this_thread::get_id() != g_watcher_id && t_section_depth == 0) {
    lock.unlock();
    wait_for_exit();
  }
  std::uint64_t id = g_next_id++;
  g_actions.emplace(id, std::move(action));
  return id;
}

void unregister_cleanup(std::uint64_t id) {
  if (id == 0) return;
  std::unique_lock lock(g_mutex);
  if (g_interrupted.load() && std::this_thread::get_id() != g_watcher_id && t_section_depth == 0) {
    // Cleanup is running and may use what this owner is about to destroy:
    // wait for the watcher to exit the process. (Inside a section the watcher
    // has not taken the actions yet, so erasing is safe.)
    lock.unlock();
    wait_for_exit();
  }
  g_actions.erase(id);
}

}  // namespace mkimage::builder
