// COPY semantics over temp dirs: sources, wildcards, destinations, symlinks,
// ownership, modes (testdata/handed/cases/07-copy-multi-src-dest, 09-copy-symlinks).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <unistd.h>

#include "../skip.hpp"
#include "copy_fixture.hpp"

using namespace mkimage;
using namespace mkimage::testing;
namespace fs = std::filesystem;

PRIVILEGED_TEST_CASE("COPY: several sources need a directory destination ending in / (case 07)") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "one.txt", "one\n");
  write_file(f.ctx / "two.txt", "two\n");
  write_file(f.ctx / "other.dat", "other\n");

  auto err = f.run(copy_op({"*.txt"}, "/bundle.txt"));
  CHECK(err.find("destination must be a directory and end with a /") != std::string::npos);
  err = f.run(copy_op({"one.txt", "two.txt"}, "/bundle"));
  CHECK(err.find("more than one source file") != std::string::npos);
  CHECK(f.tree().empty());  // nothing written on failure

  CHECK(f.run(copy_op({"one.txt"}, "/single")) == "");
  CHECK(f.run(copy_op({"one.txt"}, "/dir-a/")) == "");
  CHECK(f.run(copy_op({"one.txt", "two.txt"}, "/dir-b/")) == "");
  CHECK(f.run(copy_op({"o*.dat"}, "/dir-c/renamed.dat")) == "");  // one match: a file name
  CHECK(f.run(copy_op({"*.txt"}, "/dir-d/")) == "");
  CHECK(f.tree() ==
        "d /dir-a\nd /dir-b\nd /dir-c\nd /dir-d\n"
        "f /dir-a/one.txt\nf /dir-b/one.txt\nf /dir-b/two.txt\nf /dir-c/renamed.dat\n"
        "f /dir-d/one.txt\nf /dir-d/two.txt\nf /single\n");
  CHECK(read_file(f.rootfs / "single") == "one\n");
  CHECK(read_file(f.rootfs / "dir-c/renamed.dat") == "other\n");
  CHECK(read_file(f.rootfs / "dir-d/two.txt") == "two\n");
  CHECK(meta(f.rootfs / "dir-b/two.txt") == "0:0 644");
  CHECK(meta(f.rootfs / "dir-a") == "0:0 755");
}

PRIVILEGED_TEST_CASE("COPY: several matching directories merge into a destination without /, as BuildKit") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "dir1/a.txt", "a");
  write_file(f.ctx / "dir2/b.txt", "b");
  write_file(f.ctx / "f1.txt", "1");
  CHECK(f.run(copy_op({"dir*"}, "/merged")) == "");
  CHECK(f.tree() == "d /merged\nf /merged/a.txt\nf /merged/b.txt\n");
  // directories do not count; files still do (one file: fine, it lands inside)
  CHECK(f.run(copy_op({"dir*", "f1.txt"}, "/merged")) == "");
  CHECK(read_file(f.rootfs / "merged/f1.txt") == "1");
}

PRIVILEGED_TEST_CASE("COPY: a socket in the context becomes an empty regular file, as BuildKit") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (f.ctx / "socket.sock").string();
  REQUIRE(path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(fd);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  CHECK(f.run(copy_op({"."}, "/out/")) == "");
  CHECK(f.tree() == "d /out\nf /out/socket.sock\n");
  CHECK(read_file(f.rootfs / "out/socket.sock") == "");
  CHECK(meta(f.rootfs / "out/socket.sock") == "0:0 640");
}

PRIVILEGED_TEST_CASE("COPY: a wildcard matching nothing is allowed; a missing plain source is an error") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "a.txt", "a");
  CHECK(f.run(copy_op({"*.nomatch"}, "/out/")) == "");
  CHECK(f.tree().empty());
  auto err = f.run(copy_op({"missing.txt"}, "/out/"));
  CHECK(err == "\"/missing.txt\": not found");
  // A wildcard and a plain source: the wildcard may match nothing.
  CHECK(f.run(copy_op({"*.nomatch", "a.txt"}, "/x/")) == "");
  CHECK(read_file(f.rootfs / "x/a.txt") == "a");
}

PRIVILEGED_TEST_CASE("COPY: wildcards follow Go filepath.Match") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  for (auto n : {"a1.txt", "a2.txt", "b1.txt", "ab.md", "[x].txt"}) write_file(f.ctx / n, n);
  write_file(f.ctx / "sub/a3.txt", "a3");
  CHECK(f.run(copy_op({"a?.txt"}, "/q/")) == "");
  CHECK(f.run(copy_op({"[ab]1.txt"}, "/c/")) == "");
  CHECK(f.run(copy_op({"[^a]*"}, "/n/")) == "");
  CHECK(f.run(copy_op({"*/a*.txt"}, "/s/")) == "");
  CHECK(f.run(copy_op({"\\[x\\]*"}, "/e/")) == "");
  CHECK(f.tree() ==
        "d /c\nd /e\nd /n\nd /q\nd /s\nf /c/a1.txt\nf /c/b1.txt\nf /e/[x].txt\nf /n/[x].txt\nf /n/a3.txt\nf /n/b1.txt\n"
        "f /q/a1.txt\nf /q/a2.txt\nf /s/a3.txt\n");
  CHECK(f.run(copy_op({"[z-a"}, "/bad/")).find("syntax error in pattern") != std::string::npos);
}

PRIVILEGED_TEST_CASE("COPY: a directory source copies its contents; the destination is relative to WORKDIR") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "src/x.txt", "x");
  write_file(f.ctx / "src/deep/y.txt", "y", 0600);
  ::chmod((f.ctx / "src/deep").c_str(), 0700);
  CHECK(f.run(copy_op({"src"}, "dst"), "/app") == "");
  CHECK(f.tree() == "d /app\nd /app/dst\nd /app/dst/deep\nf /app/dst/deep/y.txt\nf /app/dst/x.txt\n");
  CHECK(meta(f.rootfs / "app/dst/deep") == "0:0 700");
  CHECK(meta(f.rootfs / "app/dst/deep/y.txt") == "0:0 600");
  CHECK(meta(f.rootfs / "app") == "0:0 755");
  // "." is the WORKDIR itself: a directory.
  write_file(f.ctx / "z.txt", "z");
  CHECK(f.run(copy_op({"z.txt"}, "."), "/w") == "");
  CHECK(read_file(f.rootfs / "w/z.txt") == "z");
  // One file into an existing directory without "/": lands inside it.
  CHECK(f.run(copy_op({"z.txt"}, "/app")) == "");
  CHECK(read_file(f.rootfs / "app/z.txt") == "z");
}

PRIVILEGED_TEST_CASE("COPY: sources are clamped inside the context") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "in.txt", "in");
  write_file(f.tmp / "outside.txt", "secret");
  fs::create_symlink("../outside.txt", f.ctx / "escape");
  fs::create_symlink("/outside.txt", f.ctx / "abs-escape");
  CHECK(f.run(copy_op({"../in.txt"}, "/a/")) == "");
  CHECK(f.run(copy_op({"/in.txt"}, "/b/")) == "");
  CHECK(f.run(copy_op({"../outside.txt"}, "/c/")) == "\"/outside.txt\": not found");
  CHECK(f.run(copy_op({"escape"}, "/d/")) == "\"/escape\": not found");
  CHECK(f.run(copy_op({"abs-escape"}, "/d/")) == "\"/abs-escape\": not found");
  CHECK(read_file(f.rootfs / "a/in.txt") == "in");
  CHECK(read_file(f.rootfs / "b/in.txt") == "in");
}

PRIVILEGED_TEST_CASE("COPY: named symlinks are followed, links inside directories kept byte-exact (case 09)") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "real.txt", "real content\n");
  write_file(f.ctx / "linkdir/data.txt", "data\n");
  fs::create_symlink("real.txt", f.ctx / "link-to-real");
  fs::create_symlink("data.txt", f.ctx / "linkdir/rel-link");
  fs::create_symlink("../real.txt", f.ctx / "linkdir/up-link");
  fs::create_symlink("/nowhere/abs", f.ctx / "linkdir/abs-link");

  // Stage "src": COPY linkdir/ /s/ into its own rootfs.
  CopyFixture stage;
  write_file(stage.ctx / "x", "");
  fs::remove_all(stage.ctx);
  fs::create_directory_symlink(f.ctx, stage.ctx);  // same context
  REQUIRE(stage.run(copy_op({"linkdir/"}, "/s/")) == "");

  CHECK(f.run(copy_op({"link-to-real"}, "/top/")) == "");
  CHECK(f.run(copy_op({"linkdir/"}, "/tree/")) == "");
  CHECK(f.run(copy_op({"/s/rel-link"}, "/fromstage/"), "/", &stage.rootfs) == "");
  CHECK(f.run(copy_op({"/s/"}, "/wholestage/"), "/", &stage.rootfs) == "");
  CHECK(f.tree() ==
        "d /fromstage\nd /top\nd /tree\nd /wholestage\n"
        "f /fromstage/rel-link\nf /top/link-to-real\nf /tree/data.txt\nf /wholestage/data.txt\n"
        "l /tree/abs-link -> /nowhere/abs\nl /tree/rel-link -> data.txt\nl /tree/up-link -> ../real.txt\n"
        "l /wholestage/abs-link -> /nowhere/abs\nl /wholestage/rel-link -> data.txt\n"
        "l /wholestage/up-link -> ../real.txt\n");
  CHECK(read_file(f.rootfs / "top/link-to-real") == "real content\n");
  CHECK(read_file(f.rootfs / "fromstage/rel-link") == "data\n");
}

PRIVILEGED_TEST_CASE("COPY: destinations resolve inside the rootfs") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "a.txt", "a");
  fs::create_directories(f.rootfs / "real");
  fs::create_symlink("/real", f.rootfs / "link");
  fs::create_symlink("../../../../..", f.rootfs / "up");
  CHECK(f.run(copy_op({"a.txt"}, "/link/")) == "");
  CHECK(read_file(f.rootfs / "real/a.txt") == "a");
  CHECK(f.run(copy_op({"a.txt"}, "/up/escaped/")) == "");
  CHECK(read_file(f.rootfs / "escaped/a.txt") == "a");
  CHECK_FALSE(fs::exists(f.tmp.path().parent_path() / "escaped"));
}

PRIVILEGED_TEST_CASE("COPY: ownership and modes") {
  SKIP_IF_MISSING(geteuid() == 0 ? "" : "needs root (chown)");
  CopyFixture f;
  write_file(f.ctx / "f.txt", "f", 0640);
  write_file(f.ctx / "d/g.sh", "g", 0700);
  ::chown((f.ctx / "f.txt").c_str(), 123, 456);
  write_file(f.rootfs / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
  write_file(f.rootfs / "etc/group", "root:x:0:\nstaff:x:50:app\napp:x:1001:\n");

  // Context files become 0:0 without --chown; modes are kept.
  CHECK(f.run(copy_op({"f.txt"}, "/plain/")) == "");
  CHECK(meta(f.rootfs / "plain/f.txt") == "0:0 640");

  auto op = copy_op({"f.txt", "d"}, "/owned/");
  op.flags.chown = "app";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "owned") == "1000:1001 755");
  CHECK(meta(f.rootfs / "owned/f.txt") == "1000:1001 640");
  CHECK(meta(f.rootfs / "owned/g.sh") == "1000:1001 700");

  op = copy_op({"f.txt"}, "/n/x");
  op.flags.chown = "77:staff";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "n") == "77:50 755");
  CHECK(meta(f.rootfs / "n/x") == "77:50 640");

  op.flags.chown = "nobody";
  CHECK(f.run(op) == "unable to find user nobody");
  op.flags.chown = "app:nogroup";
  CHECK(f.run(op) == "unable to find group nogroup");

  op = copy_op({"f.txt", "d"}, "/m/");
  op.flags.chmod = "755";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "m/f.txt") == "0:0 755");
  CHECK(meta(f.rootfs / "m/g.sh") == "0:0 755");

  op = copy_op({"f.txt", "d"}, "/s/");
  op.flags.chmod = "a=rX";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "s/f.txt") == "0:0 444");
  CHECK(meta(f.rootfs / "s/g.sh") == "0:0 555");

  op.flags.chmod = "10000";
  CHECK(f.run(op).find("invalid chmod") != std::string::npos);

  // Directories created above a destination file get an octal --chmod's bits
  // (BuildKit); a symbolic one, or a destination directory ("dir/"), 0755.
  // Existing ones are untouched.
  op = copy_op({"f.txt"}, "/parent/f");
  op.flags.chmod = "777";
  CHECK(f.run(op) == "");
  op = copy_op({"f.txt"}, "/parent/sub/f");
  op.flags.chmod = "770";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "parent") == "0:0 777");
  CHECK(meta(f.rootfs / "parent/sub") == "0:0 770");
  op = copy_op({"f.txt"}, "/sym/dir/");
  op.flags.chmod = "u+x";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "sym/dir") == "0:0 755");
  op = copy_op({"f.txt"}, "/octal/dir/");
  op.flags.chmod = "640";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "octal/dir") == "0:0 755");

  // --from a rootfs keeps ownership.
  CopyFixture stage;
  write_file(stage.rootfs / "out/r.txt", "r", 0600);
  ::chown((stage.rootfs / "out/r.txt").c_str(), 5, 6);
  CHECK(f.run(copy_op({"/out/r.txt"}, "/from/"), "/", &stage.rootfs) == "");
  CHECK(meta(f.rootfs / "from/r.txt") == "5:6 600");
}

PRIVILEGED_TEST_CASE("COPY: mtimes are kept, hard links stay hard links") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "d/a", "a");
  fs::create_hard_link(f.ctx / "d/a", f.ctx / "d/b");
  struct timespec ts[2] = {{1000000, 0}, {1234567, 5}};
  utimensat(AT_FDCWD, (f.ctx / "d/a").c_str(), ts, 0);
  utimensat(AT_FDCWD, (f.ctx / "d").c_str(), ts, 0);
  CHECK(f.run(copy_op({"d"}, "/x")) == "");
  CHECK(lstat_of(f.rootfs / "x/a").st_mtim.tv_sec == 1234567);
  CHECK(lstat_of(f.rootfs / "x").st_mtim.tv_sec == 1234567);  // created from the source dir
  CHECK(lstat_of(f.rootfs / "x/a").st_ino == lstat_of(f.rootfs / "x/b").st_ino);
}

PRIVILEGED_TEST_CASE("COPY: a file's xattrs, mode, owner and times, in fresh and existing directories") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "d/e/a", "a");  // e exists in the rootfs already
  write_file(f.ctx / "d/n/a", "n");  // n is made by the copy
  write_file(f.ctx / "d/b", "");
  struct timespec ts[2] = {{1000000, 0}, {1234567, 5}};
  for (const char* p : {"d/e/a", "d/n/a"}) {
    fs::path src = f.ctx / p;
    if (::setxattr(src.c_str(), "user.mk", "v1", 2, 0) != 0) {
      SKIP_IF_MISSING("user xattrs not supported under the temp directory");
    }
    REQUIRE(::setxattr(src.c_str(), "trusted.mk", "v2", 2, 0) == 0);
    REQUIRE(::chmod(src.c_str(), 0751) == 0);
    REQUIRE(::lchown(src.c_str(), 1234, 1234) == 0);  // a context file lands as 0:0
    REQUIRE(utimensat(AT_FDCWD, src.c_str(), ts, 0) == 0);
  }
  fs::create_directories(f.rootfs / "x/e");
  write_file(f.rootfs / "x/e/a", "old content, longer");  // replaced
  CHECK(f.run(copy_op({"d"}, "/x")) == "");
  for (const char* p : {"x/e/a", "x/n/a"}) {
    CAPTURE(p);
    fs::path t = f.rootfs / p;
    CHECK(read_file(t) == (std::string(p) == "x/e/a" ? "a" : "n"));
    auto st = lstat_of(t);
    CHECK((st.st_mode & 07777) == 0751);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
    CHECK(st.st_mtim.tv_sec == 1234567);
    char v[8] = {};
    CHECK(::lgetxattr(t.c_str(), "user.mk", v, sizeof v) == 2);
    CHECK(std::string(v, 2) == "v1");
    CHECK(::lgetxattr(t.c_str(), "trusted.mk", v, sizeof v) == 2);
    CHECK(std::string(v, 2) == "v2");
  }
  CHECK(read_file(f.rootfs / "x/b") == "");
}

PRIVILEGED_TEST_CASE("COPY --parents keeps parent directories, with /./ and **") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "x/y/f.go", "f");
  write_file(f.ctx / "x/y/g.txt", "g");
  write_file(f.ctx / "x/z/deep/h.go", "h");
  write_file(f.ctx / "top.go", "t");
  auto op = copy_op({"x/y/f.go"}, "/p1/");
  op.flags.parents = true;
  CHECK(f.run(op) == "");
  op = copy_op({"x/./y/f.go"}, "/p2/");
  op.flags.parents = true;
  CHECK(f.run(op) == "");
  op = copy_op({"x/**/*.go"}, "/p3/");
  op.flags.parents = true;
  CHECK(f.run(op) == "");
  op = copy_op({"x/y"}, "/p4/");
  op.flags.parents = true;
  CHECK(f.run(op) == "");
  op = copy_op({"x/missing"}, "/p5/");
  op.flags.parents = true;
  CHECK(f.run(op) == "\"/x/missing\": not found");
  CHECK(f.tree() ==
        "d /p1\nd /p1/x\nd /p1/x/y\nd /p2\nd /p2/y\nd /p3\nd /p3/x\nd /p3/x/y\nd /p3/x/z\nd /p3/x/z/deep\nd /p4\n"
        "d /p4/x\nd /p4/x/y\nf /p1/x/y/f.go\nf /p2/y/f.go\nf /p3/x/y/f.go\nf /p3/x/z/deep/h.go\nf /p4/x/y/f.go\n"
        "f /p4/x/y/g.txt\n");
}

PRIVILEGED_TEST_CASE("COPY --parents: wildcards before the /./ pivot select each matching directory") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "a/b/c/d/e/bay", "1");
  write_file(f.ctx / "a/b2/c/d/e/bar", "2");
  write_file(f.ctx / "a/b/c2/d/e/baz", "3");
  auto op = copy_op({"a/b*/./c/**/e"}, "/o/");
  op.flags.parents = true;
  CHECK(f.run(op) == "");
  CHECK(read_file(f.rootfs / "o/c/d/e/bay") == "1");
  CHECK(read_file(f.rootfs / "o/c/d/e/bar") == "2");
  CHECK_FALSE(std::filesystem::exists(f.rootfs / "o/c2"));
  op = copy_op({"nomatch*/./x"}, "/o2/");  // a wildcard matching nothing is allowed
  op.flags.parents = true;
  CHECK(f.run(op) == "");
}

PRIVILEGED_TEST_CASE("COPY --exclude skips matching entries under each source") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "app/a.txt", "a");
  write_file(f.ctx / "app/b.md", "b");
  write_file(f.ctx / "app/sub/c.txt", "c");
  write_file(f.ctx / "app/node_modules/m.js", "m");
  auto op = copy_op({"app"}, "/o/");
  op.flags.excludes = {"*.txt", "node_modules"};
  CHECK(f.run(op) == "");
  CHECK(f.tree() == "d /o\nd /o/sub\nf /o/b.md\nf /o/sub/c.txt\n");
  op = copy_op({"app"}, "/o2/");
  op.flags.excludes = {"**/*.txt"};
  CHECK(f.run(op) == "");
  CHECK(fs::exists(f.rootfs / "o2/b.md"));
  CHECK_FALSE(fs::exists(f.rootfs / "o2/sub/c.txt"));
  CHECK_FALSE(fs::exists(f.rootfs / "o2/a.txt"));
  // A file source matching an exclude is skipped.
  op = copy_op({"app/a.txt", "app/b.md"}, "/o3/");
  op.flags.excludes = {"*.txt"};
  CHECK(f.run(op) == "");
  CHECK(f.tree(f.rootfs / "o3") == "f /b.md\n");
}

PRIVILEGED_TEST_CASE("COPY heredoc sources become 0644 files named after the delimiter (case 03)") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  auto op = copy_op({}, "/expanded.txt");
  op.heredocs = {{"EOF", "say \"hi\"\n"}};
  CHECK(f.run(op) == "");
  CHECK(read_file(f.rootfs / "expanded.txt") == "say \"hi\"\n");
  CHECK(meta(f.rootfs / "expanded.txt") == "0:0 644");
  op = copy_op({}, "/run.sh");
  op.heredocs = {{"EOF", "#!/bin/sh\n"}};
  op.flags.chmod = "755";
  CHECK(f.run(op) == "");
  CHECK(meta(f.rootfs / "run.sh") == "0:0 755");
  op = copy_op({}, "/multi/");
  op.heredocs = {{"A", "first body\n"}, {"B", "second body\n"}};
  CHECK(f.run(op) == "");
  CHECK(read_file(f.rootfs / "multi/A") == "first body\n");
  CHECK(read_file(f.rootfs / "multi/B") == "second body\n");
  op = copy_op({}, "/bad");
  op.heredocs = {{"A", "a"}, {"B", "b"}};
  CHECK(f.run(op).find("more than one source") != std::string::npos);
}

PRIVILEGED_TEST_CASE("COPY: .dockerignore applies to context sources (case 11)") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  for (auto p : {"top.py", "top.txt", "sub/inner.py", "sub/notes.txt", "sub/deep/deeper.py", "data/file1",
                 "data/file2", "busybox"}) {
    write_file(f.ctx / p, p);
  }
  std::vector<std::string> lines = {"# comment", "*", "!**/*.py", "!data", "data/file1"};
  write_file(f.ctx / ".dockerignore", "");
  auto made = builder::make_dockerignore_filter(lines);
  REQUIRE(made.ok());
  f.filter = std::move(made.value());
  CHECK(f.run(copy_op({"."}, "/app/")) == "");
  CHECK(f.tree() ==
        "d /app\nd /app/data\nd /app/sub\nd /app/sub/deep\nf /app/data/file2\nf /app/sub/deep/deeper.py\n"
        "f /app/sub/inner.py\nf /app/top.py\n");
  // Ignored files are not there for COPY at all.
  CHECK(f.run(copy_op({"top.txt"}, "/x/")) == "\"/top.txt\": not found");
  CHECK(f.run(copy_op({"*.txt"}, "/w/")) == "");
  CHECK_FALSE(fs::exists(f.rootfs / "w"));
}

TEST_CASE("COPY rejects URLs and --checksum") {
  CopyFixture f;
  CHECK(f.run(copy_op({"https://example.com/x"}, "/")) == "source can't be a URL for COPY");
  auto op = copy_op({"a"}, "/");
  op.flags.checksum = "sha256:00";
  CHECK(f.run(op) == "COPY does not support --checksum");
}

PRIVILEGED_TEST_CASE("COPY overwrites files of lower layers and keeps existing directory metadata") {
  SKIP_IF_MISSING(mkimage_test::unless_root("chown: the copy sets owners"));
  CopyFixture f;
  write_file(f.ctx / "d/a", "new");
  write_file(f.rootfs / "t/a", "old");
  fs::create_symlink("/elsewhere", f.rootfs / "t/b");
  ::chmod((f.rootfs / "t").c_str(), 0700);
  write_file(f.ctx / "d/b", "b");
  CHECK(f.run(copy_op({"d"}, "/t")) == "");
  CHECK(read_file(f.rootfs / "t/a") == "new");
  CHECK(read_file(f.rootfs / "t/b") == "b");
  CHECK(meta(f.rootfs / "t") == "0:0 700");
  // File onto a directory inside a copied tree: an error naming the path.
  write_file(f.ctx / "e/t", "x");
  fs::create_directories(f.rootfs / "u/t");
  CHECK(f.run(copy_op({"e"}, "/u")).find("cannot replace directory \"/u/t\"") != std::string::npos);
}
