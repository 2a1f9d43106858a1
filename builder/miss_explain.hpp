// The glue between the step runner and miss reasons (builder/miss_reason.hpp):
// each stage collects the tagged fields of its keys as it goes (FROM, metadata
// instructions), a filesystem step takes them with its own fields and file list
// (take_step_inputs), a miss is explained against the nearest earlier record in
// the store (explain_miss), and the inputs of every new cache entry are stored
// beside it (record_step_inputs; store/cache_inputs.hpp). docs/cache.md "Why a
// step ran".
#pragma once

#include <functional>
#include <string>

#include "builder/cache_key.hpp"
#include "builder/miss_reason.hpp"

namespace mkimage::graph {
struct Stage;
}

namespace mkimage::builder {

struct BuildSession;
struct StepSlot;

// The keys of a stage since its last filesystem step (StageState::chain).
struct StepChain {
  // Makes the file list of a COPY/ADD selection: called only when the step
  // misses (a cache hit needs no list, and a 100,000-file list costs as much
  // memory as the walk). An error leaves the step without a list.
  using FileLister = std::function<util::Result<FileListing>()>;

  std::vector<KeyLink> links;  // FROM (first filesystem step only), then metadata keys
  FileLister list_files;       // set by COPY/ADD before run_fs_step
  bool parent_ran = false;     // the stage's last filesystem step ran in this build

  void start(std::string instruction, const KeyFields& fields);  // FROM: a new chain
  void add(std::string instruction, const KeyFields& fields);    // a metadata key
  // `lister` must stay valid until run_fs_step of the step returns.
  void set_files(FileLister lister);
};

// The inputs of a filesystem step with key fields `own` (its instruction
// `instruction`): the chain so far plus its own link; the chain then restarts.
// The file list is not made here: `lister` receives the chain's (if any), for
// load_step_files on a miss.
StepInputs take_step_inputs(StepChain& chain, const std::string& instruction, const KeyFields& own,
                            StepChain::FileLister& lister);

// Makes the file list of `inputs` with `lister` (nothing when there is none).
void load_step_files(StepInputs& inputs, const StepChain::FileLister& lister);

// Why the step missed (never empty): compares `inputs` with the nearest earlier
// record of the same step in the store. A store error gives "reason unknown".
std::string explain_miss(BuildSession& session, const graph::Stage& stage, const StepSlot& slot,
                         const CacheKey& key, const StepInputs& inputs, const MissFlags& flags);

// Stores `inputs` beside the cache entry `key` (which must exist). Best effort:
// an error only costs later explanations.
void record_step_inputs(BuildSession& session, const graph::Stage& stage, const StepSlot& slot,
                        const CacheKey& key, const StepInputs& inputs);

}  // namespace mkimage::builder
