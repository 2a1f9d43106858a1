// `mkimage cache ls|du|prune` and `mkimage system df`: the build cache and the
// store's disk usage, in the shapes of `docker buildx du`, `docker builder
// prune` and `docker system df` (docs/cache.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "mkimage/cli.hpp"
#include "mkimage/output_format.hpp"
#include "store/gc.hpp"
#include "store/store.hpp"
#include "store/usage.hpp"
#include "util/json_text.hpp"
#include "util/units.hpp"

namespace mkimage::cli {

namespace {

using nlohmann::json;

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string short_key(const std::string& key, bool no_trunc) {
  std::string hex = key.starts_with("sha256:") ? key.substr(7) : key;
  return no_trunc ? hex : hex.substr(0, 12);
}

// docker buildx du --format json's field names.
json entry_json(const store::CacheEntryUsage& e) {
  return json{{"ID", short_key(e.record.key, true)},
              {"Key", e.record.key},
              {"Description", e.record.step},
              {"Layer", e.layer ? json(e.layer->str()) : json(nullptr)},
              {"Size", e.size},
              {"CreatedAt", rfc3339_utc(e.record.created)},
              {"LastUsedAt", rfc3339_utc(e.record.last_used)},
              {"UsageCount", e.record.hits},
              {"Shared", e.shared},
              {"InUse", e.in_use},
              {"Reclaimable", !e.in_use && !e.shared}};
}

struct LsOptions {
  std::string format;
  bool no_trunc = false;
  bool quiet = false;
};

void run_cache_ls(const GlobalOptions& global, const LsOptions& o) {
  auto s = open_store(global);
  store::StoreUsage u = must(store::store_usage(*s));
  if (o.quiet) {
    for (const auto& e : u.cache) std::cout << short_key(e.record.key, o.no_trunc) << '\n';
    return;
  }
  if (!o.format.empty()) {
    for (const auto& e : u.cache) std::cout << format_value(o.format, entry_json(e)) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> table = {{"CACHE ID", "SIZE", "CREATED", "LAST USED", "HITS", "SHARED", "STEP"}};
  for (const auto& e : u.cache) {
    std::string step = e.record.step.empty() ? "<unknown>" : e.record.step;
    if (!o.no_trunc && step.size() > 60) step = step.substr(0, 59) + "…";
    table.push_back({short_key(e.record.key, o.no_trunc), human_size(e.size), time_ago(e.record.created),
                     time_ago(e.record.last_used), std::to_string(e.record.hits), e.shared ? "true" : "false", step});
  }
  print_table(table);
}

void run_cache_du(const GlobalOptions& global, bool verbose) {
  auto s = open_store(global);
  store::StoreUsage u = must(store::store_usage(*s));
  if (verbose) {
    std::vector<std::vector<std::string>> table = {{"ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"}};
    for (const auto& e : u.cache)
      table.push_back({short_key(e.record.key, false), !e.in_use && !e.shared ? "true" : "false", human_size(e.size),
                       time_ago(e.record.last_used)});
    print_table(table);
    std::cout << '\n';
  }
  std::vector<std::vector<std::string>> kept = {{"KEPT BY", "BLOBS", "SNAPSHOTS", "TOTAL"}};
  store::KeptBytes sum;
  for (store::Keeper k : {store::Keeper::images, store::Keeper::shared, store::Keeper::cache,
                          store::Keeper::running_build, store::Keeper::unreferenced}) {
    store::KeptBytes b = u.kept.count(k) ? u.kept.at(k) : store::KeptBytes{};
    sum.blobs += b.blobs;
    sum.snapshots += b.snapshots;
    kept.push_back({store::keeper_name(k), human_size(b.blobs), human_size(b.snapshots), human_size(b.total())});
  }
  kept.push_back({"total", human_size(sum.blobs), human_size(sum.snapshots), human_size(sum.total())});
  print_table(kept);
  std::int64_t shared = u.kept.count(store::Keeper::shared) ? u.kept.at(store::Keeper::shared).total() : 0;
  std::cout << '\n'
            << "Downloads:\t" << human_size(u.downloads_bytes) << " (" << u.downloads << " kept ADD <url> downloads)\n"
            << "Shared:\t\t" << human_size(shared) << '\n'
            << "Private:\t" << human_size(u.cache_bytes) << '\n'
            << "Reclaimable:\t" << human_size(u.cache_reclaimable) << '\n'
            << "Total:\t\t" << human_size(u.total) << " (" << u.total << " bytes)\n";
}

struct PruneOptions {
  bool all = false;
  bool force = false;
  std::string keep_storage;
  std::vector<std::string> filters;
};

store::GcPolicy prune_policy(const PruneOptions& o) {
  store::GcPolicy p;
  p.all = o.all;
  if (!o.keep_storage.empty()) {
    auto bytes = util::parse_size_bytes(o.keep_storage);
    if (!bytes.ok()) throw CliExit{k_exit_usage, "mkimage cache prune: --keep-storage: " + bytes.error().message};
    p.keep_bytes = *bytes;
  }
  for (const auto& f : o.filters) {
    auto eq = f.find('=');
    std::string key = f.substr(0, eq);
    if (eq == std::string::npos || (key != "until" && key != "unused-for"))
      throw CliExit{k_exit_usage, "mkimage cache prune: invalid filter '" + f + "' (supported: until=DURATION)"};
    auto d = util::parse_duration_seconds(f.substr(eq + 1));
    if (!d.ok()) throw CliExit{k_exit_usage, "mkimage cache prune: " + d.error().message};
    p.unused_before = now_seconds() - *d;
  }
  return p;
}

void run_cache_prune(const GlobalOptions& global, const PruneOptions& o) {
  store::GcPolicy policy = prune_policy(o);
  if (!o.force) {
    std::cout << (o.all ? "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
                        : "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ")
              << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") return;
  }
  auto s = open_store(global);
  store::GcReport r = must(store::collect_garbage(*s, policy));
  if (!r.deleted.empty() || !r.downloads.empty()) {
    std::cout << "Deleted build cache objects:\n";
    for (const auto& k : r.deleted) std::cout << short_key(k, true) << '\n';
    for (const auto& name : r.downloads) std::cout << name << " (ADD <url> download)\n";
    std::cout << '\n';
  }
  std::cout << "Total reclaimed space: " << human_size(r.reclaimed) << '\n';
}

}  // namespace

void register_cache_commands(CLI::App& app, GlobalOptions& global) {
  GlobalOptions* g = &global;
  auto* cache = app.add_subcommand("cache", "Manage the build cache");
  cache->require_subcommand(1);

  auto* ls = cache->add_subcommand("ls", "List build cache entries (most recently used first)");
  ls->alias("list");
  auto lo = std::make_shared<LsOptions>();
  ls->add_option("--format", lo->format, "Format output: 'json' or a Go template");
  ls->add_flag("--no-trunc", lo->no_trunc, "Don't truncate output");
  ls->add_flag("-q,--quiet", lo->quiet, "Only show cache IDs");
  ls->callback([g, lo] { run_cache_ls(*g, *lo); });

  auto* du = cache->add_subcommand("du", "Show what the store keeps and why: images, build cache, shared, blobs, snapshots");
  auto verbose = std::make_shared<bool>(false);
  du->add_flag("-v,--verbose", *verbose, "Also list every cache entry");
  du->callback([g, verbose] { run_cache_du(*g, *verbose); });

  auto* prune = cache->add_subcommand("prune", "Remove build cache");
  auto po = std::make_shared<PruneOptions>();
  prune->add_flag("-a,--all", po->all, "Remove all unused build cache, not just dangling ones");
  prune->add_flag("-f,--force", po->force, "Do not prompt for confirmation");
  prune->add_option("--keep-storage", po->keep_storage, "Amount of disk space to keep for cache (e.g. 10GB)");
  prune->add_option("--filter", po->filters, "Provide filter values (e.g. 'until=24h')")->allow_extra_args(false);
  prune->callback([g, po] { run_cache_prune(*g, *po); });
}

}  // namespace mkimage::cli
