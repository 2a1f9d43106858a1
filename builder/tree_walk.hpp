// The walk of a COPY/ADD source directory (builder/copy_plan.cpp): every entry
// below it that the filters let through, in pre-order (parents first), each
// directory's entries sorted by name, each lstat'ed relative to its
// directory's descriptor (getdents64 + fstatat, no path resolution per entry).
//
// Directories are read on up to 4 threads (the caller's and helpers, as many
// as the machine has cores): whoever reads a directory decides, per entry,
// whether it is included and whether the walk descends into it (functions of
// the path alone), and queues the directories to descend into; the caller
// then emits the entries in pre-order from what was read, reading itself any
// directory no helper has taken yet. The queue is a stack whose top is the
// next directory in pre-order, and a helper takes the one below the top: the
// caller reads one directory while a helper reads the next, and what helpers
// read is emitted (and freed) soon after, so the walk holds little more than
// a one-thread walk. The result, and the first error met in pre-order, are
// those of a one-thread walk.
#pragma once

#include <deque>
#include <string>

#include "builder/copy_internal.hpp"
#include "builder/context.hpp"
#include "parser/path_match.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

struct WalkFilter {
  const PathFilter* ctx = nullptr;  // .dockerignore; paths are ctx_prefix + rel
  std::string ctx_prefix;
  const parser::PatternMatcher* excludes = nullptr;
  const parser::PatternMatcher* include = nullptr;  // --parents pattern, relative to the walk root
};

// Appends the entries below directory `host` (not `host` itself) to `out`:
// what the filters include, and the directories entered without being
// included (an exception of .dockerignore may re-include something below
// them) once something below them is. Entries removed while walking are
// skipped. Errors: "opendir", "lstat", "readlink" naming the host path and
// errno.
util::Result<void> walk_tree(const std::string& host, const WalkFilter& filter, std::deque<WalkEntry>& out);

}  // namespace mkimage::builder
