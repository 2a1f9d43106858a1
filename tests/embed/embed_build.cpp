// Embeds the builder: builds a two-step image through mkimage::build() with an
// event sink of its own, then builds it again and checks every step was cached.
// Exit 0 = ok, 1 = failure, 77 = skipped (needs root for overlay mounts).
#include <mkimage/build.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct CountingSink : mkimage::EventSink {
  int started = 0, cached = 0, done = 0, errors = 0;
  std::vector<std::string> labels;
  void step_started(const mkimage::StepInfo& s) override {
    ++started;
    labels.push_back(s.label + " " + s.name);
  }
  void step_cached(const mkimage::StepInfo&) override { ++cached; }
  void step_done(const mkimage::StepInfo&, double) override { ++done; }
  void step_error(const mkimage::StepInfo&, const std::string& m, double) override {
    ++errors;
    std::cerr << "step error: " << m << "\n";
  }
};

int fail(const std::string& m) {
  std::cerr << "embed_build: FAIL: " << m << "\n";
  return 1;
}

}  // namespace

int main() {
  namespace fs = std::filesystem;
  if (geteuid() != 0) {
    std::cout << "embed_build: skipped: needs root (overlay mounts)\n";
    return 77;
  }
  char tmpl[] = "/tmp/mkimage-embed.XXXXXX";
  if (!mkdtemp(tmpl)) return fail("mkdtemp");
  fs::path dir = tmpl;
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{dir};
  fs::create_directories(dir / "ctx");
  std::ofstream(dir / "ctx" / "hello.txt") << "hello from an embedding program\n";

  mkimage::BuildRequest req;
  req.store_root = dir / "root";
  req.context_dir = dir / "ctx";
  req.dockerfile_bytes = "FROM scratch\nCOPY hello.txt /hello.txt\nENV EMBEDDED=1\nCMD [\"/hello.txt\"]\n";
  req.tags = {"embedded:test"};

  CountingSink first;
  auto r1 = mkimage::build(req, first);
  if (!r1.ok()) return fail("first build: " + r1.error().message);
  if (!r1->image_id.valid()) return fail("no image ID");
  if (r1->tags != std::vector<std::string>{"embedded:test"}) return fail("tags not reported");
  bool copy_missed = false;
  for (const auto& s : r1->steps)
    if (s.step.name == "COPY hello.txt /hello.txt" && s.outcome == mkimage::CacheOutcome::miss) copy_missed = true;
  if (!copy_missed) return fail("first build: COPY was not executed");

  CountingSink second;
  auto r2 = mkimage::build(req, second);
  if (!r2.ok()) return fail("second build: " + r2.error().message);
  if (!(r2->image_id == r1->image_id)) return fail("a fully cached rebuild gave another image ID");
  int cached = 0;
  for (const auto& s : r2->steps)
    if (s.outcome == mkimage::CacheOutcome::hit && s.step.label != "[internal]") ++cached;
  if (cached < 1 || second.cached < 1) return fail("second build: nothing was cached");
  if (second.errors || first.errors) return fail("error events");
  std::cout << "embed_build: ok " << r1->image_id.str() << " (" << first.started << " steps, " << second.cached
            << " cached on rebuild)\n";
  return 0;
}
