// run_cli registers only the group of the command it is given
// (mkimage/cli.hpp command_groups): each group's table of names must be what
// its register function adds, or a command would be reported unknown.
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "mkimage/cli.hpp"

using namespace mkimage::cli;

namespace {

std::set<std::string> registered_names(const CommandGroup& g) {
  CLI::App app{"test", "mkimage"};
  GlobalOptions global;
  g.register_commands(app, global);
  std::set<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    names.insert(sub->get_name());
    for (const auto& a : sub->get_aliases()) names.insert(a);
  }
  return names;
}

std::string_view word_of(std::vector<std::string> args) {
  static std::vector<std::string> keep;
  keep = std::move(args);
  static std::vector<char*> argv;
  argv.clear();
  for (auto& a : keep) argv.push_back(a.data());
  return command_word(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("each command group's names are the top-level commands it registers") {
  std::set<std::string> all;
  for (const auto& g : command_groups()) {
    std::set<std::string> table(g.names.begin(), g.names.end());
    CHECK(registered_names(g) == table);
    for (const auto& n : table) {
      CHECK_MESSAGE(all.insert(n).second, "command listed twice: " << n);
    }
  }
  CHECK(all.count("build") == 1);
  CHECK(all.size() > 20);
}

TEST_CASE("the command word skips the global options and their values") {
  CHECK(word_of({"mkimage", "build", "-t", "x", "."}) == "build");
  CHECK(word_of({"mkimage", "--root", "build", "images"}) == "images");
  CHECK(word_of({"mkimage", "--root=/r", "--debug", "cache", "ls"}) == "cache");
  CHECK(word_of({"mkimage", "--version"}).empty());
  CHECK(word_of({"mkimage"}).empty());
  CHECK(word_of({"mkimage", "--", "build"}).empty());
}
