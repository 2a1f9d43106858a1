#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "store/build_history.hpp"
#include "store/lease.hpp"
#include "store/index.hpp"
#include "temp_dir.hpp"

using namespace mkimage;
using namespace mkimage::store;

namespace {

BuildRecord record(const std::string& id, std::int64_t started, const std::string& status = "completed") {
  BuildRecord b;
  b.id = id;
  b.name = "app:" + id;
  b.started_ms = started;
  b.finished_ms = status == "running" ? 0 : started + 1500;
  b.status = status;
  b.args = {{"A", "1"}, {"B", "two words"}};
  b.secrets = {"npmrc"};
  b.tags = {"app:1", "app:latest"};
  return b;
}

BuildStepRecord step(const std::string& build, int n, const std::string& outcome) {
  BuildStepRecord s;
  s.build = build;
  s.number = n;
  s.label = "[" + std::to_string(n) + "/3]";
  s.name = "RUN step " + std::to_string(n);
  s.outcome = outcome;
  s.duration_ms = n * 10;
  s.cache_key = "sha256:" + std::string(64, static_cast<char>('0' + n));
  return s;
}

std::int64_t now_minus(std::int64_t s) { return now_ms() - s * 1000; }

}  // namespace

TEST_CASE("build ids are 20 lower-case base32 characters and differ") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_build_id();
    CHECK(id.size() == 20);
    CHECK(id.find_first_not_of("0123456789abcdefghjkmnpqrstvwxyz") == std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("a build and its steps round-trip; updating the build keeps its steps") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db");
  REQUIRE(idx.ok());
  Index& index = **idx;
  BuildRecord b = record("aaaa", now_minus(10), "running");
  REQUIRE(put_build(index, b).ok());
  REQUIRE(put_build_step(index, step("aaaa", 2, "run")).ok());
  REQUIRE(put_build_step(index, step("aaaa", 1, "CACHED")).ok());
  b.status = "completed";
  b.finished_ms = b.started_ms + 1500;
  b.image = "sha256:" + std::string(64, 'c');
  REQUIRE(put_build(index, b).ok());

  auto got = find_build(index, "aaaa");
  REQUIRE(got.ok());
  CHECK(got->status == "completed");
  CHECK(got->finished_ms == b.started_ms + 1500);
  CHECK(got->args == b.args);
  CHECK(got->secrets == std::vector<std::string>{"npmrc"});
  CHECK(got->tags == b.tags);
  CHECK(got->image == b.image);
  auto steps = build_steps(index, "aaaa");
  REQUIRE(steps.ok());
  REQUIRE(steps->size() == 2);
  CHECK((*steps)[0].number == 1);
  CHECK((*steps)[0].outcome == "CACHED");
  CHECK((*steps)[1].outcome == "run");
  CHECK((*steps)[1].duration_ms == 20);
  CHECK((*steps)[1].cache_key == step("aaaa", 2, "run").cache_key);
}

TEST_CASE("builds list newest first; find_build takes a unique prefix or the newest") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db");
  REQUIRE(idx.ok());
  Index& index = **idx;
  REQUIRE(put_build(index, record("abc111", now_minus(30))).ok());
  REQUIRE(put_build(index, record("abc222", now_minus(20))).ok());
  REQUIRE(put_build(index, record("xyz333", now_minus(10))).ok());
  auto all = list_builds(index);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].id == "xyz333");
  CHECK((*all)[2].id == "abc111");
  CHECK(find_build(index, "")->id == "xyz333");
  CHECK(find_build(index, "abc2")->id == "abc222");
  auto ambiguous = find_build(index, "abc");
  REQUIRE_FALSE(ambiguous.ok());
  CHECK(ambiguous.error().message.find("ambiguous") != std::string::npos);
  auto missing = find_build(index, "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("no build found") != std::string::npos);
  CHECK_FALSE(find_build(index, "a%").ok());
}

TEST_CASE("all_build_steps orders by build start, then step") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db");
  REQUIRE(idx.ok());
  Index& index = **idx;
  REQUIRE(put_build(index, record("late", now_minus(10))).ok());
  REQUIRE(put_build(index, record("early", now_minus(20))).ok());
  REQUIRE(put_build_step(index, step("late", 1, "CACHED")).ok());
  REQUIRE(put_build_step(index, step("early", 2, "run")).ok());
  REQUIRE(put_build_step(index, step("early", 1, "run")).ok());
  auto rows = all_build_steps(index);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].build == "early");
  CHECK((*rows)[0].number == 1);
  CHECK((*rows)[1].number == 2);
  CHECK((*rows)[2].build == "late");
}

TEST_CASE("prune_builds keeps the newest N and running builds (not those whose process died), and removes logs") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db");
  REQUIRE(idx.ok());
  Index& index = **idx;
  REQUIRE(put_build(index, record("b1", now_minus(40))).ok());
  REQUIRE(put_build(index, record("b2", now_minus(30), "running")).ok());
  REQUIRE(put_build(index, record("b3", now_minus(20), "error")).ok());
  REQUIRE(put_build(index, record("b4", now_minus(10))).ok());
  REQUIRE(put_build(index, record("b5", now_minus(35), "running")).ok());  // its process died: no lease
  REQUIRE(put_build(index, record("b6", now_minus(25), "running")).ok());  // its lease's owner is gone
  REQUIRE(index.put_lease(new_lease_record(history_lease_description("b2"))).ok());  // this process: alive
  LeaseRecord dead = new_lease_record(history_lease_description("b6"));
  dead.pid_start += 1;  // the same pid started at another time: another (dead) process
  REQUIRE(index.put_lease(dead).ok());
  REQUIRE(put_build_step(index, step("b1", 1, "run")).ok());
  for (const char* id : {"b1", "b2", "b3", "b4", "b5", "b6"}) {
    std::filesystem::create_directories(history_dir(tmp.path(), id));
    std::ofstream(history_log_path(tmp.path(), id, 1)) << "output\n";
  }
  auto none = prune_builds(index, tmp.path(), 10);
  REQUIRE(none.ok());
  CHECK(none->empty());

  auto removed = prune_builds(index, tmp.path(), 1);
  REQUIRE(removed.ok());
  CHECK(*removed == std::vector<std::string>{"b3", "b6", "b5", "b1"});
  auto left = list_builds(index);
  REQUIRE(left.ok());
  REQUIRE(left->size() == 2);
  CHECK((*left)[0].id == "b4");
  CHECK((*left)[1].id == "b2");  // still running
  CHECK_FALSE(std::filesystem::exists(history_dir(tmp.path(), "b1")));
  CHECK(std::filesystem::exists(history_log_path(tmp.path(), "b4", 1)));
  auto steps = build_steps(index, "b1");
  REQUIRE(steps.ok());
  CHECK(steps->empty());  // cascaded
}

TEST_CASE("list_builds and find_build read a running build whose process died as interrupted") {
  test::TempDir tmp;
  auto idx = Index::open(tmp.path() / "index.db");
  REQUIRE(idx.ok());
  Index& index = **idx;
  REQUIRE(put_build(index, record("live", now_minus(20), "running")).ok());
  REQUIRE(put_build(index, record("dead", now_minus(10), "running")).ok());
  REQUIRE(index.put_lease(new_lease_record(history_lease_description("live"))).ok());
  auto all = list_builds(index);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == "dead");
  CHECK((*all)[0].status == "error");
  CHECK((*all)[0].error == k_interrupted_error);
  CHECK((*all)[1].status == "running");
  auto dead = find_build(index, "dead");
  REQUIRE(dead.ok());
  CHECK(dead->status == "error");
  auto newest = find_build(index, "");
  REQUIRE(newest.ok());
  CHECK(newest->error == k_interrupted_error);
  auto live = find_build(index, "live");
  REQUIRE(live.ok());
  CHECK(live->status == "running");
}
