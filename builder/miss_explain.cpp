#include "builder/miss_explain.hpp"

#include "builder/build_internal.hpp"
#include "builder/step_inputs_codec.hpp"
#include "store/cache_inputs.hpp"

namespace mkimage::builder {

namespace {

// Which project a record belongs to: the context directory and the Dockerfile.
std::string scope_of(const BuildSession& s) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(s.request.context_dir, ec).lexically_normal();
  return dir.string() + "\n" + s.dockerfile_name;
}

std::string stage_id(const graph::Stage& stage) {
  return stage.name.empty() ? std::to_string(stage.index) : stage.name;
}

}  // namespace

void StepChain::start(std::string instruction, const KeyFields& fields) {
  links.clear();
  links.push_back(KeyLink{std::move(instruction), fields});
  parent_ran = false;
}

void StepChain::add(std::string instruction, const KeyFields& fields) {
  links.push_back(KeyLink{std::move(instruction), fields});
}

void StepChain::set_files(FileLister lister) { list_files = std::move(lister); }

StepInputs take_step_inputs(StepChain& chain, const std::string& instruction, const KeyFields& own,
                            StepChain::FileLister& lister) {
  StepInputs in;
  in.chain = std::move(chain.links);
  in.chain.push_back(KeyLink{instruction, own});
  lister = std::move(chain.list_files);
  chain.links.clear();
  chain.list_files = nullptr;
  return in;
}

void load_step_files(StepInputs& inputs, const StepChain::FileLister& lister) {
  if (!lister) return;
  auto files = lister();
  if (!files.ok()) return;
  inputs.files = std::move(*files);
  inputs.has_files = true;
}

std::string explain_miss(BuildSession& s, const graph::Stage& stage, const StepSlot& slot, const CacheKey& key,
                         const StepInputs& inputs, const MissFlags& flags) {
  if (flags.no_cache || flags.no_cache_filter || flags.layer_gone) return miss_reason(inputs, std::nullopt, flags);
  auto rec = store::nearest_cache_inputs(s.store->index(), scope_of(s), stage_id(stage), slot.info.index,
                                         slot.info.name, key.str());
  if (!rec.ok()) return "reason unknown: " + rec.error().message;
  std::optional<StepInputs> earlier;
  if (*rec) {
    auto chain = decode_chain((*rec)->chain);
    if (chain.ok()) {
      earlier = StepInputs{};
      earlier->chain = std::move(*chain);
      if (!(*rec)->files.empty()) {
        auto data = store::get_cache_file_list(s.store->index(), (*rec)->files);
        if (data.ok() && *data) {
          auto files = decode_file_listing(**data);
          if (files.ok()) {
            earlier->files = std::move(*files);
            earlier->has_files = true;
          }
        }
      }
    }
  }
  return miss_reason(inputs, earlier, flags);
}

void record_step_inputs(BuildSession& s, const graph::Stage& stage, const StepSlot& slot, const CacheKey& key,
                        const StepInputs& inputs) {
  store::CacheInputsRecord r;
  r.key = key.str();
  r.scope = scope_of(s);
  r.stage = stage_id(stage);
  r.position = slot.info.index;
  r.step = slot.info.name;
  r.chain = encode_chain(inputs.chain);
  std::string list;
  if (inputs.has_files) {
    list = encode_file_listing(inputs.files);
    r.files = file_listing_digest(list);
  }
  (void)store::put_cache_inputs(s.store->index(), r, inputs.has_files ? &list : nullptr);
}

}  // namespace mkimage::builder
