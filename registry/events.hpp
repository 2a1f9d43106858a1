// Progress of a pull or push, in docker's vocabulary, for the CLI to print.
// Calls come from the transfer threads: an implementation serialises them itself.
#pragma once

#include <cstdint>
#include <string>

namespace mkimage::registry {

class TransferEvents {
public:
  virtual ~TransferEvents() = default;
  // A line not tied to a layer: "latest: Pulling from library/node",
  // "The push refers to repository [localhost:5000/goals]".
  virtual void message(const std::string& /*line*/) {}
  // A layer's new state; `id` is the blob's short digest (12 hex). Pull:
  // "Pulling fs layer", "Downloading", "Download complete", "Pull complete",
  // "Already exists". Push: "Preparing", "Pushing", "Pushed",
  // "Layer already exists", "Mounted from REPOSITORY".
  virtual void layer(const std::string& /*id*/, const std::string& /*status*/) {}
  // Bytes moved so far of `total` (a compressed blob's size).
  virtual void layer_progress(const std::string& /*id*/, std::int64_t /*done*/, std::int64_t /*total*/) {}
};

}  // namespace mkimage::registry
