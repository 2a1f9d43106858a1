#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "builder/build_history.hpp"
#include "builder_test_util.hpp"
#include "util/sha256.hpp"
#include "store/build_history.hpp"
#include "store/index.hpp"

using namespace mkimage;

namespace {

// Counts the events it receives: the recorder must pass every one on.
struct CountingSink : EventSink {
  int started = 0, cached = 0, output = 0, done = 0, errors = 0, messages = 0;
  void step_started(const StepInfo&) override { ++started; }
  void step_cached(const StepInfo&) override { ++cached; }
  void step_output(const StepInfo&, std::string_view, double) override { ++output; }
  void step_done(const StepInfo&, double) override { ++done; }
  void step_error(const StepInfo&, const std::string&, double) override { ++errors; }
  void message(const std::string&) override { ++messages; }
};

StepInfo info(int n, const std::string& name, const std::string& key = "") {
  StepInfo s;
  s.number = n;
  s.label = "[" + std::to_string(n) + "/3]";
  s.name = name;
  s.cache_key = key;
  return s;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the recorder passes every event on and records outcomes, keys and whole logs") {
  testing::TempDir tmp;
  testing::write_file(tmp / "ctx/Dockerfile", "FROM scratch\n");
  BuildRequest req;
  req.store_root = tmp / "root";
  req.context_dir = tmp / "ctx";
  req.build_args = {{"A", "1"}};
  req.secrets = {BuildSecret{"token", "/does/not/matter", ""}};
  req.tags = {"app:1"};
  CountingSink next;
  std::string id;
  {
    builder::BuildHistoryRecorder rec(req, next);
    id = rec.id();
    REQUIRE(id.size() == 20);
    rec.step_started(info(1, "COPY a b", "sha256:aa"));
    rec.step_cached(info(1, "COPY a b", "sha256:aa"));
    rec.step_started(info(2, "RUN make"));
    std::string big(1000, 'x');
    for (int i = 0; i < 100; ++i) rec.step_output(info(2, "RUN make"), big, 0.1);  // 100 KB, never clipped
    rec.step_done(info(2, "RUN make", "sha256:bb"), 1.25);
    rec.step_started(info(3, "RUN false", "sha256:cc"));
    rec.step_output(info(3, "RUN false"), "oops", 0.1);
    rec.step_error(info(3, "RUN false", "sha256:cc"), "exit code: 1", 0.5);
    rec.finish(Result<BuildResult>(util::Error{"failed to solve: exit code: 1"}));
  }
  CHECK(next.started == 3);
  CHECK(next.cached == 1);
  CHECK(next.output == 101);
  CHECK(next.done == 1);
  CHECK(next.errors == 1);
  CHECK(next.messages == 0);

  auto idx = store::Index::open(tmp / "root/index.db");
  REQUIRE(idx.ok());
  auto b = store::find_build(**idx, id);
  REQUIRE(b.ok());
  CHECK(b->status == "error");
  CHECK(b->error == "failed to solve: exit code: 1");
  CHECK(b->name == "app:1");
  CHECK(b->args.at("A") == "1");
  CHECK(b->secrets == std::vector<std::string>{"token"});
  CHECK(b->dockerfile_digest == "sha256:" + util::sha256_hex("FROM scratch\n"));
  CHECK(b->finished_ms >= b->started_ms);
  auto steps = store::build_steps(**idx, id);
  REQUIRE(steps.ok());
  REQUIRE(steps->size() == 3);
  CHECK((*steps)[0].outcome == "CACHED");
  CHECK((*steps)[0].cache_key == "sha256:aa");
  CHECK((*steps)[1].outcome == "run");
  CHECK((*steps)[1].duration_ms == 1250);
  CHECK((*steps)[1].cache_key == "sha256:bb");
  CHECK((*steps)[1].log_bytes == 100 * 1001);
  CHECK((*steps)[2].outcome == "error");
  std::string log2 = slurp(store::history_log_path(tmp / "root", id, 2));
  CHECK(log2.size() == 100 * 1001);
  CHECK(slurp(store::history_log_path(tmp / "root", id, 3)) == "oops\nERROR: exit code: 1\n");
  CHECK_FALSE(std::filesystem::exists(store::history_log_path(tmp / "root", id, 1)));
}
