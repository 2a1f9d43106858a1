// Image commands, docker-compatible: images, image ls/inspect/rm/tag/history/prune,
// inspect, tag, rmi, history, and `store check`.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/json_text.hpp"
#include "mkimage/cli.hpp"
#include "mkimage/output_format.hpp"
#include "store/store.hpp"

namespace mkimage::cli {

namespace {

using nlohmann::json;

store::Image resolve_or_fail(store::Store& s, const std::string& text) {
  auto found = must(s.resolve(text));
  if (!found) throw CliExit{k_exit_failure, "mkimage: No such image: " + text};
  return std::move(*found);
}

std::string created_since(const store::Image& img) {
  if (!img.config.created) return "N/A";
  return time_since(img.config.created->seconds) + " ago";
}

// "2023-11-14 22:13:20 +0000 UTC" (docker's CreatedAt for `images --format`).
std::string created_at(const store::Image& img) {
  if (!img.config.created) return "";
  std::time_t t = static_cast<std::time_t>(img.config.created->seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

// docker image inspect's shape (the fields an image has without a daemon).
json inspect_json(store::Store& s, const store::Image& img) {
  json j = json::object();
  j["Id"] = img.id();
  json tags = json::array();
  json digests = json::array();
  for (const auto& t : img.tags) {
    tags.push_back(t.familiar());
  }
  // As docker: the manifest digests registries serve for this image (pulled or
  // pushed); an image that never met a registry has none.
  for (const auto& d : img.repo_digests) digests.push_back(d.familiar());
  j["RepoTags"] = tags;
  j["RepoDigests"] = digests;
  j["Parent"] = "";
  j["Comment"] = img.config.history.empty() ? "" : img.config.history.back().comment;
  j["Created"] = img.config.created ? img.config.created->str() : "0001-01-01T00:00:00Z";
  j["DockerVersion"] = "";
  j["Author"] = img.config.author;
  json cfg = store::to_json(img.config.config);
  // docker always shows these keys, null when unset.
  for (const char* k : {"Env", "Cmd", "Entrypoint", "Labels", "OnBuild", "Volumes"})
    if (!cfg.contains(k)) cfg[k] = nullptr;
  for (const char* k : {"User", "WorkingDir"})
    if (!cfg.contains(k)) cfg[k] = "";
  j["Config"] = cfg;
  j["Architecture"] = img.config.architecture;
  if (!img.config.variant.empty()) j["Variant"] = img.config.variant;
  j["Os"] = img.config.os;
  j["Size"] = img.record.size;
  j["VirtualSize"] = img.record.size;
  json layers = json::array();
  for (const auto& d : img.config.diff_ids) layers.push_back(d.digest.str());
  j["RootFS"] = {{"Type", "layers"}, {"Layers", layers}};
  // docker: when a tag was last pointed at the image; the zero time when untagged.
  auto tagged = must(s.index().last_tag_time(img.record.manifest));
  j["Metadata"] = {{"LastTagTime", tagged ? store::Timestamp{*tagged, 0}.str() : "0001-01-01T00:00:00Z"}};
  j["Descriptor"] = store::descriptor_to_json(img.manifest_descriptor);
  return j;
}

void run_inspect(const GlobalOptions& global, const std::vector<std::string>& names, const std::string& format) {
  auto s = open_store(global);
  json out = json::array();
  std::vector<std::string> missing;
  for (const auto& n : names) {
    auto found = must(s->resolve(n));
    if (!found) {
      missing.push_back(n);
      continue;
    }
    out.push_back(inspect_json(*s, *found));
  }
  if (format.empty()) {
    std::cout << util::json_text(out, 4) << '\n';
  } else {
    for (const auto& v : out) std::cout << format_template(format, v) << '\n';
  }
  if (!missing.empty()) {
    std::string msg;
    for (const auto& m : missing) msg += "mkimage: No such image: " + m + "\n";
    throw CliExit{k_exit_failure, msg};
  }
}

struct ImagesOptions {
  bool all = false;
  bool digests = false;
  bool quiet = false;
  bool no_trunc = false;
  std::string format;
  std::string filter_repo;
};

void run_images(const GlobalOptions& global, const ImagesOptions& o) {
  auto s = open_store(global);
  auto images = must(s->list_images());
  std::optional<store::Reference> want;
  if (!o.filter_repo.empty()) {
    auto r = store::Reference::parse(o.filter_repo);
    if (!r) throw CliExit{k_exit_usage, "mkimage: " + r.error().message};
    want = *r;
  }
  // "name:tag" filters on the tag too; a bare name lists every tag of the repository.
  std::string_view last = o.filter_repo;
  if (auto slash = last.rfind('/'); slash != std::string_view::npos) last.remove_prefix(slash + 1);
  bool want_tag = last.find(':') != std::string_view::npos;

  struct Row {
    std::string repo, tag, digest, id;
    const store::Image* img;
  };
  std::vector<Row> rows;
  for (const auto& img : images) {
    std::string id = o.no_trunc ? img.id() : img.record.config.short_id();
    if (img.tags.empty()) {
      if (want) continue;
      rows.push_back({"<none>", "<none>", "<none>", id, &img});
      continue;
    }
    for (const auto& t : img.tags) {
      if (want && (t.repository() != want->repository() || (want_tag && t.tag() != want->tag()))) continue;
      // The digest of this repository's manifest in its registry, when it has met one.
      std::string digest = "<none>";
      for (const auto& d : img.repo_digests)
        if (d.repository() == t.repository()) digest = d.digest()->str();
      rows.push_back({t.familiar_repository(), t.tag().value_or("<none>"), digest, id, &img});
    }
  }
  if (o.quiet) {
    std::set<std::string> seen;
    for (const auto& r : rows)
      if (seen.insert(r.id).second) std::cout << r.id << '\n';
    return;
  }
  if (!o.format.empty()) {
    for (const auto& r : rows) {
      json j = {{"Containers", "N/A"},
                {"CreatedAt", created_at(*r.img)},
                {"CreatedSince", created_since(*r.img)},
                {"Digest", r.digest},
                {"ID", r.id},
                {"Repository", r.repo},
                {"SharedSize", "N/A"},
                {"Size", human_size(r.img->record.size)},
                {"Tag", r.tag},
                {"UniqueSize", "N/A"},
                {"VirtualSize", human_size(r.img->record.size)}};
      std::cout << format_value(o.format, j) << '\n';
    }
    return;
  }
  std::vector<std::vector<std::string>> table;
  if (o.digests) {
    table.push_back({"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"});
  } else {
    table.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  }
  for (const auto& r : rows) {
    std::vector<std::string> line = {r.repo, r.tag};
    if (o.digests) line.push_back(r.digest);
    line.insert(line.end(), {r.id, created_since(*r.img), human_size(r.img->record.size)});
    table.push_back(std::move(line));
  }
  print_table(table);
}

void run_tag(const GlobalOptions& global, const std::string& src, const std::string& dst) {
  auto s = open_store(global);
  store::Image img = resolve_or_fail(*s, src);
  auto ref = must(store::Reference::parse(dst));
  if (ref.digest()) throw CliExit{k_exit_failure, "mkimage: refusing to create a tag with a digest reference"};
  must(s->tag(ref, img.record.manifest));
}

void print_remove_report(const store::RemoveReport& r, const char* untagged, const char* deleted) {
  for (const auto& t : r.untagged) std::cout << untagged << t.familiar() << '\n';
  for (const auto& d : r.deleted) std::cout << deleted << d.str() << '\n';
}

void run_rmi(const GlobalOptions& global, const std::vector<std::string>& names, bool force) {
  auto s = open_store(global);
  std::string errors;
  for (const auto& n : names) {
    auto r = s->remove_image(n, force ? store::Force::yes : store::Force::no);
    if (!r) {
      errors += "mkimage: " + r.error().message + "\n";
      continue;
    }
    print_remove_report(*r, "Untagged: ", "Deleted: ");
  }
  if (!errors.empty()) throw CliExit{k_exit_failure, errors};
}

void run_prune(const GlobalOptions& global, bool all, bool force) {
  if (!force) {
    std::cout << (all ? "WARNING! This will remove all images without at least one container associated to them.\n"
                      : "WARNING! This will remove all dangling images.\n")
              << "Are you sure you want to continue? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") return;
  }
  auto s = open_store(global);
  auto r = must(s->prune(all ? store::PruneScope::all_unused : store::PruneScope::dangling));
  if (!r.untagged.empty() || !r.deleted.empty()) {
    std::cout << "Deleted Images:\n";
    print_remove_report(r, "untagged: ", "deleted: ");
    std::cout << '\n';
  }
  std::cout << "Total reclaimed space: " << human_size(r.reclaimed) << '\n';
}

struct HistoryOptions {
  bool no_trunc = false;
  bool quiet = false;
  bool human = true;
  std::string format;
};

void run_history(const GlobalOptions& global, const std::string& name, const HistoryOptions& o) {
  auto s = open_store(global);
  store::Image img = resolve_or_fail(*s, name);
  struct Row {
    std::string image, created, created_by, size, comment;
    json j;
  };
  std::vector<Row> rows;
  std::size_t layer = 0;
  const auto& layers = img.manifest.layers;
  for (const auto& h : img.config.history) {
    std::int64_t size = 0;
    if (!h.empty_layer) {
      if (layer < layers.size()) size = layers[layer].size;
      ++layer;
    }
    Row r;
    r.image = "<missing>";
    r.created = h.created ? (o.human ? time_since(h.created->seconds) + " ago"
                                     : h.created->str())
                          : "N/A";
    r.created_by = h.created_by;
    r.size = o.human ? human_size(size) : std::to_string(size);
    r.comment = h.comment;
    r.j = {{"ID", "<missing>"}, {"CreatedSince", r.created}, {"CreatedAt", h.created ? h.created->str() : ""},
           {"CreatedBy", h.created_by}, {"Size", r.size}, {"Comment", h.comment}};
    rows.push_back(std::move(r));
  }
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) {
    rows.front().image = o.no_trunc ? img.id() : img.record.config.short_id();
    rows.front().j["ID"] = rows.front().image;
  }
  if (o.quiet) {
    for (const auto& r : rows) std::cout << r.image << '\n';
    return;
  }
  if (!o.format.empty()) {
    for (const auto& r : rows) std::cout << format_value(o.format, r.j) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> table = {{"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}};
  for (auto& r : rows) {
    std::string by = r.created_by;
    // docker truncates CREATED BY to 45 characters ("…" included) unless --no-trunc.
    if (!o.no_trunc && by.size() > 45) by = by.substr(0, 44) + "…";
    table.push_back({r.image, r.created, by, r.size, r.comment});
  }
  print_table(table);
}

void run_check(const GlobalOptions& global, bool repair, bool deep) {
  auto s = open_store(global);
  auto r = must(s->check(repair ? store::Repair::yes : store::Repair::no,
                         deep ? store::CheckDepth::deep : store::CheckDepth::blobs));
  for (const auto& d : r.corrupt) std::cout << "corrupt: " << d.str() << '\n';
  for (const auto& d : r.missing) std::cout << "missing: " << d.str() << '\n';
  for (const auto& d : r.orphaned) std::cout << "orphaned: " << d.str() << '\n';
  for (const auto& b : r.bad_snapshots) std::cout << "corrupt snapshot: " << b << '\n';
  for (const auto& b : r.stale) std::cout << "stale: " << b << '\n';
  for (const auto& a : r.repaired) std::cout << "repaired: " << a << '\n';
  std::cout << "checked " << r.checked << " blobs: " << r.corrupt.size() << " corrupt, " << r.missing.size()
            << " missing, " << r.orphaned.size() << " orphaned\n";
  if (deep) {
    std::cout << "checked " << r.snapshots_checked << " snapshots: " << r.bad_snapshots.size() << " corrupt, "
              << r.stale.size() << " stale\n";
  }
  // After a repair, missing blobs and corrupt snapshots (removed, re-made on
  // next use) no longer matter; corrupt blobs always fail.
  bool bad = !r.corrupt.empty() || (!repair && (!r.missing.empty() || !r.bad_snapshots.empty()));
  if (bad) throw CliExit{k_exit_failure, ""};
}

// Registers the same command under two parents (e.g. `images` and `image ls`).
template <typename Setup>
void add_twice(CLI::App& a, const char* name_a, CLI::App& b, const char* name_b, const char* help, Setup setup) {
  setup(a.add_subcommand(name_a, help));
  setup(b.add_subcommand(name_b, help));
}

}  // namespace

void register_image_commands(CLI::App& app, GlobalOptions& global) {
  GlobalOptions* g = &global;
  auto* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);

  add_twice(app, "images", *image, "ls", "List images", [g](CLI::App* c) {
    auto o = std::make_shared<ImagesOptions>();
    c->add_flag("-a,--all", o->all, "Show all images (intermediate images too)");
    c->add_flag("--digests", o->digests, "Show digests");
    c->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    c->add_option("--format", o->format, "Format output: 'json' or a Go template");
    c->add_option("REPOSITORY", o->filter_repo, "Only images of this repository[:tag]");
    c->callback([g, o] { run_images(*g, *o); });
  });

  image->get_subcommand("ls")->alias("list");

  add_twice(app, "inspect", *image, "inspect", "Display detailed information on one or more images", [g](CLI::App* c) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>();
    c->add_option("IMAGE", *names, "Image name, ID or digest")->required();
    c->add_option("-f,--format", *format, "Format output using a Go template");
    c->callback([g, names, format] { run_inspect(*g, *names, *format); });
  });

  add_twice(app, "tag", *image, "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", [g](CLI::App* c) {
    auto src = std::make_shared<std::string>();
    auto dst = std::make_shared<std::string>();
    c->add_option("SOURCE_IMAGE", *src)->required();
    c->add_option("TARGET_IMAGE", *dst)->required();
    c->callback([g, src, dst] { run_tag(*g, *src, *dst); });
  });

  add_twice(app, "rmi", *image, "rm", "Remove one or more images", [g](CLI::App* c) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    c->add_option("IMAGE", *names, "Image name, ID or digest")->required();
    c->add_flag("-f,--force", *force, "Force removal of the image");
    c->callback([g, names, force] { run_rmi(*g, *names, *force); });
  });

  add_twice(app, "history", *image, "history", "Show the history of an image", [g](CLI::App* c) {
    auto name = std::make_shared<std::string>();
    auto o = std::make_shared<HistoryOptions>();
    c->add_option("IMAGE", *name)->required();
    c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    c->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    c->add_option("-H,--human", o->human, "Print sizes and dates in human readable format (default true)");
    c->add_option("--format", o->format, "Format output: 'json' or a Go template");
    c->callback([g, name, o] { run_history(*g, *name, *o); });
  });

  auto* prune = image->add_subcommand("prune", "Remove unused images");
  auto prune_all = std::make_shared<bool>(false);
  auto prune_force = std::make_shared<bool>(false);
  prune->add_flag("-a,--all", *prune_all, "Remove all unused images, not just dangling ones");
  prune->add_flag("-f,--force", *prune_force, "Do not prompt for confirmation");
  prune->callback([g, prune_all, prune_force] { run_prune(*g, *prune_all, *prune_force); });

  auto* store_cmd = app.add_subcommand("store", "Maintain the image store");
  store_cmd->require_subcommand(1);
  auto* check_cmd = store_cmd->add_subcommand("check", "Re-hash every blob; report corrupt, missing and orphaned blobs");
  auto repair = std::make_shared<bool>(false);
  auto deep = std::make_shared<bool>(false);
  check_cmd->add_flag("--repair", *repair,
                      "Drop index rows whose blobs are gone, remove orphaned blobs (older than 10 minutes) and, "
                      "with --deep, corrupt and stale snapshots");
  check_cmd->add_flag("--deep", *deep,
                      "Also compare every unpacked snapshot with its layer and report stale snapshot directories");
  check_cmd->callback([g, repair, deep] { run_check(*g, *repair, *deep); });
}

}  // namespace mkimage::cli
