// builder/runtime.hpp + builder/snapshotter.hpp together: RUN a busybox
// command with runc in an overlay over a busybox snapshot dir.
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include "builder/container.hpp"
#include "builder/interrupt.hpp"
#include "builder/run_mounts.hpp"
#include "exec_fixture.hpp"

using namespace mkimage::builder;
using namespace exec_test;

namespace {

ContainerSpec sh(const fs::path& rootfs, const std::string& script) {
  ContainerSpec spec;
  spec.rootfs = rootfs;
  spec.process.args = {"/bin/sh", "-c", script};
  return spec;
}

}  // namespace

TEST_CASE("runtime config.json has the default namespaces, mounts and process") {
  ContainerSpec spec;
  spec.rootfs = "/some/rootfs";
  spec.process.args = {"/bin/true"};
  spec.process.env = {"A=1"};
  spec.process.uid = 5;
  spec.process.gid = 6;
  spec.process.additional_gids = {7};
  spec.network = NetworkMode::none;
  auto j = nlohmann::json::parse(make_runtime_config(spec, "/bundle"));
  CHECK(j["root"]["path"] == "/some/rootfs");
  CHECK(j["process"]["user"]["uid"] == 5);
  CHECK(j["process"]["user"]["additionalGids"][0] == 7);
  CHECK(j["process"]["env"][0].get<std::string>().rfind("PATH=", 0) == 0);
  CHECK(j["process"]["noNewPrivileges"] == false);
  CHECK(j["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE");
  std::vector<std::string> ns;
  for (auto& n : j["linux"]["namespaces"]) ns.push_back(n["type"]);
  CHECK(ns == std::vector<std::string>{"pid", "ipc", "uts", "mount", "network"});
  std::vector<std::string> dests;
  for (auto& m : j["mounts"]) dests.push_back(m["destination"]);
  CHECK(dests == default_mount_destinations());
  CHECK(j["mounts"][7]["source"] == "/bundle/hosts");

  spec.network = NetworkMode::host;
  j = nlohmann::json::parse(make_runtime_config(spec, "/bundle"));
  CHECK(j["linux"]["namespaces"].size() == 4);
  CHECK(parse_network_mode("default").value() == NetworkMode::isolated);
  CHECK(parse_network_mode("bridge").value() == NetworkMode::isolated);
  CHECK(parse_network_mode("").value() == NetworkMode::isolated);
  CHECK(parse_network_mode("host").value() == NetworkMode::host);
  CHECK(parse_network_mode("none").value() == NetworkMode::none);
  CHECK(parse_network_mode("private").value() == NetworkMode::private_);
  CHECK(!parse_network_mode("nat").ok());
}

TEST_CASE("runtime config.json: seccomp, noNewPrivileges, insecure, a network namespace path") {
  ContainerSpec spec;
  spec.rootfs = "/some/rootfs";
  spec.process.args = {"/bin/true"};
  spec.no_new_privileges = true;
  auto j = nlohmann::json::parse(make_runtime_config(spec, "/bundle", R"({"defaultAction":"SCMP_ACT_ERRNO"})"));
  CHECK(j["process"]["noNewPrivileges"] == true);
  CHECK(j["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK(j["process"]["capabilities"]["bounding"].size() == default_capabilities().size());
  CHECK(j["linux"]["maskedPaths"].size() == 10);

  spec.network = NetworkMode::isolated;
  spec.netns_path = "/run/user/0/netns/x";
  j = nlohmann::json::parse(make_runtime_config(spec, "/bundle"));
  CHECK(j["linux"]["namespaces"].back() == nlohmann::json{{"type", "network"}, {"path", "/run/user/0/netns/x"}});
  CHECK(!j["linux"].contains("seccomp"));

  spec.insecure = true;
  j = nlohmann::json::parse(make_runtime_config(spec, "/bundle"));
  CHECK(j["process"]["noNewPrivileges"] == false);
  CHECK(j["process"]["capabilities"]["effective"].size() > default_capabilities().size());
  CHECK(!j["linux"].contains("maskedPaths"));
  CHECK(!j["linux"].contains("readonlyPaths"));
}

PRIVILEGED_TEST_CASE("RUN in an overlay: output, exit code, env, cwd, user, network none") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_busybox_lower(t / "lower");
  Snapshotter snapshotter(t / "active");
  auto snap = snapshotter.prepare({t / "lower"});
  REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));

  SUBCASE("stdout, stderr and the exit code pass through") {
    auto r = run_in(sh((*snap)->rootfs(), "echo hello; echo oops >&2; exit 3"), t / "bundle");
    CHECK(r.code == 3);
    CHECK(r.out == "hello\n");
    CHECK(r.err == "oops\n");
  }
  SUBCASE("a container killed by a signal reports 128+N") {
    Runtime runtime(RuntimeOptions{"runc", "/run/mkimage-test/runc"});
    std::string id = new_container_id();
    RunIo io;
    io.on_output = [](std::string_view, bool) {};
    int code = -1;
    std::thread th([&] {
      auto r = runtime.run(sh((*snap)->rootfs(), "sleep 100"), t / "bundle", io, id);
      code = r.ok() ? *r : -2;
      if (!r.ok()) MESSAGE(r.error().message);
    });
    // Killed once `sleep` runs (a kill while runc still starts the container
    // is another case: runc then reports "container process is already dead").
    auto sleeping = [&] {
      auto pid = runtime.init_pid(id);
      if (!pid) return false;
      std::ifstream comm("/proc/" + std::to_string(*pid) + "/comm");
      std::string name;
      std::getline(comm, name);
      return name == "sleep";
    };
    for (int i = 0; i < 200 && !sleeping(); ++i) usleep(25000);
    CHECK(runtime.kill(id, SIGKILL).ok());
    th.join();
    CHECK(code == 137);
    CHECK(!runtime.exists(id));
  }
  SUBCASE("env, cwd, uid/gid/additional gids, hostname") {
    auto spec = sh((*snap)->rootfs(), "echo $FOO; pwd; id -u; id -g; id -G; hostname; cat /etc/hosts");
    spec.process.env = {"FOO=bar baz"};
    spec.process.cwd = "/tmp";
    spec.process.uid = 1000;
    spec.process.gid = 1000;
    spec.process.additional_gids = {27};
    auto r = run_in(spec, t / "bundle");
    CHECK(r.code == 0);
    CHECK(r.out.rfind("bar baz\n/tmp\n1000\n1000\n1000 27\nbuildkitsandbox\n127.0.0.1\tlocalhost buildkitsandbox\n", 0) == 0);
  }
  SUBCASE("network none has only loopback, up") {
    auto spec = sh((*snap)->rootfs(), "ls /sys/class/net; cat /sys/class/net/lo/operstate; ip -4 addr show lo | grep -c 127.0.0.1");
    spec.network = NetworkMode::none;
    auto r = run_in(spec, t / "bundle");
    CHECK(r.code == 0);
    CHECK(r.out == "lo\nunknown\n1\n");
  }
  SUBCASE("network host sees the host's interfaces") {
    auto spec = sh((*snap)->rootfs(), "ls /sys/class/net | wc -l");
    auto r = run_in(spec, t / "bundle");
    CHECK(r.code == 0);
    CHECK(std::stoi(r.out) >= 1);
  }
  SUBCASE("resolv.conf is the host's") {
    auto r = run_in(sh((*snap)->rootfs(), "cat /etc/resolv.conf"), t / "bundle");
    CHECK(r.out == read_file("/etc/resolv.conf"));
  }
  SUBCASE("the default devices exist") {
    auto r = run_in(sh((*snap)->rootfs(), "for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done; "
                                          "test -d /dev/pts && test -d /dev/shm && test -d /dev/mqueue && echo ok; "
                                          "touch /sys/x 2>/dev/null || echo sys-ro"),
                    t / "bundle");
    CHECK(r.out == "ok\nsys-ro\n");
  }
  (void)(*snap)->finish();
}

PRIVILEGED_TEST_CASE("RUN writes land in the upperdir; runtime mount points do not") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_busybox_lower(t / "lower");
  fs::create_directories(t / "lower/etc/keep");
  write_file(t / "lower/etc/old.conf", "old\n");
  Snapshotter snapshotter(t / "active");
  auto snap = snapshotter.prepare({t / "lower"});
  REQUIRE(snap.ok());
  auto spec = sh((*snap)->rootfs(), "echo new > /new.txt && rm /etc/old.conf && rm /bin/cat && mkdir -p /opt/x && echo y > /opt/x/y");
  std::vector<std::string> dests = default_mount_destinations();
  (*snap)->record_mount_points(dests);
  auto r = run_in(spec, t / "bundle");
  REQUIRE(r.code == 0);
  fs::path dir = (*snap)->dir();
  auto upper = (*snap)->finish();
  REQUIRE(upper.ok());
  CHECK(!has_mount_under(dir));
  CHECK(read_file(*upper / "new.txt") == "new\n");
  CHECK(read_file(*upper / "opt/x/y") == "y\n");
  CHECK(is_whiteout(*upper / "etc/old.conf"));
  CHECK(is_whiteout(*upper / "bin/cat"));
  for (const char* p : {"proc", "dev", "sys", "etc/hosts", "etc/resolv.conf"}) {
    INFO(p);
    CHECK(!lexists(*upper / p));
  }
  // created by the runtime: /proc /dev /sys, and /etc/hosts /etc/resolv.conf
  const auto& created = (*snap)->runtime_created();
  CHECK(std::find(created.begin(), created.end(), "/proc") != created.end());
  CHECK(std::find(created.begin(), created.end(), "/etc/hosts") != created.end());
  CHECK(std::find(created.begin(), created.end(), "/etc") == created.end());
}

PRIVILEGED_TEST_CASE("on a scratch rootfs the runtime's /etc and mount points are removed") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_busybox_lower(t / "bb");
  Snapshotter snapshotter(t / "active");
  // Scratch: no lowers; busybox comes in through a read-only bind mount.
  auto snap = snapshotter.prepare({});
  REQUIRE(snap.ok());
  ContainerSpec spec;
  spec.rootfs = (*snap)->rootfs();
  spec.process.args = {"/bb/bin/busybox", "sh", "-c", "/bb/bin/busybox echo hi > /hi"};
  spec.mounts.push_back({"/bb", "bind", (t / "bb").string(), {"rbind", "ro"}});
  auto dests = default_mount_destinations();
  dests.push_back("/bb");
  (*snap)->record_mount_points(dests);
  auto r = run_in(spec, t / "bundle");
  CHECK(r.code == 0);
  auto upper = (*snap)->finish();
  REQUIRE(upper.ok());
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(*upper)) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"hi"});
}

PRIVILEGED_TEST_CASE("RUN --mount: cache persists, secret never in the upperdir, tmpfs, bind") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_busybox_lower(t / "lower");
  write_file(t / "secret.txt", "s3cr3t");
  write_file(t / "ctx/data/file.txt", "from context\n");
  Snapshotter snapshotter(t / "active");
  RunMountContext ctx;
  ctx.cache_root = t / "cache-mounts";
  ctx.secrets["tok"] = SecretSource{t / "secret.txt", ""};
  ctx.resolve_from = [&](const std::string& from) -> mkimage::util::Result<std::vector<fs::path>> {
    if (from.empty()) return std::vector<fs::path>{t / "ctx"};
    return mkimage::util::Error{"unknown stage " + from};
  };

  auto run_with = [&](const std::vector<RunMountSpec>& specs, const std::string& script, fs::path* upper_out = nullptr) {
    auto snap = snapshotter.prepare({t / "lower"});
    REQUIRE(snap.ok());
    ctx.scratch_dir = t / "scratch";
    auto mounts = prepare_run_mounts(specs, ctx);
    REQUIRE_MESSAGE(mounts.ok(), (mounts.ok() ? "" : mounts.error().message));
    auto spec = sh((*snap)->rootfs(), script);
    spec.mounts = mounts->mounts;
    spec.process.env = mounts->env;
    auto dests = default_mount_destinations();
    for (auto& m : spec.mounts) dests.push_back(m.destination);
    (*snap)->record_mount_points(dests);
    auto r = run_in(spec, t / "bundle");
    auto upper = (*snap)->finish();
    REQUIRE(upper.ok());
    if (upper_out) {
      fs::create_directories(t / "uppers");
      *upper_out = t / "uppers" / std::to_string(std::rand());
      fs::rename(*upper, *upper_out);
    }
    return r;
  };

  RunMountSpec cache;
  cache.type = RunMountSpec::Type::cache;
  cache.target = "/var/cache/app";
  cache.sharing = RunMountSpec::Sharing::locked;
  fs::path upper;
  auto r1 = run_with({cache}, "echo one > /var/cache/app/x; echo done", &upper);
  CHECK(r1.out == "done\n");
  CHECK(!lexists(upper / "var"));
  auto r2 = run_with({cache}, "cat /var/cache/app/x");
  CHECK(r2.out == "one\n");
  CHECK(read_file(cache_mount_dir(ctx.cache_root, "/var/cache/app") / "data/x") == "one\n");

  RunMountSpec secret;
  secret.type = RunMountSpec::Type::secret;
  secret.id = "tok";
  auto r3 = run_with({secret}, "cat /run/secrets/tok; echo; stat -c %a /run/secrets/tok; echo hi > /run/secrets/tok 2>/dev/null || echo ro",
                     &upper);
  CHECK(r3.out == "s3cr3t\n400\nro\n");
  CHECK(!lexists(upper / "run"));
  CHECK(!fs::exists(t / "scratch/m1"));  // the temp copy of the secret is gone

  RunMountSpec secret_env = secret;
  secret_env.env = "TOKEN";
  auto r4 = run_with({secret_env}, "echo $TOKEN; ls /run 2>&1 | head -1");
  CHECK(r4.out.rfind("s3cr3t\n", 0) == 0);

  RunMountSpec missing;
  missing.type = RunMountSpec::Type::secret;
  missing.id = "nope";
  missing.required = true;
  ctx.scratch_dir = t / "scratch";
  CHECK(!prepare_run_mounts({missing}, ctx).ok());

  RunMountSpec tmpfs;
  tmpfs.type = RunMountSpec::Type::tmpfs;
  tmpfs.target = "/scratch";
  auto r5 = run_with({tmpfs}, "echo x > /scratch/f && grep -c ' /scratch tmpfs' /proc/mounts", &upper);
  CHECK(r5.out == "1\n");
  CHECK(!lexists(upper / "scratch"));

  RunMountSpec bind;
  bind.type = RunMountSpec::Type::bind;
  bind.target = "/src";
  bind.source = "data";
  auto r6 = run_with({bind}, "cat /src/file.txt; echo x > /src/new 2>/dev/null || echo ro");
  CHECK(r6.out == "from context\nro\n");
  bind.rw = true;
  auto r7 = run_with({bind}, "echo x > /src/new && cat /src/new");
  CHECK(r7.out == "x\n");
  CHECK(!fs::exists(t / "ctx/data/new"));  // rw writes are discarded
  bind.source = "../../etc";
  ctx.scratch_dir = t / "scratch";
  CHECK(!prepare_run_mounts({bind}, ctx).ok());
  CHECK(!has_mount_under(t.path()));
}

TEST_CASE("RUN --mount=type=bind source: symlinks resolved inside the stage, never on the host") {
  // A stage with one lower dir: nothing is mounted, the source is a path in it.
  TempDir t;
  fs::path tree = t / "stage";
  write_file(tree / "img-tmp/f", "f\n");
  fs::create_symlink("/img-tmp", tree / "canary");             // absolute: relative to the stage root
  fs::create_symlink("../../../../img-tmp", tree / "up");      // ".." stops at the stage root
  fs::create_symlink("/etc", tree / "hostetc");                // /etc exists on the host, not in the stage
  RunMountContext ctx;
  ctx.cache_root = t / "cache-mounts";
  ctx.scratch_dir = t / "scratch";
  ctx.resolve_from = [&](const std::string&) -> mkimage::util::Result<std::vector<fs::path>> {
    return std::vector<fs::path>{tree};
  };
  RunMountSpec bind;
  bind.type = RunMountSpec::Type::bind;
  bind.from = "base";
  bind.target = "/m";
  for (const char* source : {"/canary", "up", "/canary/../canary/"}) {
    bind.source = source;
    auto m = prepare_run_mounts({bind}, ctx);
    std::string why = std::string(source) + ": " + (m.ok() ? std::string() : m.error().message);
    REQUIRE_MESSAGE(m.ok(), why);
    REQUIRE(m->mounts.size() == 1);
    CHECK(m->mounts[0].source == (tree / "img-tmp").string());
  }
  bind.source = "/hostetc";
  auto m = prepare_run_mounts({bind}, ctx);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message.find("\"hostetc\" not found") != std::string::npos);
  CHECK(m.error().message.find(t.path().string()) == std::string::npos);  // no host path
}

PRIVILEGED_TEST_CASE("an interrupted run leaves no mount, container or temp dir") {
  EXEC_TEST_REQUIRE_PRIVILEGES();
  TempDir t;
  make_busybox_lower(t / "lower");
  std::string id = new_container_id();
  Runtime runtime(RuntimeOptions{"runc", "/run/mkimage-test/runc"});
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(ready[0]);
    install_interrupt_handlers();
    Snapshotter snapshotter(t / "active");
    auto snap = snapshotter.prepare({t / "lower"});
    if (!snap.ok()) _exit(90);
    RunIo io;
    io.on_output = [](std::string_view, bool) {};
    auto spec = sh((*snap)->rootfs(), "sleep 100");
    auto r = runtime.run(spec, t / "bundle", io, id, [&](int) { (void)!write(ready[1], "x", 1); });
    _exit(r.ok() ? 91 : 92);
  }
  close(ready[1]);
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  // Wait until the container process really runs.
  for (int i = 0; i < 100 && !runtime.exists(id); ++i) usleep(50000);
  CHECK(runtime.exists(id));
  CHECK(has_mount_under(t / "active"));
  kill(child, SIGINT);
  int st = 0;
  waitpid(child, &st, 0);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 128 + SIGINT);
  CHECK(!runtime.exists(id));
  CHECK(!has_mount_under(t / "active"));
  CHECK(fs::is_empty(t / "active"));
}

TEST_CASE("container names follow docker's rule") {
  using mkimage::builder::valid_container_name;
  CHECK(valid_container_name("web"));
  CHECK(valid_container_name("a1"));
  CHECK(valid_container_name("my_app.v2-x"));
  CHECK_FALSE(valid_container_name(""));
  CHECK_FALSE(valid_container_name("a"));  // docker needs two characters
  CHECK_FALSE(valid_container_name("-web"));
  CHECK_FALSE(valid_container_name("_web"));
  CHECK_FALSE(valid_container_name("bad/name"));
  CHECK_FALSE(valid_container_name("sp ace"));
}
