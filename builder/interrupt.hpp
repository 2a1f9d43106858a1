// Interrupt handling: a process-wide registry of cleanup actions that run
// when mkimage gets SIGINT, SIGTERM or SIGHUP, so that Ctrl-C during a build
// leaves no mounts, no runtime containers and no temp directories behind.
// (Blobs need nothing here: the blob store writes temp files and renames.)
//
// install_interrupt_handlers() sets signal handlers that only write to a
// self-pipe; a watcher thread then runs every registered action, newest first
// (so a container is killed before its rootfs is unmounted, and unmounted
// before its directory is removed), and exits the process with 128+signal.
// A second signal while cleaning up exits at once.
//
// The other threads keep running while the watcher cleans up, so steps that
// create what an action undoes (starting the runtime, mounting, committing a
// layer with its cache row) run as UninterruptibleScope sections: the watcher
// waits for sections in progress to end before it runs any action, and once a
// signal has arrived no section starts (its thread waits for the exit). So an
// interrupt never kills a container before it is started, never removes an
// upperdir while it is being committed, and a layer is either committed whole
// (with its cache row) or not at all. After a signal, register_cleanup() also
// waits for the exit instead of registering.
//
// Example:
//   install_interrupt_handlers();
//   CleanupGuard guard([&] { unmount_path(dir); });   // runs on interrupt
//   ...                                                // until guard is destroyed
#pragma once

#include <cstdint>
#include <functional>

namespace mkimage::builder {

// Installs the handlers and starts the watcher thread (idempotent).
void install_interrupt_handlers();

// True once a signal was received (cleanup is running or done).
bool interrupted();

// Registers an action; returns its id (never 0). Actions must not throw and
// must be safe to run from another thread while the owner is blocked.
std::uint64_t register_cleanup(std::function<void()> action);
// Removes an action without running it (0 or unknown ids are ignored).
void unregister_cleanup(std::uint64_t id);

// A section an interrupt does not cut in two (see above). Keep sections short
// and bounded: never wait for a container inside one. Nested sections in one
// thread are one section.
class UninterruptibleScope {
public:
  UninterruptibleScope();
  ~UninterruptibleScope();
  UninterruptibleScope(const UninterruptibleScope&) = delete;
  UninterruptibleScope& operator=(const UninterruptibleScope&) = delete;
};

// RAII registration.
class CleanupGuard {
public:
  CleanupGuard() = default;
  explicit CleanupGuard(std::function<void()> action) : m_id(register_cleanup(std::move(action))) {}
  ~CleanupGuard() { unregister_cleanup(m_id); }
  CleanupGuard(CleanupGuard&& other) noexcept : m_id(other.m_id) { other.m_id = 0; }
  CleanupGuard& operator=(CleanupGuard&& other) noexcept {
    if (this != &other) {
      unregister_cleanup(m_id);
      m_id = other.m_id;
      other.m_id = 0;
    }
    return *this;
  }
  CleanupGuard(const CleanupGuard&) = delete;
  CleanupGuard& operator=(const CleanupGuard&) = delete;
  void release() { unregister_cleanup(m_id); m_id = 0; }

private:
  std::uint64_t m_id = 0;
};

}  // namespace mkimage::builder
