#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "builder/context.hpp"
#include "builder_test_util.hpp"

using namespace mkimage;
using namespace mkimage::builder;
using mkimage::testing::TempDir;
using mkimage::testing::read_file;
using mkimage::testing::write_file;
namespace fs = std::filesystem;

TEST_CASE("BuildContext: a directory with .dockerignore; <Dockerfile>.dockerignore wins") {
  TempDir t;
  fs::path ctx = t / "ctx";
  write_file(ctx / ".dockerignore", "*.log\n# comment\n!keep.log\n");
  write_file(ctx / "a.log", "");
  auto c = BuildContext::open_directory(ctx);
  REQUIRE(c.ok());
  CHECK(c->root() == ctx);
  CHECK(c->excluded("a.log"));
  CHECK_FALSE(c->excluded("sub/b.log"));  // "*.log" is anchored at the root
  CHECK_FALSE(c->excluded("keep.log"));
  CHECK_FALSE(c->excluded("x.txt"));

  write_file(t / "df/Dockerfile", "FROM scratch\n");
  write_file(t / "df/Dockerfile.dockerignore", "*.txt\n");
  c = BuildContext::open_directory(ctx, t / "df/Dockerfile");
  REQUIRE(c.ok());
  CHECK(c->excluded("x.txt"));
  CHECK_FALSE(c->excluded("a.log"));

  CHECK_FALSE(BuildContext::open_directory(t / "missing").ok());
}

TEST_CASE("BuildContext: excluded directories are walked when an exception may re-include below (case 11)") {
  auto f = make_dockerignore_filter({"*", "!**/*.py", "!data", "data/file1"});
  REQUIRE(f.ok());
  const PathFilter& p = **f;
  CHECK(p.excluded("sub"));
  CHECK(p.may_reinclude_below("sub"));
  CHECK_FALSE(p.excluded("sub/inner.py"));
  CHECK(p.excluded("sub/notes.txt"));
  CHECK_FALSE(p.excluded("data/file2"));
  CHECK(p.excluded("data/file1"));
  auto g = make_dockerignore_filter({"node_modules", "!node_modules/keep"});
  REQUIRE(g.ok());
  CHECK((*g)->may_reinclude_below("node_modules"));
  CHECK_FALSE((*g)->may_reinclude_below("other"));
}

TEST_CASE("BuildContext from stdin: a tar (plain or gzip) or a lone Dockerfile") {
  TempDir t;
  write_file(t / "src/Dockerfile", "FROM scratch\nCOPY a /\n");
  write_file(t / "src/a", "a\n");
  write_file(t / "src/.dockerignore", "ignored\n");
  write_file(t / "src/sub/b", "b\n", 0600);
  REQUIRE(std::system(("tar -C '" + (t / "src").string() + "' -czf '" + (t / "ctx.tgz").string() + "' .").c_str()) == 0);
  fs::path temp_root = t / "tmp";
  fs::path unpacked;
  {
    int fd = ::open((t / "ctx.tgz").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    auto c = BuildContext::open_stream(fd, temp_root);
    ::close(fd);
    REQUIRE(c.ok());
    unpacked = c->root();
    CHECK_FALSE(c->stdin_dockerfile().has_value());
    CHECK(read_file(c->root() / "a") == "a\n");
    CHECK(read_file(c->root() / "sub/b") == "b\n");
    CHECK(mkimage::testing::mode_of(c->root() / "sub/b") == 0600);
    CHECK(c->excluded("ignored"));
    CHECK(unpacked.parent_path() == temp_root);
    CHECK(mkimage::testing::mode_of(c->root()) == 0755);
  }
  CHECK_FALSE(fs::exists(unpacked));  // removed with the context

  int fd = ::open((t / "src/Dockerfile").c_str(), O_RDONLY);
  auto c = BuildContext::open_stream(fd, temp_root);
  ::close(fd);
  REQUIRE(c.ok());
  REQUIRE(c->stdin_dockerfile().has_value());
  CHECK(*c->stdin_dockerfile() == "FROM scratch\nCOPY a /\n");
  CHECK(fs::is_empty(c->root()));
}
