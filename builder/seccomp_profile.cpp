// Conversion of the container seccomp profile into runtime-spec form
// (builder/seccomp_profile.hpp).
#include "builder/seccomp_profile.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

namespace mkimage::builder {
using nlohmann::json;
using util::Error;
using util::Result;

namespace {

// Go architecture name → libseccomp architecture (the profile's archMap keys).
std::string scmp_arch(const std::string& go_arch) {
  static const std::map<std::string, std::string> k = {
      {"amd64", "SCMP_ARCH_X86_64"},   {"386", "SCMP_ARCH_X86"},       {"arm64", "SCMP_ARCH_AARCH64"},
      {"arm", "SCMP_ARCH_ARM"},        {"ppc64le", "SCMP_ARCH_PPC64LE"}, {"s390x", "SCMP_ARCH_S390X"},
      {"riscv64", "SCMP_ARCH_RISCV64"}, {"mips64", "SCMP_ARCH_MIPS64"}, {"mips64le", "SCMP_ARCH_MIPSEL64"}};
  auto it = k.find(go_arch);
  return it == k.end() ? "" : it->second;
}

std::string go_arch_of(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine.rfind("armv", 0) == 0) return "arm";
  if (machine == "i386" || machine == "i686") return "386";
  return machine;  // ppc64le, s390x, riscv64, mips64 spell the same
}

// "major.minor[.patch][-extra]" → {major, minor}; nullopt when unparsable.
std::optional<std::pair<int, int>> kernel_version(const std::string& text) {
  int major = 0, minor = 0;
  std::size_t i = 0;
  auto number = [&](int& out) {
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 6) out = out * 10 + (text[i++] - '0');
    return i > start;
  };
  if (!number(major)) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!number(minor)) return std::nullopt;
  }
  return std::make_pair(major, minor);
}

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return out;
  for (const auto& v : j[key])
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Whether a rule's includes/excludes select it for `t`.
Result<bool> rule_applies(const json& rule, const SeccompTarget& t) {
  const json inc = rule.value("includes", json::object());
  const json exc = rule.value("excludes", json::object());
  for (const auto& c : strings_of(inc, "caps"))
    if (!has(t.capabilities, c)) return false;
  auto arches = strings_of(inc, "arches");
  if (!arches.empty() && !has(arches, t.arch)) return false;
  if (inc.is_object() && inc.contains("minKernel") && inc["minKernel"].is_string() &&
      !inc["minKernel"].get<std::string>().empty()) {
    auto want = kernel_version(inc["minKernel"].get<std::string>());
    if (!want) return Error{"invalid minKernel \"" + inc["minKernel"].get<std::string>() + "\" in the seccomp profile"};
    auto have = kernel_version(t.kernel);
    if (!have || *have < *want) return false;
  }
  for (const auto& c : strings_of(exc, "caps"))
    if (has(t.capabilities, c)) return false;
  if (has(strings_of(exc, "arches"), t.arch)) return false;
  return true;
}

// docker's rules for the syscalls that create namespaces or use the kernel
// keyring, for a container without CAP_SYS_ADMIN (see the header).
const std::set<std::string> k_docker_overrides = {"clone", "clone3", "unshare", "keyctl", "add_key", "request_key"};

std::vector<json> docker_namespace_rules(const SeccompTarget& t) {
  constexpr std::uint64_t k_clone_namespace_flags = 0x7E020000;  // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
  int flags_arg = (t.arch == "s390x" || t.arch == "s390") ? 1 : 0;  // clone(stack, flags, ...) there
  return {
      json{{"names", {"clone"}},
           {"action", "SCMP_ACT_ALLOW"},
           {"args", json::array({{{"index", flags_arg}, {"value", k_clone_namespace_flags}, {"valueTwo", 0},
                                  {"op", "SCMP_CMP_MASKED_EQ"}}})}},
      json{{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}},  // ENOSYS: fall back to clone
      json{{"names", {"unshare", "keyctl", "add_key", "request_key"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}},
  };
}

Result<json> convert_rule(const json& rule, bool docker_overrides) {
  if (!rule.is_object() || !rule.contains("action") || !rule["action"].is_string())
    return Error{"a syscall rule without an action in the seccomp profile"};
  std::vector<std::string> names = strings_of(rule, "names");
  if (rule.contains("name") && rule["name"].is_string()) names.push_back(rule["name"].get<std::string>());
  if (names.empty()) return Error{"a syscall rule without names in the seccomp profile"};
  if (docker_overrides)
    std::erase_if(names, [](const std::string& n) { return k_docker_overrides.count(n) > 0; });
  if (names.empty()) return json();  // only overridden names: dropped
  json out = {{"names", names}, {"action", rule["action"]}};
  if (rule.contains("errnoRet") && rule["errnoRet"].is_number_unsigned()) out["errnoRet"] = rule["errnoRet"];
  if (rule.contains("args") && rule["args"].is_array() && !rule["args"].empty()) {
    json args = json::array();
    for (const auto& a : rule["args"]) {
      if (!a.is_object() || !a.contains("index") || !a.contains("op"))
        return Error{"a syscall argument without index or op in the seccomp profile"};
      args.push_back({{"index", a["index"]}, {"value", a.value("value", std::uint64_t{0})},
                      {"valueTwo", a.value("valueTwo", std::uint64_t{0})}, {"op", a["op"]}});
    }
    out["args"] = args;
  }
  return out;
}

json architectures_for(const json& profile, const std::string& go_arch) {
  std::string native = scmp_arch(go_arch);
  json out = json::array();
  if (native.empty()) return out;
  out.push_back(native);
  if (profile.contains("archMap") && profile["archMap"].is_array())
    for (const auto& m : profile["archMap"])
      if (m.is_object() && m.value("architecture", "") == native)
        for (const auto& sub : strings_of(m, "subArchitectures"))
          // x32 is left out (its syscalls are refused): distribution kernels
          // disable or omit the x32 ABI, and with it in the filter runc's
          // libseccomp spends ~15 ms more CPU on every container it starts
          // (docs/design/sandbox.md).
          if (sub != "SCMP_ARCH_X32") out.push_back(sub);
  return out;
}

}  // namespace

SeccompTarget host_seccomp_target(std::vector<std::string> capabilities) {
  SeccompTarget t;
  struct utsname u {};
  if (uname(&u) == 0) {
    t.arch = go_arch_of(u.machine);
    t.kernel = u.release;
  }
  t.capabilities = std::move(capabilities);
  return t;
}

Result<json> seccomp_to_oci(const json& profile, const SeccompTarget& target) {
  if (!profile.is_object()) return Error{"the seccomp profile is not a JSON object"};
  if (!profile.contains("defaultAction") || !profile["defaultAction"].is_string())
    return Error{"the seccomp profile has no defaultAction"};
  json out = {{"defaultAction", profile["defaultAction"]}};
  if (profile.contains("defaultErrnoRet") && profile["defaultErrnoRet"].is_number_unsigned())
    out["defaultErrnoRet"] = profile["defaultErrnoRet"];
  out["architectures"] = architectures_for(profile, target.arch);
  const bool overrides = !has(target.capabilities, "CAP_SYS_ADMIN");
  json syscalls = json::array();
  if (profile.contains("syscalls") && profile["syscalls"].is_array()) {
    for (const auto& rule : profile["syscalls"]) {
      MKIMAGE_TRY(bool applies, rule_applies(rule, target));
      if (!applies) continue;
      MKIMAGE_TRY(json converted, convert_rule(rule, overrides));
      if (!converted.is_null()) syscalls.push_back(std::move(converted));
    }
  }
  if (overrides)
    for (auto& r : docker_namespace_rules(target)) syscalls.push_back(std::move(r));
  out["syscalls"] = syscalls;
  return out;
}

Result<json> default_seccomp(const std::vector<std::string>& capabilities) {
  const char* env = std::getenv("MKIMAGE_SECCOMP_PROFILE");
  const std::string path = env && *env ? env : k_seccomp_profile_path;
  static std::mutex mu;
  static std::map<std::pair<std::string, std::vector<std::string>>, json> cache;
  std::lock_guard lock(mu);
  auto key = std::make_pair(path, capabilities);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT)
      return Error{"seccomp profile " + path + " not found: install the package " + k_seccomp_profile_package +
                   " (RUN steps apply the standard container seccomp profile)"};
    return util::sys_error("read seccomp profile", path);
  }
  json profile = json::parse(in, nullptr, false);
  if (profile.is_discarded()) return Error{"seccomp profile " + path + ": invalid JSON"};
  auto converted = seccomp_to_oci(profile, host_seccomp_target(capabilities));
  if (!converted.ok()) return Error{"seccomp profile " + path + ": " + converted.error().message};
  cache.emplace(key, *converted);
  return *converted;
}

}  // namespace mkimage::builder
