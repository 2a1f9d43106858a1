// Fuzz target: applying an untrusted layer tar (store/layer_apply.hpp) — the
// checks of every entry (names, "..", absolute paths, links, whiteouts,
// devices, xattrs, owners) and the extraction, in flat mode onto a small
// existing tree and in snapshot mode into a fresh directory. Everything happens
// below a private scratch directory made once per process (mkdtemp under
// $TMPDIR or /tmp) and emptied after every input. The target directory sits
// three levels below the scratch root; anything that appears beside it (an
// entry that escaped the target) aborts, so an escape is reported as a crash.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/layer_apply.hpp"

namespace fs = std::filesystem;
using namespace mkimage::store;

namespace {

void remove_tree_at(int dirfd, const char* name);

struct Scratch {
  fs::path root;   // <tmp>/mkimage-fuzz-layer-XXXXXX
  fs::path depth;  // root/a/b: holds only "layer.tar", "flat" and "snap"
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mkimage-fuzz-layer-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    root = tmpl;
    depth = root / "a" / "b";
  }
  ~Scratch();
};

Scratch::~Scratch() {
  int parent = ::open(root.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) return;
  remove_tree_at(parent, root.filename().c_str());
  ::close(parent);
}

Scratch& scratch() {
  static Scratch s;
  return s;
}

// Aborts when anything but the expected names is beside the targets, at any
// level up to the scratch root.
void check_nothing_escaped(const Scratch& s) {
  auto only = [](const fs::path& dir, std::initializer_list<const char*> allowed) {
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      bool ok = false;
      for (const char* a : allowed) ok = ok || name == a;
      if (!ok) {
        std::fprintf(stderr, "layer apply wrote outside its target: %s\n", e.path().c_str());
        std::abort();
      }
    }
  };
  only(s.depth, {"layer.tar", "flat", "snap"});
  only(s.depth.parent_path(), {"b"});
  only(s.root, {"a"});
}

// Removes `name` below the directory `dirfd` and everything in it, by file
// descriptors: a layer may make a tree deeper than PATH_MAX or directories of
// mode 000, which path-based removal (std::filesystem::remove_all) cannot undo.
void remove_tree_at(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    ::unlinkat(dirfd, name, 0);
    return;
  }
  ::fchmod(fd, 0700);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  for (const auto& n : names) remove_tree_at(::dirfd(d), n.c_str());
  ::closedir(d);
  ::unlinkat(dirfd, name, AT_REMOVEDIR);
}

void reset(const Scratch& s) {
  std::error_code ec;
  int root = ::open(s.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    std::perror("open scratch");
    std::abort();
  }
  remove_tree_at(root, "a");
  ::close(root);
  fs::create_directories(s.depth / "flat" / "etc", ec);
  std::ofstream(s.depth / "flat" / "etc" / "passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  fs::create_directories(s.depth / "flat" / "usr" / "lib", ec);
  fs::create_symlink("usr/lib", s.depth / "flat" / "lib", ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Scratch& s = scratch();
  reset(s);
  fs::path layer = s.depth / "layer.tar";
  {
    std::ofstream out(layer, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ApplyOptions options;
  options.allow_devices = false;
  (void)check_layer(layer, options);
  (void)apply_layer(layer, s.depth / "flat", ApplyMode::flat, options);
  check_nothing_escaped(s);
  (void)apply_layer(layer, s.depth / "snap", ApplyMode::snapshot, ApplyOptions{});
  check_nothing_escaped(s);
  reset(s);
  return 0;
}
