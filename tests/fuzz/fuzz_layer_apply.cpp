// Fuzz target: applying an untrusted layer tar (store/layer_apply.hpp) — the
// checks of every entry (names, "..", absolute paths, links, whiteouts,
// devices, xattrs, owners) and the extraction, in flat mode onto a small
// existing tree and in snapshot mode into a fresh directory. Everything happens
// below a private scratch directory made once per process (mkdtemp under
// $TMPDIR or /tmp) and emptied after every input. The target directory sits
// three levels below the scratch root; anything that appears beside it (an
// entry that escaped the target) aborts, so an escape is reported as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/layer_apply.hpp"

namespace fs = std::filesystem;
using namespace mkimage::store;

namespace {

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
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

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

// Makes every directory below `dir` writable and searchable again (a layer may
// set mode 000 on a directory), so remove_all can empty it.
void make_removable(const fs::path& dir) {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
}

void reset(const Scratch& s) {
  std::error_code ec;
  make_removable(s.root);
  fs::remove_all(s.root / "a", ec);
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
