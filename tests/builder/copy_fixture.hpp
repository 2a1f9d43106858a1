// Fixture for COPY/ADD tests: a context dir, a destination rootfs, and a
// helper that runs one COPY/ADD and returns the error text (or "").
#pragma once

#include <fcntl.h>

#include <algorithm>
#include <map>

#include "builder/copy.hpp"
#include "builder_test_util.hpp"

namespace mkimage::testing {

struct CopyFixture {
  TempDir tmp;
  std::filesystem::path ctx = tmp / "ctx";
  std::filesystem::path rootfs = tmp / "rootfs";
  std::filesystem::path scratch = tmp / "scratch";
  std::unique_ptr<builder::PathFilter> filter = std::make_unique<builder::NoFilter>();

  CopyFixture() {
    std::filesystem::create_directories(ctx);
    std::filesystem::create_directories(rootfs);
    std::filesystem::create_directories(scratch);
  }

  builder::SourceTree context_source() const {
    return builder::SourceTree{ctx, builder::SourceTree::Origin::context, filter.get()};
  }

  // Runs the op against the context (or `from` as a rootfs source); "" on success.
  std::string run(const builder::CopyOp& op, const std::string& workdir = "/",
                  const std::filesystem::path* from = nullptr) {
    builder::SourceTree src = from ? builder::SourceTree{*from, builder::SourceTree::Origin::rootfs, nullptr}
                                   : context_source();
    builder::PlanOptions po;
    po.scratch_dir = scratch;
    po.allow_network = true;
    auto r = builder::run_copy(op, src, builder::DestTree{rootfs, workdir, {}}, po);
    return r.ok() ? "" : r.error().message;
  }

  // "type path[ -> target]" lines of the rootfs, sorted (like the cases' tree_is).
  std::string tree(const std::filesystem::path& root) const {
    std::vector<std::string> lines;
    for (auto it = std::filesystem::recursive_directory_iterator(root); it != std::filesystem::recursive_directory_iterator(); ++it) {
      auto rel = "/" + it->path().lexically_relative(root).string();
      auto st = lstat_of(it->path());
      if (S_ISLNK(st.st_mode)) {
        lines.push_back("l " + rel + " -> " + link_of(it->path()));
      } else if (S_ISDIR(st.st_mode)) {
        lines.push_back("d " + rel);
      } else {
        lines.push_back("f " + rel);
      }
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (auto& l : lines) out += l + "\n";
    return out;
  }
  std::string tree() const { return tree(rootfs); }
};

inline builder::CopyOp copy_op(std::vector<std::string> sources, std::string dest) {
  builder::CopyOp op;
  op.kind = builder::CopyKind::copy;
  op.sources = std::move(sources);
  op.dest = std::move(dest);
  return op;
}

inline std::string meta(const std::filesystem::path& p) {
  auto st = lstat_of(p);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%u:%u %o", st.st_uid, st.st_gid, st.st_mode & 07777);
  return buf;
}

}  // namespace mkimage::testing
