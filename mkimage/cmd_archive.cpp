#include "mkimage/cli.hpp"

#include <CLI/CLI.hpp>

namespace mkimage::cli {

void register_archive_commands(CLI::App& app, GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace mkimage::cli
