// builder/runtime_stderr.hpp: the process's stderr passes through at once; the
// runtime's own last line is dropped only when the runtime failed with it.
#include <doctest/doctest.h>

#include "builder/runtime_stderr.hpp"

using mkimage::builder::RuntimeStderrFilter;

TEST_CASE("runtime stderr filter: the runtime's error line is dropped, the process's output kept") {
  const std::string err = "runc run failed: unable to start container process: exec: \"/x\": stat /x: no such file or directory";
  RuntimeStderrFilter f("/usr/sbin/runc");
  CHECK(f.feed("warn: one\n") == "warn: one\n");
  CHECK(f.feed(err.substr(0, 3)) == "");  // "run": may start the runtime's line
  CHECK(f.holding());
  CHECK(f.feed(err.substr(3) + "\n") == "");
  CHECK(f.finish(err) == "");
}

TEST_CASE("runtime stderr filter: a held line is the process's when more output follows or the runtime did not fail") {
  RuntimeStderrFilter f("runc");
  CHECK(f.feed("runc is a word\n") == "");
  CHECK(f.feed("more") == "runc is a word\nmore");
  CHECK(f.feed(" text\nexec failed: mine\n") == " text\n");
  CHECK(f.finish(std::nullopt) == "exec failed: mine\n");

  RuntimeStderrFilter g("runc");
  CHECK(g.feed("ru") == "");
  CHECK(g.flush() == "ru");
  CHECK(g.feed("nc no line start\n") == "nc no line start\n");
  CHECK(g.feed("plain\n") == "plain\n");
  CHECK(g.finish(std::string("runc run failed: other")) == "");
  RuntimeStderrFilter h("crun");
  CHECK(h.feed("crun: error\n") == "");
  CHECK(h.finish(std::string("something else")) == "crun: error\n");
}
