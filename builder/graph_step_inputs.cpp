#include "builder/graph_step_inputs.hpp"

#include <algorithm>

#include "builder/build_internal.hpp"

namespace mkimage::builder {

namespace {

std::string field(const graph::Op& op, std::string_view tag) {
  for (const auto& [t, v] : op.fields)
    if (t == tag) return v;
  return {};
}

// The instruction a link names, as the step runner writes it: the FROM's and a
// layer step's shown name, a metadata instruction's keyword.
std::string instruction_of(const BuildSession& s, const graph::Op& op) {
  if (op.kind == graph::OpKind::metadata) {
    const graph::Stage* stage = s.plan.find_stage(op.stage);
    if (stage && op.step >= 0 && static_cast<std::size_t>(op.step) < stage->steps.size())
      return stage->steps[static_cast<std::size_t>(op.step)].keyword;
  }
  auto it = s.slots.find({op.stage, op.step});
  return it == s.slots.end() ? std::string() : it->second.info.name;
}

// A COPY/ADD from a directory (the context or a --build-context directory) and
// a directory base have a file list; COPY --from a stage or an image has none.
bool copies_from_directory(const graph::Op& op) {
  if (op.kind == graph::OpKind::directory_base) return true;
  if (op.kind != graph::OpKind::copy) return false;
  return field(op, "from") == "context";  // else "stage:…" or "image:…" (CopyKeyInputs::from)
}

}  // namespace

StepInputs graph_step_inputs(const BuildSession& s, const graph::Graph& g, int op_index, const FileListingOf& files) {
  const graph::Op& op = g.ops[static_cast<std::size_t>(op_index)];
  StepInputs in;
  if (op.kind == graph::OpKind::directory_base) {
    // The build starts the chain at the FROM (an empty rootfs) and keys the
    // directory's files as a COPY on it (builder/ops_copy.cpp op_directory_base).
    KeyHasher from;
    graph::key_for_from(from, "scratch", "linux/amd64", s.source_date_epoch);
    in.chain.push_back(KeyLink{instruction_of(s, op), from.fields()});
  } else {
    // Back to the previous layer step or the FROM: the metadata keys between.
    std::vector<int> above;
    for (int p = op.parent; p >= 0;) {
      const graph::Op& up = g.ops[static_cast<std::size_t>(p)];
      if (up.layer_step()) break;
      above.push_back(p);
      if (up.kind == graph::OpKind::from) break;
      p = up.parent;
    }
    std::reverse(above.begin(), above.end());
    for (int p : above) {
      const graph::Op& up = g.ops[static_cast<std::size_t>(p)];
      in.chain.push_back(KeyLink{instruction_of(s, up), up.fields});
    }
  }
  in.chain.push_back(KeyLink{instruction_of(s, op), op.fields});
  if (copies_from_directory(op) && files) {
    if (const FileListing* list = files(field(op, "sources-digest"))) {
      in.files = *list;
      in.has_files = true;
    }
  }
  return in;
}

}  // namespace mkimage::builder
