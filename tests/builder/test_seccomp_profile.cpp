// builder/seccomp_profile.hpp: the container seccomp profile in runtime-spec form.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

#include "builder/seccomp_profile.hpp"

using namespace mkimage::builder;
using nlohmann::json;

namespace {

// A small profile in the containers/common format, with every selector.
const json k_profile = json::parse(R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 38,
  "archMap": [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
  ],
  "syscalls": [
    {"names": ["read", "write", "clone", "clone3", "unshare", "keyctl"], "action": "SCMP_ACT_ALLOW", "args": [],
     "comment": "", "includes": {}, "excludes": {}},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
    {"names": ["cacheflush"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
    {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
    {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_CHROOT"]}},
    {"names": ["bpf", "setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["bpf", "setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}
  ]
})");

SeccompTarget amd64(std::vector<std::string> caps, std::string kernel = "6.1.0-13-amd64") {
  return SeccompTarget{"amd64", std::move(kernel), std::move(caps)};
}

// The action each syscall name gets (names with conditions: the last rule).
std::map<std::string, json> by_name(const json& oci) {
  std::map<std::string, json> m;
  for (const auto& r : oci["syscalls"])
    for (const auto& n : r["names"]) m[n.get<std::string>()] = r;
  return m;
}

int rules_naming(const json& oci, const std::string& name) {
  int count = 0;
  for (const auto& r : oci["syscalls"])
    for (const auto& n : r["names"]) count += n == name;
  return count;
}

}  // namespace

TEST_CASE("seccomp: default action, errno and the host's architectures") {
  auto oci = seccomp_to_oci(k_profile, amd64({"CAP_SYS_CHROOT"}));
  REQUIRE(oci.ok());
  CHECK((*oci)["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK((*oci)["defaultErrnoRet"] == 38);
  // x32 left out on purpose (builder/seccomp_profile.cpp): its syscalls are refused
  CHECK((*oci)["architectures"] == json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  auto arm = seccomp_to_oci(k_profile, SeccompTarget{"arm64", "6.1", {}});
  REQUIRE(arm.ok());
  CHECK((*arm)["architectures"] == json({"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  // only runtime-spec fields are written
  for (const auto& r : (*oci)["syscalls"])
    for (const auto& [k, v] : r.items()) CHECK(std::set<std::string>{"names", "action", "errnoRet", "args"}.count(k) == 1);
}

TEST_CASE("seccomp: includes and excludes by capability, architecture and kernel") {
  auto oci = seccomp_to_oci(k_profile, amd64({"CAP_SYS_CHROOT", "CAP_KILL"}));
  REQUIRE(oci.ok());
  auto m = by_name(*oci);
  CHECK(m["chroot"]["action"] == "SCMP_ACT_ALLOW");  // the cap is in the set
  CHECK(rules_naming(*oci, "chroot") == 1);           // and the exclude rule is not taken
  CHECK(m["bpf"]["action"] == "SCMP_ACT_ERRNO");      // no CAP_SYS_ADMIN
  CHECK(m["bpf"]["errnoRet"] == 1);
  CHECK(m.count("arch_prctl") == 1);   // amd64 is included
  CHECK(m.count("cacheflush") == 0);   // arm64 only
  CHECK(m.count("modify_ldt") == 0);   // amd64 excluded
  CHECK(m.count("ptrace") == 1);       // 6.1 >= 4.8
  CHECK(m["personality"]["args"] == json::parse(R"([{"index":0,"value":8,"valueTwo":0,"op":"SCMP_CMP_EQ"}])"));

  auto old_kernel = seccomp_to_oci(k_profile, amd64({}, "4.4.0"));
  REQUIRE(old_kernel.ok());
  CHECK(by_name(*old_kernel).count("ptrace") == 0);
  CHECK(by_name(*old_kernel)["chroot"]["action"] == "SCMP_ACT_ERRNO");  // no CAP_SYS_CHROOT
}

TEST_CASE("seccomp: docker's rules against namespace creation without CAP_SYS_ADMIN") {
  auto oci = seccomp_to_oci(k_profile, amd64({"CAP_CHOWN"}));
  REQUIRE(oci.ok());
  auto m = by_name(*oci);
  // the unconditional allow of clone/clone3/unshare/keyctl is gone, docker's rules replace it
  CHECK(rules_naming(*oci, "clone") == 1);
  CHECK(m["clone"]["action"] == "SCMP_ACT_ALLOW");
  CHECK(m["clone"]["args"] ==
        json::parse(R"([{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}])"));
  CHECK(m["clone3"]["action"] == "SCMP_ACT_ERRNO");
  CHECK(m["clone3"]["errnoRet"] == 38);
  CHECK(m["unshare"]["action"] == "SCMP_ACT_ERRNO");
  CHECK(m["unshare"]["errnoRet"] == 1);
  CHECK(m["keyctl"]["action"] == "SCMP_ACT_ERRNO");
  CHECK(rules_naming(*oci, "unshare") == 1);
  CHECK(m["read"]["action"] == "SCMP_ACT_ALLOW");  // the rest of that rule stays

  auto s390 = seccomp_to_oci(k_profile, SeccompTarget{"s390x", "6.1", {}});
  REQUIRE(s390.ok());
  CHECK(by_name(*s390)["clone"]["args"][0]["index"] == 1);

  // with CAP_SYS_ADMIN the profile's own rules stand
  auto admin = seccomp_to_oci(k_profile, amd64({"CAP_SYS_ADMIN"}));
  REQUIRE(admin.ok());
  CHECK(!by_name(*admin)["unshare"].contains("args"));
  CHECK(by_name(*admin)["unshare"]["action"] == "SCMP_ACT_ALLOW");
}

TEST_CASE("seccomp: invalid profiles are errors") {
  CHECK(!seccomp_to_oci(json::array(), amd64({})).ok());
  CHECK(!seccomp_to_oci(json::parse(R"({"syscalls": []})"), amd64({})).ok());
  auto no_action = seccomp_to_oci(json::parse(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]})"),
                                  amd64({}));
  REQUIRE(!no_action.ok());
  CHECK(no_action.error().message.find("without an action") != std::string::npos);
  auto bad_kernel = seccomp_to_oci(
      json::parse(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW",
                     "includes":{"minKernel":"four"}}]})"),
      amd64({}));
  REQUIRE(!bad_kernel.ok());
  CHECK(bad_kernel.error().message.find("minKernel") != std::string::npos);
}

TEST_CASE("seccomp: a missing profile file is one error naming the file and the package") {
  const char* old = std::getenv("MKIMAGE_SECCOMP_PROFILE");
  std::string saved = old ? old : "";
  ::setenv("MKIMAGE_SECCOMP_PROFILE", "/nonexistent/seccomp.json", 1);
  auto r = default_seccomp({"CAP_CHOWN"});
  if (old) ::setenv("MKIMAGE_SECCOMP_PROFILE", saved.c_str(), 1);
  else ::unsetenv("MKIMAGE_SECCOMP_PROFILE");
  REQUIRE(!r.ok());
  CHECK(r.error().message.find("/nonexistent/seccomp.json") != std::string::npos);
  CHECK(r.error().message.find("golang-github-containers-common") != std::string::npos);
}

TEST_CASE("seccomp: a profile file is read and converted for the host") {
  auto dir = std::filesystem::temp_directory_path() / ("mkimage-seccomp-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "p.json") << k_profile.dump();
  }
  ::setenv("MKIMAGE_SECCOMP_PROFILE", (dir / "p.json").c_str(), 1);
  auto r = default_seccomp({"CAP_CHOWN"});
  ::unsetenv("MKIMAGE_SECCOMP_PROFILE");
  std::filesystem::remove_all(dir);
  REQUIRE(r.ok());
  CHECK((*r)["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK(by_name(*r)["unshare"]["errnoRet"] == 1);
}
