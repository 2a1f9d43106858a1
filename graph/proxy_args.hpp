// The predefined proxy build args: the one rule for the planner, the RUN
// environment and cache keys.
//
// As BuildKit (dockerfile2llb proxyEnvFromBuildArgs, llbsolver exec
// proxyEnvList): a --build-arg whose name equals http_proxy, https_proxy,
// ftp_proxy, no_proxy or all_proxy ignoring case is a proxy setting. Without an
// ARG declaring it, it still reaches every RUN process, under both spellings
// (HTTP_PROXY=v and http_proxy=v), and is left out of the step's cache key and
// history: it describes the network route, not the result.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mkimage::graph {

// True when `name` is one of the five proxy args, in any case ("Http_Proxy" too).
bool is_proxy_arg(std::string_view name);

// The RUN environment entries "NAME=VALUE" the proxy build args give: for each
// of the five kinds with a non-empty value, the upper- then the lower-case
// name. When several spellings of one kind are given, the last in byte order
// of their names wins (BuildKit iterates the sorted keys).
std::vector<std::string> proxy_env(const std::map<std::string, std::string>& build_args);

}  // namespace mkimage::graph
