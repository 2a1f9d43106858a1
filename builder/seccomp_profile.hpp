// The seccomp filter of RUN steps: the standard container seccomp profile
// (the one docker and podman apply by default; Debian ships podman's copy as
// /usr/share/containers/seccomp.json in golang-github-containers-common),
// converted into the OCI runtime-spec `linux.seccomp` object runc applies
// (runtime-spec config-linux.md "Seccomp").
//
// The profile format (containers/common pkg/seccomp, moby profiles/seccomp):
//   {"defaultAction", "defaultErrnoRet", "archMap": [{"architecture",
//    "subArchitectures"}], "syscalls": [{"names", "action", "errnoRet",
//    "args", "includes": {"caps", "arches", "minKernel"}, "excludes": {...}}]}
// A rule applies when every capability in includes.caps is in the container's
// set, the host architecture (Go name: amd64, arm64, ...) is in
// includes.arches (when given), the kernel is at least includes.minKernel
// (when given), no capability of excludes.caps is in the set and the host
// architecture is not in excludes.arches. `architectures` is the archMap
// entry of the host architecture with its sub-architectures.
//
// User namespaces. podman's copy of the profile allows clone, clone3 and
// unshare without conditions (rootless podman nests containers); docker's
// blocks namespace creation without CAP_SYS_ADMIN. RUN steps follow docker:
// without CAP_SYS_ADMIN in the set, the rules for these syscalls are replaced
// by docker's — clone only without namespace flags (CLONE_NEWNS|NEWCGROUP|
// NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET, masked to 0), clone3 fails with ENOSYS
// (so the C library falls back to clone), unshare fails with EPERM — and the
// kernel keyring calls docker blocks (keyctl, add_key, request_key) fail with
// EPERM.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

// Where Debian's package golang-github-containers-common puts the profile;
// MKIMAGE_SECCOMP_PROFILE (environment) names another file.
inline constexpr const char* k_seccomp_profile_path = "/usr/share/containers/seccomp.json";
inline constexpr const char* k_seccomp_profile_package = "golang-github-containers-common";

// What the conversion depends on besides the profile.
struct SeccompTarget {
  std::string arch;                        // Go architecture name: amd64, arm64, s390x, ...
  std::string kernel;                      // kernel release ("6.1.0-13-amd64"), for minKernel
  std::vector<std::string> capabilities;   // the container's capability set (CAP_*)
};

// The host's architecture and kernel release (uname), with `capabilities`.
SeccompTarget host_seccomp_target(std::vector<std::string> capabilities);

// Converts `profile` (the format above) into the OCI `linux.seccomp` object for
// `target`: defaultAction, defaultErrnoRet, architectures, and syscalls with
// names, action, errnoRet and args (index, value, valueTwo, op).
// Errors: not an object, a missing/invalid defaultAction, a syscall rule
// without names or action, an invalid minKernel ("… in the seccomp profile").
util::Result<nlohmann::json> seccomp_to_oci(const nlohmann::json& profile, const SeccompTarget& target);

// The profile file (MKIMAGE_SECCOMP_PROFILE or k_seccomp_profile_path) read,
// parsed and converted for the host with `capabilities`; read once per
// process and path. Errors: the file is missing ("seccomp profile PATH not
// found: install the package golang-github-containers-common"), unreadable
// or invalid (naming the file).
util::Result<nlohmann::json> default_seccomp(const std::vector<std::string>& capabilities);

}  // namespace mkimage::builder
