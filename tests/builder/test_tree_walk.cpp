// builder/tree_walk: the walk of a COPY source directory, read on several
// threads, gives the one-thread walk's entries in its order.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "builder/tree_walk.hpp"
#include "builder_test_util.hpp"

using namespace mkimage;
using namespace mkimage::builder;
using mkimage::testing::TempDir;
using mkimage::testing::write_file;
namespace fs = std::filesystem;

namespace {

// A tree wide enough that helpers take directories: 24 directories of 3
// files, 4 of them with a subdirectory, and a symlink.
void make_tree(const fs::path& root) {
  for (int i = 0; i < 24; ++i) {
    char d[8];
    std::snprintf(d, sizeof d, "d%02d", i);
    write_file(root / d / "a.txt", "a");
    write_file(root / d / "b.py", "b");
    write_file(root / d / "keep1", "k");
    if (i % 6 == 0) write_file(root / d / "sub" / "c.py", "c");
  }
  fs::create_symlink("../d00/a.txt", root / "d03" / "link");
}

std::vector<std::string> rels(const std::deque<WalkEntry>& w) {
  std::vector<std::string> out;
  for (const auto& e : w) out.push_back(e.rel);
  return out;
}

}  // namespace

TEST_CASE("walk_tree: pre-order, names sorted per directory, every entry lstat'ed, symlinks read") {
  TempDir t;
  make_tree(t.path());
  // The reference: one directory at a time, depth first.
  std::vector<std::string> want;
  std::function<void(const fs::path&, const std::string&)> ref = [&](const fs::path& dir, const std::string& rel) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      want.push_back(r);
      if (fs::is_directory(fs::symlink_status(dir / n))) ref(dir / n, r);
    }
  };
  ref(t.path(), "");
  NoFilter none;
  WalkFilter f;
  f.ctx = &none;
  for (int round = 0; round < 5; ++round) {
    std::deque<WalkEntry> out;
    REQUIRE(walk_tree(t.path().string(), f, out).ok());
    REQUIRE(rels(out) == want);
    for (const auto& e : out) {
      struct stat st;
      REQUIRE(lstat((t.path() / e.rel).c_str(), &st) == 0);
      CHECK(e.st.st_ino == st.st_ino);
      CHECK(e.st.st_mode == st.st_mode);
      if (e.rel == "d03/link") CHECK(e.link_target == "../d00/a.txt");
      else CHECK(e.link_target.empty());
    }
  }
}

TEST_CASE("walk_tree: .dockerignore exceptions re-include below excluded directories, emitted lazily") {
  TempDir t;
  make_tree(t.path());
  auto filter = make_dockerignore_filter({"*", "!**/*.py", "!d07/keep*", "d12"});
  REQUIRE(filter.ok());
  WalkFilter f;
  f.ctx = filter->get();
  std::vector<std::string> want;
  for (int i = 0; i < 24; ++i) {
    char d[8];
    std::snprintf(d, sizeof d, "d%02d", i);
    std::string s = d;
    if (i == 12) continue;  // "d12" after the exceptions: excluded, nothing below re-included
    want.push_back(s);
    want.push_back(s + "/b.py");
    if (i == 7) want.push_back(s + "/keep1");
    if (i % 6 == 0) {
      want.push_back(s + "/sub");
      want.push_back(s + "/sub/c.py");
    }
  }
  for (int round = 0; round < 5; ++round) {
    std::deque<WalkEntry> out;
    REQUIRE(walk_tree(t.path().string(), f, out).ok());
    CHECK(rels(out) == want);
  }
}

TEST_CASE("walk_tree: a directory that cannot be opened is the walk's error, naming its path") {
  TempDir t;
  write_file(t.path() / "a" / "x", "x");
  std::deque<WalkEntry> out;
  WalkFilter f;
  auto r = walk_tree((t.path() / "missing").string(), f, out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("opendir \"" + (t.path() / "missing").string() + "\"") != std::string::npos);
  CHECK(out.empty());
}
