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

  register_build_command(app, global);
  register_image_commands(app, global);
  register_run_commands(app, global);
  register_archive_commands(app, global);
  register_registry_commands(app, global);
  register_cache_commands(app, global);
  register_system_commands(app, global);
  register_builds_commands(app, global);
  register_debug_commands(app, global);

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
