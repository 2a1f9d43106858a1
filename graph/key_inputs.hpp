// The inputs of each op's cache key taken from a planned step (docs/cache-keys.md):
// the one place that says which parts of an instruction are keyed. Both the
// graph's key phase (graph/graph.hpp) and the builder's ops use these, so a
// predicted key and an executed one are made by the same code. Pure functions:
// no filesystem, no store.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/cache_key.hpp"
#include "graph/stages.hpp"

namespace mkimage::graph {

// A metadata instruction's keyed arguments (ENV "K=V" each, CMD its argv, …);
// nullopt when `step` is not a metadata instruction (RUN, COPY/ADD, WORKDIR).
std::optional<std::vector<std::string>> metadata_key_args(const Step& step);

// RUN's network as keyed: "none", "host", else the build's default
// (BuildRequest::network, "" = "default").
std::string run_network_name(parser::NetworkMode mode, const std::string& build_default);

// RUN's key inputs but the mounts (whose sources need resolving: the caller
// appends one mount_key_text per mount).
RunKeyInputs run_key_inputs(const Step& step, const std::string& build_default_network);

// What a mount's source is keyed by, once resolved: "stage-content:<digest>",
// "stage:<key>", "image:<digest>", "image:scratch", "context:<digest>"; "" = no
// source (tmpfs, cache without from=, secret, ssh).
// The mount's canonical key text: "type=…,target=…,…[,from=<source>]".
std::string mount_key_text(const parser::MountSpec& mount, const std::string& source);
// True when the mount's key names its source (a bind mount, or a cache mount with from=).
bool mount_keys_source(const parser::MountSpec& mount);

// COPY/ADD key inputs but the source (`from`, `sources_digest`), which the
// caller resolves.
CopyKeyInputs copy_key_inputs(const Step& step);

// WORKDIR's path as keyed and set (the resolved path, else as written).
std::string workdir_path(const Step& step);

}  // namespace mkimage::graph
