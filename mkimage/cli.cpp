#include "mkimage/cli.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "store/store.hpp"
#include "util/debug.hpp"

namespace mkimage::cli {

std::unique_ptr<store::Store> open_store(const GlobalOptions& global) {
  return must(store::Store::open_default(global.root));
}

const std::vector<CommandGroup>& command_groups() {
  static const std::vector<CommandGroup> groups = {
      {register_build_command, {"build"}},
      {register_image_commands, {"image", "images", "inspect", "tag", "rmi", "history", "store"}},
      {register_run_commands,
       {"run", "exec", "__monitor", "ps", "logs", "attach", "kill", "stop", "start", "rm", "cp"}},
      {register_archive_commands, {"save", "load", "import"}},
      {register_registry_commands, {"pull", "push", "login", "logout"}},
      {register_cache_commands, {"cache"}},
      {register_system_commands, {"system"}},
      {register_builds_commands, {"builds"}},
      {register_debug_commands, {"debug"}},
  };
  return groups;
}

std::string_view command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return {};
    if (a == "--root") {
      ++i;  // its value
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;  // --root=X, --debug, --version, -h, a mistake CLI11 reports
    return a;
  }
  return {};
}

int run_cli(int argc, char** argv) {
  GlobalOptions global;
  if (const char* r = std::getenv("MKIMAGE_ROOT")) global.root = r;

  CLI::App app{"mkimage: a daemonless Dockerfile build engine", "mkimage"};
  app.require_subcommand(1);
  app.fallthrough();

  app.set_version_flag("--version", "mkimage 0.1.0");
  app.add_option("--root", global.root, "Store root directory (env MKIMAGE_ROOT)");
  app.add_flag("--debug", global.debug, "Print internal detail on errors");
  // Before any command runs: errors built from here on may carry internal detail.
  app.parse_complete_callback([&global] { util::set_debug(global.debug); });

  const CommandGroup* only = nullptr;
  std::string_view word = command_word(argc, argv);
  for (const auto& g : command_groups())
    for (std::string_view n : g.names)
      if (n == word) only = &g;
  for (const auto& g : command_groups())
    if (!only || only == &g) g.register_commands(app, global);

  try {
    app.parse(argc, argv);
    return k_exit_ok;
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : k_exit_usage;
  } catch (const CliExit& e) {
    if (!e.message.empty()) {
      std::cerr << e.message;
      if (e.message.back() != '\n') std::cerr << '\n';
    }
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "mkimage: internal error: " << e.what() << '\n';
    return k_exit_internal;
  } catch (...) {
    std::cerr << "mkimage: internal error: unknown exception\n";
    return k_exit_internal;
  }
}

}  // namespace mkimage::cli
