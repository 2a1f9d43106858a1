// Stages and the build graph: what the planner (graph/plan.hpp) produces for the
// builder. A Dockerfile is a list of stages (`FROM ... [AS name]`), each an
// ordered list of steps (typed, expanded instructions). Stages depend on each
// other through their base (`FROM <stage>`), `COPY --from=<stage>` and
// `RUN --mount=from=<stage>`; these are the edges of the build graph.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "parser/instructions.hpp"
#include "parser/source.hpp"

namespace mkimage::graph {

// One instruction of a stage, ready to execute: values already expanded where
// BuildKit expands them, planner fields filled (see parser/instructions.hpp).
struct Step {
  parser::Instruction instruction;  // typed and expanded
  std::string keyword;       // upper case: "RUN", "COPY", ...
  parser::SourceRange range; // the instruction in the Dockerfile (for an ONBUILD
                             // trigger: the FROM of the stage that runs it)
  std::string original;      // the logical line as written (Node::original)
  bool from_onbuild = false; // an ONBUILD trigger of the base image/stage

  // History: image config `history[].created_by`, exactly as BuildKit writes it
  // (e.g. "RUN /bin/sh -c echo hi # buildkit", "COPY file /app # buildkit",
  // "WORKDIR /app", "ENV A=b", "RUN |1 V=x /bin/sh -c make # buildkit").
  // `adds_history` is false for ONBUILD, which BuildKit does not record.
  std::string created_by;
  bool adds_history = true;
  bool empty_layer = true;   // history empty_layer: false for RUN, COPY, ADD, WORKDIR != "/"

  // The state this step runs in (after the previous step):
  std::string workdir;                 // absolute; "" = not set (runs in "/")
  std::string user;                    // "" = root / not set
  std::vector<std::string> shell;      // SHELL in effect (default ["/bin/sh","-c"])
  // RUN only: the process environment "K=V": image config Env + ARGs in scope,
  // in order. Proxy build args that were not declared with ARG are NOT here
  // (see proxy_env); everything here belongs in the cache key.
  std::vector<std::string> env;
  // RUN only: predefined proxy args (HTTP_PROXY, https_proxy, ...) given with
  // --build-arg and not declared with ARG: passed to the process, kept out of
  // history and cache keys. "K=V".
  std::vector<std::string> proxy_env;
  // RUN only: the ARGs in scope with their values (nullopt = declared
  // without value), in declaration order, duplicates merged: the `|N k=v`
  // part of RUN history and an input of RUN cache keys.
  std::vector<std::pair<std::string, std::optional<std::string>>> build_args;
};

// Where a stage starts.
struct StageBase {
  // context: a named build context (`--build-context NAME=…`) named by the FROM
  // reference or, replacing the whole stage, by the stage's own `AS` name.
  enum class Kind { scratch, image, stage, context };
  Kind kind = Kind::scratch;
  std::string image;    // Kind::image: the expanded reference, e.g. "alpine:3.19";
                        // Kind::context: the context's name, e.g. "base"
  int stage = -1;       // Kind::stage: Dockerfile index of the base stage
  bool replaces_stage = false;  // Kind::context named by `AS`: the stage's instructions are not run
  std::string platform; // expanded --platform, "" when not given
};

// Why one stage needs another (an edge of the build graph).
struct StageEdge {
  int from = -1;             // Dockerfile index of the stage that needs ...
  int to = -1;               // ... this stage (Dockerfile index)
  enum class Kind { base, copy_from, mount_from };
  Kind kind = Kind::base;
  int step = -1;             // index in the needing stage's steps; -1 for base
};

// A stage of the build.
struct Stage {
  int index = 0;                 // position in the Dockerfile (0 = first FROM)
  std::string name;              // lower-cased `AS` name, "" when none
  StageBase base;
  parser::FromInstruction from;  // the expanded FROM
  parser::SourceRange range;     // the FROM line
  std::string original;          // the FROM line as written
  std::vector<Step> steps;       // ONBUILD triggers of the base first, then the stage's own
  // Image config state at the end of the stage that the builder would otherwise
  // have to re-derive:
  bool cmd_set = false;          // a CMD appeared in this stage (an ENTRYPOINT then keeps it)
  std::vector<std::string> images_used;  // images named by COPY --from / RUN --mount from=
  std::vector<std::string> config_env;   // image config Env "K=V" at the end of the stage
                                         // (base Env, PATH default added, ENV applied)

  // "name" or "stage-N" (BuildKit's display name).
  std::string display_name() const { return name.empty() ? "stage-" + std::to_string(index) : name; }
};

}  // namespace mkimage::graph
