// `mkimage system df [-v] [--format json]`: docker's disk usage summary of the
// store — images, containers, local volumes (none: mkimage has no volumes) and
// the build cache (docs/cache.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "builder/container.hpp"
#include "mkimage/cli.hpp"
#include "mkimage/output_format.hpp"
#include "store/store.hpp"
#include "store/usage.hpp"
#include "util/json_text.hpp"

namespace mkimage::cli {

namespace {

using nlohmann::json;

// docker's RECLAIMABLE cell: "1.2MB (40%)", or "0B" with nothing to compare.
std::string reclaimable(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return human_size(part);
  return human_size(part) + " (" + std::to_string(part * 100 / whole) + "%)";
}

struct Row {
  std::string type;
  std::int64_t total = 0, active = 0, size = 0;
  std::string reclaimable;
};

struct ContainerUsage {
  store::ContainerRecord record;
  std::int64_t size = 0;
};

void print_verbose(store::Store& s, const store::StoreUsage& u, const std::vector<ContainerUsage>& containers) {
  std::map<store::Digest, const store::ImageUsage*> by_manifest;
  for (const auto& i : u.images) by_manifest[i.manifest] = &i;
  std::cout << "Images space usage:\n\n";
  std::vector<std::vector<std::string>> images = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"}};
  for (const auto& img : must(s.list_images())) {
    auto it = by_manifest.find(img.record.manifest);
    if (it == by_manifest.end()) continue;
    const store::ImageUsage& iu = *it->second;
    std::vector<std::pair<std::string, std::string>> names;
    for (const auto& t : img.tags) {
      std::string f = t.familiar();
      auto colon = f.rfind(':');
      names.push_back({f.substr(0, colon), f.substr(colon + 1)});
    }
    if (names.empty()) names.push_back({"<none>", "<none>"});
    std::string created = img.config.created ? time_ago(img.config.created->seconds) : "N/A";
    for (const auto& [repo, tag] : names)
      images.push_back({repo, tag, img.record.config.short_id(), created, human_size(iu.size),
                        human_size(iu.shared_size), human_size(iu.size - iu.shared_size), std::to_string(iu.containers)});
  }
  print_table(images);
  std::cout << "\nContainers space usage:\n\n";
  std::vector<std::vector<std::string>> ct = {{"CONTAINER ID", "IMAGE", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"}};
  for (const auto& c : containers)
    ct.push_back({c.record.id.substr(0, 12), c.record.image_ref, "0", human_size(c.size), time_ago(c.record.created),
                  c.record.state, c.record.name});
  print_table(ct);
  std::cout << "\nLocal Volumes space usage:\n\n";
  print_table({{"VOLUME NAME", "LINKS", "SIZE"}});
  std::cout << "\nBuild cache usage: " << human_size(u.cache_bytes) << "\n\n";
  std::vector<std::vector<std::string>> bc = {{"CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"}};
  for (const auto& e : u.cache) {
    std::string hex = e.record.key.starts_with("sha256:") ? e.record.key.substr(7) : e.record.key;
    bc.push_back({hex.substr(0, 12), "regular", human_size(e.size), time_ago(e.record.created), time_ago(e.record.last_used),
                  std::to_string(e.record.hits), e.shared ? "true" : "false"});
  }
  print_table(bc);
}

void run_system_df(const GlobalOptions& global, bool verbose, const std::string& format) {
  auto s = open_store(global);
  store::StoreUsage u = must(store::store_usage(*s));
  builder::ContainerManager mgr(*s);
  std::vector<ContainerUsage> containers;
  for (auto& c : must(mgr.list())) {
    std::int64_t size = store::dir_bytes(s->root().containers_dir() / c.id);
    containers.push_back({std::move(c), size});
  }
  if (verbose && format.empty()) return print_verbose(*s, u, containers);

  std::vector<Row> rows;
  Row images{"Images", static_cast<std::int64_t>(u.images.size()), 0, u.images_bytes,
             reclaimable(u.images_reclaimable, u.images_bytes)};
  for (const auto& i : u.images)
    if (i.containers > 0) ++images.active;
  rows.push_back(images);
  Row ct{"Containers", static_cast<std::int64_t>(containers.size()), 0, 0, ""};
  std::int64_t stopped = 0;
  for (const auto& c : containers) {
    ct.size += c.size;
    if (c.record.state == "running") ++ct.active;
    else stopped += c.size;
  }
  ct.reclaimable = reclaimable(stopped, ct.size);
  rows.push_back(ct);
  rows.push_back(Row{"Local Volumes", 0, 0, 0, human_size(0)});
  Row bc{"Build Cache", static_cast<std::int64_t>(u.cache.size()), 0, u.cache_bytes, human_size(u.cache_reclaimable)};
  for (const auto& e : u.cache)
    if (e.in_use) ++bc.active;
  rows.push_back(bc);

  if (!format.empty()) {
    for (const auto& r : rows) {
      json j{{"Type", r.type}, {"TotalCount", std::to_string(r.total)}, {"Active", std::to_string(r.active)},
             {"Size", human_size(r.size)}, {"Reclaimable", r.reclaimable}};
      std::cout << format_value(format, j) << '\n';
    }
    return;
  }
  std::vector<std::vector<std::string>> table = {{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}};
  for (const auto& r : rows)
    table.push_back({r.type, std::to_string(r.total), std::to_string(r.active), human_size(r.size), r.reclaimable});
  print_table(table);
}

}  // namespace

void register_system_commands(CLI::App& app, GlobalOptions& global) {
  GlobalOptions* g = &global;
  auto* system = app.add_subcommand("system", "Manage mkimage");
  system->require_subcommand(1);
  auto* df = system->add_subcommand("df", "Show disk usage");
  auto verbose = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>();
  df->add_flag("-v,--verbose", *verbose, "Show detailed information on space usage");
  df->add_option("--format", *format, "Format output: 'json' or a Go template");
  df->callback([g, verbose, format] { run_system_df(*g, *verbose, *format); });
}

}  // namespace mkimage::cli
