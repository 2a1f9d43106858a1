// The mkimage command line. main() calls run_cli(); tests may call it too.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace CLI {
class App;
}

namespace mkimage::store {
class Store;
}

namespace mkimage::cli {

// Options shared by every command.
struct GlobalOptions {
  std::string root;  // --root / MKIMAGE_ROOT; "" = default (see store root rules)
  bool debug = false;
};

// Thrown by a command to stop with an exit status. `message` (may be empty) is
// printed to stderr as is: it is already formatted (e.g. a Dockerfile diagnostic).
struct CliExit {
  int code = 1;
  std::string message;
};

// Documented exit statuses (docs/mkimage.md).
constexpr int k_exit_ok = 0;
constexpr int k_exit_failure = 1;   // build failed, bad Dockerfile, missing image, I/O error
constexpr int k_exit_usage = 2;     // bad flags or arguments
constexpr int k_exit_internal = 3;  // a bug: an unexpected exception

// The value of `r`, or throws CliExit{k_exit_failure, "mkimage: <error message>"}.
template <typename T>
T must(util::Result<T> r) {
  if (!r.ok()) throw CliExit{k_exit_failure, "mkimage: " + r.error().message};
  return std::move(r).value();
}
inline void must(util::Result<void> r) {
  if (!r.ok()) throw CliExit{k_exit_failure, "mkimage: " + r.error().message};
}

// Opens (creating if needed) the store root chosen by --root, $MKIMAGE_ROOT or
// the default (store/root.hpp default_root). Throws CliExit (k_exit_failure)
// naming the problem.
std::unique_ptr<store::Store> open_store(const GlobalOptions& global);

// Runs the CLI; returns the process exit status. Never throws.
int run_cli(int argc, char** argv);

// The command groups, each with the top-level names (and aliases) its register
// function adds, in --help order. run_cli registers only the group of the
// command named on the command line (building every command's options costs
// more than parsing them: ~0.3 ms per process), all of them for --help, a bare
// `mkimage` or an unknown name (tests/cli/test_cli.cpp checks the names).
struct CommandGroup {
  void (*register_commands)(CLI::App& app, GlobalOptions& global);
  std::vector<std::string_view> names;
};
const std::vector<CommandGroup>& command_groups();
// The command word of `argv`: the first argument that is not a global option
// (--root VALUE, --root=VALUE, --debug, ...); "" when there is none.
std::string_view command_word(int argc, char** argv);

// Each command group registers its subcommands (one file per group).
void register_debug_commands(CLI::App& app, GlobalOptions& global);  // cmd_debug.cpp
void register_image_commands(CLI::App& app, GlobalOptions& global);  // cmd_images.cpp
void register_build_command(CLI::App& app, GlobalOptions& global);   // cmd_build.cpp
void register_run_commands(CLI::App& app, GlobalOptions& global);    // cmd_run.cpp
void register_archive_commands(CLI::App& app, GlobalOptions& global);  // cmd_archive.cpp: save, load, import
void register_registry_commands(CLI::App& app, GlobalOptions& global);  // cmd_registry.cpp: pull, push, login, logout
void register_cache_commands(CLI::App& app, GlobalOptions& global);   // cmd_cache.cpp: cache ls, du, prune
void register_system_commands(CLI::App& app, GlobalOptions& global);  // cmd_system.cpp: system df
void register_builds_commands(CLI::App& app, GlobalOptions& global);  // cmd_builds.cpp: the build history

}  // namespace mkimage::cli
