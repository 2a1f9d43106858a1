// Shared helpers of the runtime/snapshotter tests: a temp dir kept on
// failure, a busybox rootfs in overlay form, and the privilege check.
#pragma once

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../skip.hpp"
#include "builder/runtime.hpp"
#include "builder/snapshotter.hpp"

namespace exec_test {
namespace fs = std::filesystem;

// Why the runtime tests cannot run here ("" = they can).
inline std::string missing_privileges() {
  if (geteuid() != 0) return "needs root (overlay mounts, runc)";
  if (!fs::exists("/bin/busybox")) return "needs /bin/busybox (busybox-static)";
  if (std::system("runc --version >/dev/null 2>&1") != 0) return "needs runc";
  return "";
}

// The first statement of a PRIVILEGED_TEST_CASE that runs containers: the
// case is skipped (and its unit.<module>.privileged test reported as skipped,
// see tests/skip.hpp) when root, busybox or runc is missing.
#define EXEC_TEST_REQUIRE_PRIVILEGES() SKIP_IF_MISSING(exec_test::missing_privileges())

// A temp dir, removed at the end unless MKIMAGE_KEEP_TEST_DIRS is set.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mkimage-exec-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    m_path = p;
  }
  ~TempDir() {
    if (std::getenv("MKIMAGE_KEEP_TEST_DIRS")) {
      std::fprintf(stderr, "kept test dir %s\n", m_path.c_str());
      return;
    }
    mkimage::builder::remove_tree(m_path);
  }
  const fs::path& path() const { return m_path; }
  fs::path operator/(const std::string& s) const { return m_path / s; }

private:
  fs::path m_path;
};

inline void write_file(const fs::path& p, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  ::chmod(p.c_str(), mode);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A snapshot dir with /bin/busybox, a symlink per applet, /etc/passwd and
// /etc/group (root, and app 1000:1000 in group 27 "extra").
inline void make_busybox_lower(const fs::path& dir) {
  fs::create_directories(dir / "bin");
  fs::copy_file("/bin/busybox", dir / "bin/busybox");
  FILE* f = popen("/bin/busybox --list", "r");
  REQUIRE(f != nullptr);
  char line[256];
  while (fgets(line, sizeof line, f)) {
    std::string name(line);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    if (name.empty() || name == "busybox") continue;
    fs::create_symlink("busybox", dir / "bin" / name);
  }
  pclose(f);
  write_file(dir / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
  write_file(dir / "etc/group", "root:x:0:\nextra:x:27:app\napp:x:1000:\n");
  fs::create_directories(dir / "tmp");
  ::chmod((dir / "tmp").c_str(), 01777);
}

inline bool is_whiteout(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

inline bool lexists(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// True if `path` (or something below it) is a mount point now.
inline bool has_mount_under(const fs::path& path) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  std::string prefix = path.string();
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    std::string a, b, c, d, mountpoint;
    ss >> a >> b >> c >> d >> mountpoint;
    if (mountpoint.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Runs argv in `rootfs`, collecting stdout and stderr.
struct RunOutput {
  int code = -1;
  std::string out, err;
};

inline RunOutput run_in(const mkimage::builder::ContainerSpec& spec, const fs::path& bundle,
                        const mkimage::builder::Runtime& runtime = mkimage::builder::Runtime(
                            mkimage::builder::RuntimeOptions{"runc", "/run/mkimage-test/runc"})) {
  RunOutput r;
  mkimage::builder::RunIo io;
  io.on_output = [&](std::string_view chunk, bool is_stderr) { (is_stderr ? r.err : r.out).append(chunk); };
  auto code = runtime.run(spec, bundle, io);
  REQUIRE_MESSAGE(code.ok(), (code.ok() ? "" : code.error().message));
  r.code = *code;
  return r;
}

}  // namespace exec_test
