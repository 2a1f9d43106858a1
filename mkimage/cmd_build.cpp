// `mkimage build [OPTIONS] CONTEXT`: docker's build flags over mkimage::build()
// (include/mkimage/build.hpp). Flags and exit statuses: docs/mkimage.md.
#include <CLI/CLI.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include "mkimage/build.hpp"
#include "mkimage/build_metadata.hpp"
#include "mkimage/check_output.hpp"
#include "mkimage/cli.hpp"
#include "mkimage/progress.hpp"
#include "store/root.hpp"
#include "util/units.hpp"

namespace mkimage::cli {

namespace fs = std::filesystem;

namespace {

struct BuildFlags {
  std::string context;
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::string target;
  bool no_cache = false;
  bool pull = false;
  bool push = false;
  std::vector<std::string> no_cache_filter;
  std::vector<std::string> secrets;
  std::vector<std::string> build_contexts;
  std::vector<std::string> ssh;
  std::vector<std::string> cache_from;
  std::vector<std::string> cache_to;
  std::vector<std::string> labels;
  std::string network = "default";
  std::vector<std::string> allow;
  std::string platform;
  std::string iidfile;
  std::string metadata_file;
  bool quiet = false;
  std::string progress = "auto";
  std::vector<std::string> outputs;
  std::string compression = "gzip";
  std::string runtime = "runc";
  bool explain_cache = false;
  bool check = false;
  bool dry_run = false;
  std::string call = "build";
  std::string cache_max;  // --cache-max SIZE ("" = the configuration's cache.max-size)
};

std::string read_all(std::istream& in) { return std::string(std::istreambuf_iterator<char>(in), {}); }

bool looks_like_tar(const std::string& bytes) {
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b)
    return true;  // gzip
  if (bytes.size() >= 4 && bytes.compare(0, 4, "\x28\xb5\x2f\xfd") == 0) return true;  // zstd
  if (bytes.size() >= 3 && bytes.compare(0, 3, "BZh") == 0) return true;
  if (bytes.size() >= 6 && bytes.compare(0, 6, "\xfd" "7zXZ\0", 6) == 0) return true;
  return bytes.size() >= 262 && bytes.compare(257, 5, "ustar") == 0;
}

std::string disk_error(archive* w, const std::string& name) {
  std::string m = archive_error_string(w) ? archive_error_string(w) : "cannot write";
  int e = archive_errno(w);
  if (e > 0 && m.find(std::strerror(e)) == std::string::npos) m += std::string(": ") + std::strerror(e);
  return name.empty() ? m : "\"" + name + "\": " + m;
}

// Unpacks a context tar (any compression libarchive reads) into `dir`.
void extract_context_tar(const std::string& bytes, const fs::path& dir) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive* w = archive_write_disk_new();
  // Entry names are checked below (no absolute names, no ".."), then prefixed
  // with `dir`, so libarchive sees absolute paths inside `dir` only.
  archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                        ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  std::string err;
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    err = archive_error_string(a) ? archive_error_string(a) : "cannot read";
  }
  archive_entry* e = nullptr;
  while (err.empty()) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      err = archive_error_string(a) ? archive_error_string(a) : "bad tar";
      break;
    }
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (name.empty() || name[0] == '/' || name == ".." || name.rfind("../", 0) == 0 ||
        name.find("/../") != std::string::npos || (name.size() >= 3 && name.compare(name.size() - 3, 3, "/..") == 0)) {
      err = "unsafe entry name \"" + name + "\"";
      break;
    }
    std::string p = (dir / name).string();
    archive_entry_set_pathname(e, p.c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      std::string h = hl;
      if (h.empty() || h[0] == '/' || h.find("..") != std::string::npos) {
        err = "unsafe hard link \"" + h + "\"";
        break;
      }
      std::string hp = (dir / h).string();
      archive_entry_set_hardlink(e, hp.c_str());
    }
    int hr = archive_write_header(w, e);
    if (hr < ARCHIVE_WARN || (hr == ARCHIVE_WARN && archive_errno(w) == ENOSPC)) {
      err = disk_error(w, name);
      break;
    }
    const void* buf;
    size_t size;
    la_int64_t off;
    while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
      // ARCHIVE_WARN from the disk writer is a failed write(2) (a full disk)
      if (archive_write_data_block(w, buf, size, off) < ARCHIVE_OK) {
        err = disk_error(w, name);
        break;
      }
    }
    if (!err.empty()) break;
    if (r < ARCHIVE_WARN) {
      err = archive_error_string(a) ? archive_error_string(a) : "bad tar";
      break;
    }
    int fr = archive_write_finish_entry(w);
    if (fr < ARCHIVE_WARN || (fr == ARCHIVE_WARN && archive_errno(w) == ENOSPC)) {
      err = disk_error(w, name);
      break;
    }
  }
  if (err.empty() && archive_write_close(w) < ARCHIVE_WARN) err = disk_error(w, "");
  archive_read_free(a);
  archive_write_free(w);
  if (!err.empty()) throw CliExit{k_exit_failure, "mkimage build: reading the context tar from stdin: " + err};
}

std::unique_ptr<ProgressPrinter> make_printer(const BuildFlags& f) {
  if (f.quiet) return make_quiet_printer(stdout);
  std::string mode = f.progress;
  if (mode == "auto") mode = isatty(STDERR_FILENO) ? "tty" : "plain";
  if (mode == "plain") return make_plain_printer(stderr);
  if (mode == "tty") return make_tty_printer(stderr);
  if (mode == "json") return make_json_printer(stdout);
  throw CliExit{k_exit_usage, "mkimage build: --progress must be auto, plain, tty or json, not \"" + f.progress + "\""};
}

// `--check` (buildx --check): the report on stdout (JSON mode: the events and a
// "check" result); exit status 1 when a check fired or the Dockerfile has an
// error, as buildx (the lint result's status code).
void finish_check(const BuildFlags& f, ProgressPrinter& printer, const Result<BuildResult>& result) {
  if (f.progress == "json" && !f.quiet) {
    if (!result.ok()) printer.failed(result.error().message);
    else printer.finished(*result);
  } else {
    std::fputs(format_check_report(printer.checks(), !result.ok()).c_str(), stdout);
    std::fflush(stdout);
    if (!result.ok()) {
      const std::string& m = result.error().message;
      std::fprintf(stderr, "%s%s", m.c_str(), m.empty() || m.back() == '\n' ? "" : "\n");
    }
  }
  if (!result.ok() || !printer.checks().empty()) throw CliExit{k_exit_failure, ""};
}

void run_build(const BuildFlags& f, const GlobalOptions& global) {
  BuildRequest req;
  req.store_root = global.root;
  req.target = f.target;
  req.tags = f.tags;
  req.no_cache = f.no_cache;
  req.pull = f.pull;
  req.push = f.push;
  req.no_cache_filter = f.no_cache_filter;
  req.network = f.network;
  for (const auto& a : f.allow)
    if (a != "security.insecure" && a != "network.host")
      throw CliExit{k_exit_usage, "mkimage build: invalid entitlement: " + a + " (want security.insecure or network.host)"};
  req.allow = f.allow;
  req.platform = f.platform;
  req.runtime = f.runtime;
  req.explain_cache = f.explain_cache;
  req.dry_run = f.dry_run;
  if (f.call == "check") req.check = true;
  else if (f.call != "build")
    throw CliExit{k_exit_usage, "mkimage build: --call must be build or check, not \"" + f.call + "\""};
  req.check = req.check || f.check;
  if (f.network != "default" && f.network != "none" && f.network != "host")
    throw CliExit{k_exit_usage, "mkimage build: --network must be default, none or host, not \"" + f.network + "\""};
  if (f.compression == "gzip") req.compression = Compression::gzip;
  else if (f.compression == "zstd") req.compression = Compression::zstd;
  else throw CliExit{k_exit_usage, "mkimage build: --compression must be gzip or zstd, not \"" + f.compression + "\""};

  for (const auto& a : f.build_args) {
    auto eq = a.find('=');
    if (eq == std::string::npos) {
      if (const char* v = std::getenv(a.c_str())) req.build_args[a] = v;
    } else {
      req.build_args[a.substr(0, eq)] = a.substr(eq + 1);
    }
  }
  // Like docker buildx: a SOURCE_DATE_EPOCH environment variable is passed as
  // the build arg of that name unless --build-arg gives one.
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde && !req.build_args.count("SOURCE_DATE_EPOCH"))
    req.build_args["SOURCE_DATE_EPOCH"] = sde;
  for (const auto& l : f.labels) {
    auto eq = l.find('=');
    req.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  for (const auto& c : f.cache_from) {
    auto spec = parse_cache_spec(c, false);
    if (!spec.ok()) throw CliExit{k_exit_usage, "mkimage build: " + spec.error().message};
    req.cache_from.push_back(*spec);
  }
  for (const auto& c : f.cache_to) {
    auto spec = parse_cache_spec(c, true);
    if (!spec.ok()) throw CliExit{k_exit_usage, "mkimage build: " + spec.error().message};
    req.cache_to.push_back(*spec);
  }
  if (!f.cache_max.empty()) {
    auto bytes = util::parse_size_bytes(f.cache_max);
    if (!bytes.ok()) throw CliExit{k_exit_usage, "mkimage build: --cache-max: " + bytes.error().message};
    req.cache_max_size = *bytes;
  }
  for (const auto& s : f.secrets) {
    auto sec = parse_secret_spec(s);
    if (!sec.ok()) throw CliExit{k_exit_usage, "mkimage build: --secret: " + sec.error().message};
    req.secrets.push_back(*sec);
  }
  for (const auto& c : f.build_contexts) {
    auto nc = parse_build_context(c);
    if (!nc.ok()) throw CliExit{k_exit_usage, "mkimage build: --build-context: " + nc.error().message};
    req.named_contexts.push_back(*nc);
  }
  for (const auto& v : f.ssh) {
    auto ssh = parse_ssh_spec(v);
    if (!ssh.ok()) throw CliExit{k_exit_usage, "mkimage build: --ssh: " + ssh.error().message};
    req.ssh.push_back(*ssh);
  }
  for (const auto& o : f.outputs) {
    auto out = parse_output_spec(o);
    if (!out.ok()) throw CliExit{k_exit_usage, "mkimage build: --output: " + out.error().message};
    req.outputs.push_back(*out);
  }

  // The context and the Dockerfile.
  std::optional<fs::path> temp_context;
  struct Cleanup {
    std::optional<fs::path>& p;
    ~Cleanup() {
      if (p) {
        std::error_code ec;
        fs::remove_all(*p, ec);
      }
    }
  } cleanup{temp_context};
  if (f.context == "-") {
    if (f.file == "-") throw CliExit{k_exit_usage, "mkimage build: the context and -f cannot both be stdin"};
    std::string bytes = read_all(std::cin);
    char tmpl[] = "/tmp/mkimage-context.XXXXXX";
    if (!mkdtemp(tmpl)) throw CliExit{k_exit_failure, "mkimage build: cannot create a temporary directory"};
    temp_context = fs::path(tmpl);
    if (looks_like_tar(bytes)) {
      extract_context_tar(bytes, *temp_context);
    } else {
      req.dockerfile_bytes = bytes;  // a lone Dockerfile: the context is empty
    }
    req.context_dir = *temp_context;
  } else {
    std::error_code ec;
    if (!fs::is_directory(f.context, ec))
      throw CliExit{k_exit_failure, "mkimage build: context \"" + f.context + "\" is not a directory"};
    req.context_dir = f.context;
  }
  if (f.file == "-") {
    req.dockerfile_bytes = read_all(std::cin);
  } else if (!f.file.empty()) {
    req.dockerfile_path = f.file;
  }

  // A stale image ID from an earlier build must not survive a failed one (docker does the same).
  if (!f.iidfile.empty()) {
    std::error_code ec;
    fs::remove(f.iidfile, ec);
  }
  if (!f.metadata_file.empty()) {
    std::error_code ec;
    fs::remove(f.metadata_file, ec);
  }
  auto printer = make_printer(f);
  auto result = build(req, *printer);
  if (req.check) {
    finish_check(f, *printer, result);
    return;
  }
  if (!result.ok()) {
    printer->failed(result.error().message);
    throw CliExit{k_exit_failure, ""};
  }
  if (req.dry_run) {
    printer->dry_run_finished(*result);  // no image: no --iidfile, no --metadata-file
    return;
  }
  printer->finished(*result);
  if (!f.iidfile.empty()) {
    // temp file, fsync, rename: a full disk fails the build instead of leaving an empty file
    auto written = store::write_file_atomic(f.iidfile, result->image_id.str());
    if (!written) throw CliExit{k_exit_failure, "mkimage build: cannot write --iidfile: " + written.error().message};
  }
  if (!f.metadata_file.empty()) {
    auto st = open_store(global);
    auto written = write_build_metadata(f.metadata_file, *result, *st);
    if (!written) throw CliExit{k_exit_failure, "mkimage build: cannot write --metadata-file: " + written.error().message};
  }
}

}  // namespace

void register_build_command(CLI::App& app, GlobalOptions& global) {
  auto flags = std::make_shared<BuildFlags>();
  auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("context", flags->context, "Build context directory, or '-' to read a tar or a Dockerfile from stdin")
      ->required();
  cmd->add_option("-t,--tag", flags->tags, "Name and optionally a tag (name:tag); repeatable")->allow_extra_args(false);
  cmd->add_option("-f,--file", flags->file, "Dockerfile (default CONTEXT/Dockerfile; '-' = stdin)");
  cmd->add_option("--build-arg", flags->build_args, "Build arg K=V (K alone takes the environment's value); repeatable")->allow_extra_args(false);
  cmd->add_option("--target", flags->target, "Target stage to build (default: the last stage)");
  cmd->add_flag("--no-cache", flags->no_cache, "Do not use the cache");
  cmd->add_flag("--pull", flags->pull, "Always attempt to pull a newer version of the image");
  cmd->add_flag("--push", flags->push, "Push the image to its registry after the build (every -t tag)");
  cmd->add_option("--no-cache-filter", flags->no_cache_filter, "Do not use the cache for these stages; repeatable")->allow_extra_args(false);
  cmd->add_option("--secret", flags->secrets, "Secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR")->allow_extra_args(false);
  cmd->add_option("--build-context", flags->build_contexts,
                  "Named context NAME=DIR|docker-image://REF|oci-layout://PATH[:TAG][@DIGEST]; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--ssh", flags->ssh, "SSH agent for RUN --mount=type=ssh: default|ID[=SOCKET|KEY[,KEY]]; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--cache-from", flags->cache_from,
                  "Cache source: type=registry,ref=REF | type=local,src=DIR (or REF); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--cache-to", flags->cache_to,
                  "Cache export: type=registry,ref=REF | type=local,dest=DIR | type=inline "
                  "[,mode=min|max][,compression=gzip|zstd][,ignore-error=true][,mounts=true][,mounts-max-size=SIZE]; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--label", flags->labels, "Image label K=V; repeatable")->allow_extra_args(false);
  cmd->add_option("--network", flags->network,
                  "Network for RUN: default (a private namespace with outbound access), none or host");
  cmd->add_option("--allow", flags->allow,
                  "Allow an entitlement: security.insecure (RUN --security=insecure) or network.host; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--platform", flags->platform, "Target platform (only the host's: linux/amd64)");
  cmd->add_option("--iidfile", flags->iidfile, "Write the image ID to this file");
  cmd->add_option("--metadata-file", flags->metadata_file, "Write build result metadata (buildx's JSON) to this file");
  cmd->add_flag("-q,--quiet", flags->quiet, "Print only the image ID");
  cmd->add_option("--progress", flags->progress, "Progress output: auto, plain, tty or json");
  cmd->add_option("-o,--output", flags->outputs,
                  "Output: type=image|oci|docker|tar|local[,dest=PATH]; repeatable (default type=image)")->allow_extra_args(false);
  cmd->add_option("--compression", flags->compression, "Layer compression for oci/docker/tar outputs: gzip or zstd");
  cmd->add_option("--runtime", flags->runtime, "OCI runtime for RUN (default runc)");
  cmd->add_flag("--explain-cache", flags->explain_cache, "Print every step's cache key and its tagged inputs");
  cmd->add_flag("--dry-run", flags->dry_run,
                "Predict every step (CACHED, MISS, would run) without executing anything or writing to the store");
  cmd->add_flag("--check", flags->check,
                "Evaluate the build checks and build nothing (exit status 1 when a check fires)");
  cmd->add_option("--call", flags->call, "Method for evaluating the build: build (default) or check (= --check)");
  cmd->add_option("--cache-max", flags->cache_max,
                  "After the build, free least recently used cache until the store takes at most SIZE "
                  "(e.g. 10GB; 0 = no bound; default: cache.max-size of the configuration)");
  cmd->callback([flags, &global] { run_build(*flags, global); });
}

}  // namespace mkimage::cli
