// --output oci|docker|tar|local: the built image leaves the store.
#include "builder/build_internal.hpp"

namespace mkimage::builder {

util::Result<void> export_output(BuildSession& s, const store::Image& image, const StageState& final_state,
                                 const OutputSpec& output) {
  (void)s;
  (void)image;
  (void)final_state;
  (void)output;
  return util::Error{"this output type is not available yet"};
}

}  // namespace mkimage::builder
