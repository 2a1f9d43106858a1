// Copying a container's pseudoterminal while its process runs (the master
// side comes from builder/console_socket.hpp), as a container shim does.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string_view>

namespace mkimage::builder {

struct TtyRelayIo {
  // Copied into the terminal until it ends; -1 = nothing (docker's -t without -i).
  // A terminal here is put in raw mode for the duration (restored after).
  int in_fd = -1;
  // Receives what the container's terminal prints (chunks, not lines).
  std::function<void(std::string_view)> out;
};

// Relays until the process `pid` has exited and its terminal is drained.
// `pid` must be this process's child (or reparented to it: call
// become_subreaper() before starting the runtime). Returns the exit code
// (128+N when killed by signal N; 255 when it cannot be read). Takes
// ownership of `master`.
int relay_tty(int master, pid_t pid, const TtyRelayIo& io);

// Gives the container's terminal `master` the window size of the first
// terminal among in_fd, stdout, stderr (none: left unset, as docker's).
void copy_window_size(int in_fd, int master);

// Makes orphaned descendants (a container's process once the runtime that
// started it with `run -d` exits) this process's children (PR_SET_CHILD_SUBREAPER).
void become_subreaper();

}  // namespace mkimage::builder
