// The build as a library call: `mkimage::build(request, sink)` runs a Dockerfile
// against a build context into the store (issue 4, "Command" and "Progress output").
// The `mkimage build` command is a thin wrapper over this header; tools that embed
// mkimage use it directly (tests/embed/ is such a program).
//
// Worked example:
//
//   mkimage::BuildRequest req;
//   req.context_dir = "app";
//   req.tags = {"goals:latest"};
//   mkimage::NullEventSink sink;               // or a sink that prints progress
//   auto res = mkimage::build(req, sink);
//   if (!res.ok()) { std::cerr << res.error().message << '\n'; return 1; }
//   std::cout << res->image_id.str() << '\n';  // the config digest
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mkimage/digest.hpp"
#include "mkimage/export.hpp"
#include "mkimage/result.hpp"

namespace mkimage {

// `--secret id=ID,src=PATH` or `--secret id=ID,env=VAR`: exactly one of src/env.
struct BuildSecret {
  std::string id;
  std::filesystem::path src;  // file whose bytes are the secret
  std::string env;            // environment variable of the building process
};

// `--output type=…,dest=…`. `image` (the default) stores the image (and tags it) only;
// the other types also write `dest`: `oci` = OCI image layout tar, `docker` =
// docker-archive tar (`docker load`), `tar` = the final rootfs as one tar,
// `local` = the final rootfs unpacked into directory `dest`. `dest` "-" = stdout
// for the tar types. `compression=gzip|zstd` sets the oci output's layer
// compression (BuildKit's exporter option), else BuildRequest::compression does.
enum class OutputType { image, oci, docker, tar, local };

// Layer compression for layers that leave the store (oci/docker/tar outputs).
enum class Compression { gzip, zstd };

struct OutputSpec {
  OutputType type = OutputType::image;
  std::string dest;
  std::optional<Compression> compression;  // `compression=`; nullopt = BuildRequest::compression
  std::vector<std::string> names;          // `name=` (type=image): more references to tag
  bool push = false;                       // `push=true` (type=image): push the names (or the -t tags)
};

// `--cache-to` / `--cache-from` (buildx's names; docs/remote-cache.md):
//   type=registry,ref=REF   an OCI registry holds the cache under tag REF
//   type=local,dest=DIR     (export) / type=local,src=DIR (import): an OCI image layout
//   type=inline             (export only) records in the pushed image's config;
//                           import them with type=registry,ref=IMAGE
// Export options: mode=min (the final image's steps; default) | max (every stage's
// steps), compression=gzip|zstd, ignore-error=true (a failed export is a warning),
// mounts=true (also the contents of RUN --mount=type=cache directories, each at
// most mounts-max-size bytes; default 512 MiB).
enum class CacheType { registry, local, inline_records };

struct CacheSpec {
  CacheType type = CacheType::registry;
  std::string ref;               // type=registry
  std::filesystem::path dir;     // type=local: dest= (export) or src= (import)
  bool mode_max = false;         // mode=max
  std::optional<Compression> compression;  // nullopt = gzip
  bool ignore_error = false;
  bool mounts = false;
  std::int64_t mounts_max_size = std::int64_t{512} << 20;  // bytes
};

// `--build-context NAME=VALUE` (buildx's flag): a named context. Dockerfile
// references whose name equals NAME use it instead of what they would name:
// `FROM NAME`, `COPY --from=NAME`, `RUN --mount from=NAME`, also in ONBUILD
// triggers; a stage `FROM … AS NAME` is replaced by it (its instructions are not
// run); an image reference is replaced when its normalised form is NAME
// (`docker.io/library/alpine:latest` and `alpine` both name "alpine").
// VALUE is one of:
//   DIR                    a directory (its own `.dockerignore` applies); as a
//                          base image it is an empty image holding DIR's files
//   docker-image://REF     an image (store, else pulled); `docker-image://scratch`
//                          is an empty image
//   oci-layout://PATH[:TAG][@DIGEST]  an image in an OCI image layout directory:
//                          the manifest DIGEST, else the index.json entry whose
//                          org.opencontainers.image.ref.name is TAG (default
//                          "latest"), else the layout's only manifest
// Cache keys follow content: a directory by the digests of the files used (as
// the main context), an image by its manifest digest (docs/cache-keys.md).
struct NamedContext {
  enum class Kind { directory, image, oci_layout };
  std::string name;              // normalised: "base", "alpine", "me/app:1.0" (":latest" dropped)
  Kind kind = Kind::directory;
  std::filesystem::path path;    // directory: the files; oci_layout: the layout directory
  std::string reference;         // image: the image reference ("scratch" = empty image)
  std::string tag;               // oci_layout: the index.json tag to look up ("" = "latest")
  std::string digest;            // oci_layout: "sha256:…" manifest (or index) digest, "" = by tag
};

// `--ssh ID[=PATH[,PATH…]]` (docker's flag): an SSH agent that
// `RUN --mount=type=ssh[,id=ID]` forwards into the step. No PATH (or ID
// "default" alone) = the agent at $SSH_AUTH_SOCK. PATH is one agent socket, or
// private key files: mkimage then starts an ssh-agent of its own holding them
// (ssh-agent, ssh-add) for the build and stops it when the build ends. The step
// sees a socket that answers only key listing and signing (never adds, removes
// or locks keys); the socket and the keys are never in a layer or a cache key.
struct SshSource {
  std::string id = "default";
  std::vector<std::filesystem::path> paths;  // empty = $SSH_AUTH_SOCK
};

struct BuildRequest {
  // Store root; "" = the default root (MKIMAGE_ROOT, /var/lib/mkimage as root, else
  // $XDG_DATA_HOME/mkimage).
  std::filesystem::path store_root;
  // The build context: a directory. (The CLI unpacks a `-` tar context to a temporary
  // directory first.)
  std::filesystem::path context_dir;
  // The Dockerfile: `dockerfile_bytes` when set, else the file `dockerfile_path`
  // (relative paths are taken from the current directory), else
  // `context_dir/Dockerfile`. `dockerfile_name` is the name shown in diagnostics and
  // used for `<name>.dockerignore` lookup.
  std::optional<std::string> dockerfile_bytes;
  std::filesystem::path dockerfile_path;
  // `--build-arg K=V` values, already resolved (`K` alone → the environment's value
  // by the caller; a K missing from the environment is left out).
  std::map<std::string, std::string> build_args;
  std::string target;                         // "" = the last stage
  std::vector<std::string> tags;              // `-t`, docker references
  std::map<std::string, std::string> labels;  // `--label`, added to the final config
  bool no_cache = false;
  // `--pull`: re-resolve every image tag at its registry even when the store has
  // it (a moved tag then misses the cache: keys use the manifest digest).
  // Images missing from the store are pulled either way.
  bool pull = false;
  // `--push`: after the build, push every `-t` tag to its registry (as
  // `--output type=image,push=true`). A failed push fails the build; the image
  // stays in the store.
  bool push = false;
  std::vector<std::string> no_cache_filter;   // stage names (or indexes) not to look up
  std::vector<BuildSecret> secrets;
  std::string network = "default";            // default | none | host
  // `--allow`: entitlements (buildx's names). "security.insecure" lets
  // `RUN --security=insecure` run unconfined (else the build fails with
  // "security.insecure is not allowed"); "network.host" is accepted (host
  // networking needs no entitlement here). Anything else is an error.
  std::vector<std::string> allow;
  std::string platform;                       // "" or "linux/amd64"; anything else is an error
  std::vector<OutputSpec> outputs;            // empty = {image}
  Compression compression = Compression::gzip;
  std::string runtime = "runc";               // OCI runtime binary (`--runtime`)
  bool explain_cache = false;                 // emit EventSink::explain for every key
  // SOURCE_DATE_EPOCH (epoch seconds): created times and layer mtime clamp.
  // nullopt = taken from build arg SOURCE_DATE_EPOCH if given, else unset.
  std::optional<std::int64_t> source_date_epoch;
  // Independent stages always run at once, each step as soon as its inputs are
  // ready. `jobs` bounds the CPU-bound work running at once (content hashing,
  // layer commits); 0 = the number of cores.
  unsigned jobs = 0;
  // RUN steps running at once (BuildKit's max-parallelism); 0 = the store
  // configuration's builder.max-parallelism, else four per core and at least 8.
  unsigned max_parallelism = 0;
  // `--cache-from` sources, all consulted (after the store's own cache); a source
  // that cannot be read is a warning. `--cache-to` targets, written after the outputs.
  std::vector<CacheSpec> cache_from;
  std::vector<CacheSpec> cache_to;
  // `--check`: evaluate the build checks (docs/checks.md) over every stage and
  // build nothing: build() returns the warnings in BuildResult::checks (no image).
  bool check = false;
  // `--build-context`: named contexts (a name given twice: the last one counts).
  // Loaded only when the build reaches a reference to them.
  std::vector<NamedContext> named_contexts;
  // `--ssh`: the SSH agents RUN --mount=type=ssh may use, by id (unique).
  std::vector<SshSource> ssh;
  // `--cache-max`: after the build, the cache GC frees least recently used
  // cache entries until the store's blobs and snapshots take at most this many
  // bytes (docs/cache.md). nullopt = the store's configuration (cache.max-size
  // in ROOT/config.json or /etc/mkimage/config.json); 0 = no bound.
  std::optional<std::int64_t> cache_max_size;
  // `--dry-run`: plan the build and compute every step's cache key, then report
  // through EventSink::step_predicted what each step would do (cached, miss,
  // would run) and stop: nothing executes, nothing is pulled, nothing is
  // written to the store (no layer, cache row, lease or history entry).
  // BuildResult::predictions holds the same (docs/dry-run.md).
  bool dry_run = false;
};

// One build-check warning: a rule of BuildKit's Dockerfile linter that fired
// (docs/checks.md). The checks run before every build (over the stages it
// builds; with BuildRequest::check, over all stages); `# check=skip=…;error=true`
// or the build arg BUILDKIT_DOCKERFILE_CHECK configure them.
struct CheckWarning {
  std::string rule;         // "FromAsCasing"
  std::string description;  // the rule's description
  std::string url;          // "https://docs.docker.com/go/dockerfile/rule/from-as-casing/" ("" for some rules)
  std::string detail;       // the message: "'as' and 'FROM' keywords' casing do not match"
  int line = 0;             // Dockerfile lines it points at (0 = none)
  int end_line = 0;
  // BuildKit's excerpt: "Dockerfile:2\n--------------------\n   1 |     …\n   2 | >>> FROM …\n…"
  // ("" when there is no line).
  std::string excerpt;
};

// One build step as shown to the user: FROM (of a non-scratch base), RUN, COPY, ADD,
// WORKDIR. Metadata instructions (ENV, CMD, …) are not steps (as in BuildKit).
struct StepInfo {
  int number = 0;            // BuildKit's "#N", 1-based, unique within the build
  std::string stage;         // stage name ("" for an unnamed stage)
  int stage_index = 0;       // 0-based index of the stage in the Dockerfile
  int index = 0;             // i in "[stage i/n]" (1-based, FROM = 1)
  int count = 0;             // n in "[stage i/n]"
  std::string label;         // "[stage i/n]" or "[i/n]" for an unnamed stage
  std::string name;          // the instruction as written, e.g. "RUN npm install"
  int line = 0;              // Dockerfile line of the instruction (1-based)
  std::string cache_key;     // "sha256:…", "" before it is known
  // For a cached step: "" = the store's own cache, else the --cache-from source
  // that had it ("127.0.0.1:5000/app:cache", "local:DIR").
  std::string cache_source;
  // For a step that runs (not from the cache), why: "package.json changed",
  // "parent step ran", "--no-cache", … (docs/cache.md "Why a step ran"); set
  // from step_started on. "" for cached and internal steps.
  std::string miss_reason;
};

// Receives progress. build() serialises every call (one at a time, from any thread),
// so an implementation needs no locking. Times are seconds since the step started.
// `--dry-run`: what a step would do (docs/dry-run.md).
enum class PredictedOutcome {
  cached,     // its key is in the store's cache: it would be reused
  miss,       // the first step of its chain the cache lacks: it would run
  would_run,  // chained after a miss (its parent, base stage or source would run)
  unknown,    // its key cannot be known before the build (a RUN --mount of a
              // stage's files, an ADD of a URL): no miss before it
};

class MKIMAGE_API EventSink {
public:
  virtual ~EventSink() = default;
  virtual void step_started(const StepInfo&) {}
  virtual void step_cached(const StepInfo&) {}
  // A chunk of the step's output (stdout and stderr of RUN, merged). Whole lines
  // when possible; `text` has no trailing newline.
  virtual void step_output(const StepInfo&, std::string_view /*text*/, double /*elapsed_s*/) {}
  virtual void step_done(const StepInfo&, double /*elapsed_s*/) {}
  // The step failed; `message` is the full explanation (Dockerfile line, exit code,
  // last output lines). The build stops.
  virtual void step_error(const StepInfo&, const std::string& /*message*/, double /*elapsed_s*/) {}
  // `--explain-cache`: the tagged inputs of a step's key, one "tag: value" per line.
  virtual void explain(const StepInfo&, const std::vector<std::pair<std::string, std::string>>& /*fields*/) {}
  // Informational messages not tied to a step (warnings, "exporting to …").
  virtual void message(const std::string&) {}
  // A build check fired (before any step runs; one call per warning, in line order).
  virtual void check_warning(const CheckWarning&) {}
  // `--dry-run`: the predicted outcome of a step (one call per numbered step, in
  // step order, instead of started/cached/done). `reason`: why it would miss
  // ("" when no reason is known), or why its key is unknown.
  virtual void step_predicted(const StepInfo&, PredictedOutcome, const std::string& /*reason*/) {}
};

class MKIMAGE_API NullEventSink : public EventSink {};

enum class CacheOutcome { hit, miss, uncached /* --no-cache / filter */ };

struct StepOutcome {
  StepInfo step;
  CacheOutcome outcome = CacheOutcome::miss;
  double elapsed_s = 0;
};

struct StepPrediction {
  StepInfo step;
  PredictedOutcome outcome = PredictedOutcome::cached;
  std::string reason;
};

struct BuildResult {
  Digest image_id;          // the config digest
  Digest manifest_digest;   // the image manifest's digest
  std::vector<std::string> tags;   // normalised, e.g. "goals:latest"
  // `--push` / `push=true`: each pushed reference ("127.0.0.1:5000/app:1") with the
  // manifest digest the registry now serves for it ("sha256:…").
  std::vector<std::pair<std::string, std::string>> pushed;
  std::vector<StepOutcome> steps;  // in step-number order
  std::vector<std::string> warnings;
  std::vector<CheckWarning> checks;  // the build checks that fired, in line order
  // `--dry-run` only: every numbered step's prediction, in step order (no image).
  std::vector<StepPrediction> predictions;
  // The build's id in the store's build history (`mkimage builds show ID`,
  // docs/history.md); "" when it was not recorded.
  std::string build_ref;
};

// Runs the build. Errors (Result error): a Dockerfile problem (the message is the
// formatted diagnostic "Dockerfile:LINE:COL: …"), a check that fired under
// `error=true` ("lint violation found for rules: FromAsCasing"), a failed step ("failed to run
// step …: exit code N" plus the last output lines), I/O and store errors. A failed
// build leaves no new image, blob or cache row for the failing step.
MKIMAGE_API Result<BuildResult> build(const BuildRequest& request, EventSink& sink);

// Parses `type=oci,dest=out.tar` (CSV, the keys `type` and `dest`; a bare
// `dest` path alone means `type=local`). Errors: unknown type, missing dest for a
// type that needs one.
MKIMAGE_API Result<OutputSpec> parse_output_spec(std::string_view text);

// Parses a --cache-to (`for_export`) or --cache-from value (CacheSpec). A bare
// value names a registry ref (`--cache-from REF`, as buildx). Errors: unknown
// type or key, a type without its ref/dest/src, inline as a source, bad values.
MKIMAGE_API Result<CacheSpec> parse_cache_spec(std::string_view text, bool for_export);

// Parses `id=ID,src=PATH` / `id=ID,env=VAR` (also `source=`, `type=file|env`).
MKIMAGE_API Result<BuildSecret> parse_secret_spec(std::string_view text);

// Parses a --build-context value `NAME=DIR|docker-image://REF|oci-layout://PATH[:TAG][@DIGEST]`
// (NamedContext). Errors (buildx's words): no '=' ("invalid context value: …,
// expected key=value"), a NAME that is not a valid reference ("invalid context
// name …"), an empty value, a bad digest. A DIR is not checked here.
MKIMAGE_API Result<NamedContext> parse_build_context(std::string_view text);

// Parses a --ssh value `default`, `ID`, `ID=PATH[,PATH…]` (SshSource). Errors: an
// empty ID or path.
MKIMAGE_API Result<SshSource> parse_ssh_spec(std::string_view text);

}  // namespace mkimage
