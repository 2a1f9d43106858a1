#include <doctest/doctest.h>

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "../skip.hpp"
#include "store/blob_store.hpp"
#include "store/owner.hpp"
#include "temp_dir.hpp"

using namespace mkimage;
using namespace mkimage::store;
namespace fs = std::filesystem;

namespace {
// A process that has exited: its pid is free (reaped).
pid_t dead_pid() {
  pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(dead, &status, 0) == dead);
  return dead;
}
std::string self_start() { return std::to_string(process_start_time(::getpid()).value()); }
}  // namespace

TEST_CASE("process_start_time and owner_tag name this process") {
  auto mine = process_start_time(::getpid());
  REQUIRE(mine);
  CHECK(*mine > 0);
  CHECK(process_start_time(1));  // init runs
  CHECK_FALSE(process_start_time(dead_pid()));
  CHECK(owner_tag() == std::to_string(::getpid()) + "-" + std::to_string(*mine));
}

TEST_CASE("parse_temp_name reads <head>-<pid>-<start>-XXXXXX and the older <head>-<pid>-XXXXXX") {
  auto o = parse_temp_name("build-4711-99213-a8Zk2q");
  REQUIRE(o);
  CHECK(o->head == "build");
  CHECK(o->pid == 4711);
  CHECK(o->start == 99213u);
  o = parse_temp_name("load-stdin-12-123456");  // older: the suffix may be digits
  REQUIRE(o);
  CHECK(o->head == "load-stdin");
  CHECK(o->pid == 12);
  CHECK_FALSE(o->start);
  CHECK_FALSE(parse_temp_name("load-stdin-12-123456", false));
  o = parse_temp_name(".tmp-0123456789abcdef-5-6-zzzzzz", false);
  REQUIRE(o);
  CHECK(o->head == ".tmp-0123456789abcdef");
  CHECK(o->pid == 5);
  CHECK(o->start == 6u);
  CHECK_FALSE(parse_temp_name("active"));
  CHECK_FALSE(parse_temp_name("-12-34-abcdef", false));  // no head
  CHECK_FALSE(parse_temp_name("blob-x1-abcdef"));
  CHECK_FALSE(parse_temp_name("blob-0-1-abcdef"));
  CHECK_FALSE(parse_temp_name("container-abc.start-error"));
}

TEST_CASE("owner_is_dead: an exited pid, or the same pid started at another time (reused)") {
  TempOwner o;
  o.pid = ::getpid();
  o.start = process_start_time(::getpid());
  CHECK_FALSE(owner_is_dead(o));
  o.start = *o.start + 1;  // a process that had this pid before
  CHECK(owner_is_dead(o));
  o.start.reset();
  CHECK_FALSE(owner_is_dead(o));
  o.pid = dead_pid();
  CHECK(owner_is_dead(o));
  o.start = 12345;
  CHECK(owner_is_dead(o));
}

TEST_CASE("sweep_stale_tmp removes dead owners' entries in tmp, tmp/active and snapshots staging, nothing live") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  const fs::path t = root->tmp_dir();
  const std::string dead = std::to_string(dead_pid());
  const std::string self = std::to_string(::getpid());
  const std::string reused = self + "-" + std::to_string(std::stoull(self_start()) + 7);  // our pid, older process
  fs::create_directories(t / ("build-" + dead + "-5-AbC123") / "ro-x");
  std::ofstream(t / ("blob-" + reused + "-x1Y2z3")) << "partial";
  fs::create_directories(t / "active" / ("snap-" + dead + "-9-qqqqqq") / "upper" / "etc");
  fs::create_directories(t / "active" / ("probe-" + reused + "-rrrrrr"));
  fs::create_directories(root->snapshots_dir() / (".tmp-0123456789abcdef-" + dead + "-3-sssss1") / "usr");
  fs::create_directories(root->snapshots_dir() / (".trash-" + dead + "-3-sssss2"));
  // Live: this process's (new and older form), pid 1's, and other names.
  auto live = make_temp_dir(*root, "import");
  REQUIRE(live.ok());
  fs::create_directories(t / "active" / ("snap-" + owner_tag() + "-livexx"));
  fs::create_directories(t / "active" / ("snap-1-" + std::to_string(process_start_time(1).value()) + "-initxx"));
  fs::create_directories(t / "active" / "0123456789abcdef");  // a snapshot of an older version: unknown owner
  fs::create_directories(root->snapshots_dir() / (".tmp-0123456789abcdef-" + owner_tag() + "-livexx"));
  std::ofstream(t / "notes.txt") << "not ours";

  blobs.sweep_stale_tmp();
  CHECK_FALSE(fs::exists(t / ("build-" + dead + "-5-AbC123")));
  CHECK_FALSE(fs::exists(t / ("blob-" + reused + "-x1Y2z3")));
  CHECK_FALSE(fs::exists(t / "active" / ("snap-" + dead + "-9-qqqqqq")));
  CHECK_FALSE(fs::exists(t / "active" / ("probe-" + reused + "-rrrrrr")));
  CHECK_FALSE(fs::exists(root->snapshots_dir() / (".tmp-0123456789abcdef-" + dead + "-3-sssss1")));
  CHECK_FALSE(fs::exists(root->snapshots_dir() / (".trash-" + dead + "-3-sssss2")));
  CHECK(fs::is_directory(*live));
  CHECK(fs::is_directory(t / "active" / ("snap-" + owner_tag() + "-livexx")));
  CHECK(fs::is_directory(t / "active" / ("snap-1-" + std::to_string(process_start_time(1).value()) + "-initxx")));
  CHECK(fs::is_directory(t / "active" / "0123456789abcdef"));
  CHECK(fs::is_directory(root->snapshots_dir() / (".tmp-0123456789abcdef-" + owner_tag() + "-livexx")));
  CHECK(fs::exists(t / "notes.txt"));
  TempPath guard(*live);
}

TEST_CASE("save temp files beside the destination: a dead owner's are unlinked, nothing else") {
  test::TempDir tmp;
  const fs::path d = tmp.path();
  const std::string dead = std::to_string(dead_pid());
  std::string tmpl = save_temp_template(d / "img.tar");
  CHECK(fs::path(tmpl).filename().string() == ".img.tar.tmp-" + owner_tag() + "-XXXXXX");
  std::ofstream(d / (".img.tar.tmp-" + dead + "-4-abcdef")) << "half";
  std::ofstream(d / (".other.tar.tmp-" + dead + "-4-abcdeg")) << "half";
  fs::create_directories(d / (".dir.tmp-" + dead + "-4-abcdeh"));     // not a file: left
  std::ofstream(d / (".img.tar.tmp-" + owner_tag() + "-livexx")) << "a save running now";
  std::ofstream(d / ("img.tar.tmp-" + dead + "-4-abcdei")) << "not hidden: not ours";
  std::ofstream(d / ".img.tar.tmp-abcdef") << "older form: no owner";
  CHECK(sweep_dead_save_temps(d) == 2);
  CHECK_FALSE(fs::exists(d / (".img.tar.tmp-" + dead + "-4-abcdef")));
  CHECK_FALSE(fs::exists(d / (".other.tar.tmp-" + dead + "-4-abcdeg")));
  CHECK(fs::exists(d / (".dir.tmp-" + dead + "-4-abcdeh")));
  CHECK(fs::exists(d / (".img.tar.tmp-" + owner_tag() + "-livexx")));
  CHECK(fs::exists(d / ("img.tar.tmp-" + dead + "-4-abcdei")));
  CHECK(fs::exists(d / ".img.tar.tmp-abcdef"));
}

PRIVILEGED_TEST_CASE("a dead owner's entry is unmounted first, nested mounts first; a live one's is untouched") {
  SKIP_IF_MISSING(::geteuid() == 0 ? "" : "needs root (mount)");
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  const fs::path t = root->tmp_dir();
  const std::string dead = std::to_string(dead_pid());
  fs::path src = tmp.path() / "src";
  fs::create_directories(src / "inner");
  std::ofstream(src / "keep") << "not the sweep's";
  fs::path entry = t / ("build-" + dead + "-5-mnt123");
  fs::path ro = entry / "ro-x";
  fs::create_directories(ro);
  REQUIRE(::mount(src.c_str(), ro.c_str(), nullptr, MS_BIND, nullptr) == 0);
  REQUIRE(::mount("tmpfs", (ro / "inner").c_str(), "tmpfs", 0, nullptr) == 0);  // nested
  std::ofstream(ro / "inner" / "f") << "x";
  fs::path live = t / ("build-" + owner_tag() + "-mnt456");
  fs::create_directories(live / "m");
  REQUIRE(::mount("tmpfs", (live / "m").c_str(), "tmpfs", 0, nullptr) == 0);
  CHECK(mounts_under(entry).size() == 2);

  BlobStore(*root).sweep_stale_tmp();
  CHECK(mounts_under(entry).empty());
  CHECK_FALSE(fs::exists(entry));
  CHECK(fs::exists(src / "keep"));  // the bind mount's source was not emptied through it
  CHECK(mounts_under(live).size() == 1);
  CHECK(unmount_all_under(live));
  CHECK(mounts_under(live).empty());
}
