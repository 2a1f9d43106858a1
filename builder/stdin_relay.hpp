// `mkimage attach`'s stdin (docker's attach of a container started with -i):
// copies one of our descriptors into a detached container's stdin FIFO
// (ContainerManager::stdin_path) on a thread of its own, until EOF or the
// relay is destroyed. Its EOF closes only this writer: the container's stdin
// stays open (its monitor holds the FIFO), as docker keeps a `run -di`
// container's stdin open when an attached client goes.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "util/result.hpp"

namespace mkimage::builder {

class StdinRelay {
public:
  // Opens `fifo` for writing and starts copying `from_fd` into it. SIGPIPE is
  // ignored from then on in this process (a write after the container exited
  // fails with EPIPE instead). Errors: the FIFO is missing or has no reader
  // (the container does not run, or was not started with -i).
  static util::Result<std::unique_ptr<StdinRelay>> start(const std::filesystem::path& fifo, int from_fd);
  ~StdinRelay();  // stops copying and closes the FIFO
  StdinRelay(const StdinRelay&) = delete;
  StdinRelay& operator=(const StdinRelay&) = delete;

private:
  StdinRelay(int fifo_fd, int from_fd);
  void copy();
  int m_fifo;
  int m_from;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

}  // namespace mkimage::builder
