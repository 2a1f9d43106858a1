// Owners of temporary things: every temp file or directory mkimage makes under
// the store root (and beside a `save` destination) carries the process id and
// the process start time (/proc/PID/stat field 22, clock ticks since boot) of
// the process that made it, in its name:
//
//   <head>-<pid>-<start>-XXXXXX        e.g. ROOT/tmp/build-4711-9921345-a8Zk2q
//
// The start time tells a dead owner from a new process that got the same pid.
// A later process (Store::open) removes what dead owners left, unmounting
// mounts below it first (nested ones first; lazily when busy), and never
// touches what a live process owns.
//
// Example:
//   std::string tmpl = dir / ("blob-" + owner_tag() + "-XXXXXX");   // mkstemp it
//   sweep_dead_owners(dir, [](std::string_view head) { return head == "blob"; });
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mkimage::store {

// Field 22 (starttime) of /proc/PID/stat; nullopt when the process does not
// exist (or /proc cannot tell).
std::optional<std::uint64_t> process_start_time(pid_t pid);

// "<pid>-<start>" of this process (computed once; the pid is re-read after fork).
std::string owner_tag();

// The owner named by a temp entry: `start` is missing in names made by
// versions before start times were recorded ("<prefix>-<pid>-XXXXXX").
struct TempOwner {
  std::string head;  // what precedes "-<pid>[-<start>]-XXXXXX"
  pid_t pid = 0;
  std::optional<std::uint64_t> start;
};

// Parses "<head>-<pid>-<start>-XXXXXX" (or, when `legacy` is true, also
// "<head>-<pid>-XXXXXX"; then `start` is empty). The suffix is the 6
// characters of mkstemp/mkdtemp. Returns nullopt for any other name.
std::optional<TempOwner> parse_temp_name(std::string_view name, bool legacy = true);

// True when the owner surely no longer runs: no process with that pid, or one
// that started at another time (the pid was reused). Without a start time:
// kill(pid, 0) says ESRCH (also for start 0: the owner could not read its
// own start time). When in doubt (e.g. /proc unreadable), false.
bool owner_is_dead(const TempOwner& owner);

// Mount points at or below `path` in this mount namespace (/proc/self/mountinfo,
// octal escapes decoded), in the order the kernel lists them (parents first).
std::vector<std::filesystem::path> mounts_under(const std::filesystem::path& path);

// Unmounts everything at or below `path`, last mounted first (so nested and
// stacked mounts go first), detaching lazily (MNT_DETACH) what is busy.
// Returns true when nothing is mounted there any more.
bool unmount_all_under(const std::filesystem::path& path);

// Removes a dead owner's entry `path`: unmounts what is mounted below it, then
// removes the tree (never when a mount is left: a mount's content is not ours).
// Returns true when it is gone.
bool remove_dead_entry(const std::filesystem::path& path);

// For each entry of `dir` whose name parse_temp_name() accepts, whose head
// `accept_head` accepts and whose owner is dead: remove_dead_entry(). Returns
// the number of entries removed. A missing `dir` is no error.
std::size_t sweep_dead_owners(const std::filesystem::path& dir,
                              const std::function<bool(std::string_view head)>& accept_head, bool legacy = true);

// Outside the store root: the temp file of a `save` (or tar export) beside its
// destination, "<dir>/.<name>.tmp-<pid>-<start>-XXXXXX". save_temp_template()
// makes the mkstemp template; sweep_dead_save_temps(dir) unlinks such regular
// files of dead owners in `dir` (the next save to the same directory runs it).
std::string save_temp_template(const std::filesystem::path& out);
std::size_t sweep_dead_save_temps(const std::filesystem::path& dir);

}  // namespace mkimage::store
