// `mkimage builds`: the build history (docs/history.md), like `docker buildx
// history`: ls, show (buildx's inspect), logs, export (per-step outcomes across
// builds as CSV or JSON, for cache experiments) and prune.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/json_text.hpp"

#include "mkimage/cli.hpp"
#include "mkimage/output_format.hpp"
#include "store/build_history.hpp"
#include "store/store.hpp"

namespace mkimage::cli {

namespace {

namespace fs = std::filesystem;
using store::BuildRecord;
using store::BuildStepRecord;

// buildx's durations: "0.4s", "12.3s", "2m 5s".
std::string short_duration(std::int64_t ms) {
  char buf[32];
  if (ms < 60000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm %llds", static_cast<long long>(ms / 60000),
                  static_cast<long long>((ms % 60000) / 1000));
  }
  return buf;
}

std::string status_word(const BuildRecord& b) {
  if (b.status == "completed") return "Completed";
  if (b.status == "error") return "Error";
  return "Running";
}

std::int64_t duration_ms(const BuildRecord& b) {
  return b.finished_ms ? b.finished_ms - b.started_ms : store::now_ms() - b.started_ms;
}

nlohmann::json build_json(const BuildRecord& b, const std::vector<BuildStepRecord>* steps) {
  nlohmann::json j;
  j["ref"] = b.id;
  j["name"] = b.name;
  j["status"] = status_word(b);
  j["created_at"] = rfc3339_utc(b.started_ms / 1000);
  if (b.finished_ms) j["completed_at"] = rfc3339_utc(b.finished_ms / 1000);
  j["duration_ms"] = duration_ms(b);
  j["dockerfile"] = b.dockerfile;
  j["dockerfile_digest"] = b.dockerfile_digest;
  j["context"] = b.context;
  j["target"] = b.target;
  j["build_args"] = b.args;
  j["secrets"] = b.secrets;
  j["tags"] = b.tags;
  if (!b.image.empty()) j["image_id"] = b.image;
  if (!b.manifest.empty()) j["manifest_digest"] = b.manifest;
  if (!b.error.empty()) j["error"] = b.error;
  if (steps) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : *steps) {
      arr.push_back({{"number", s.number}, {"label", s.label}, {"name", s.name}, {"outcome", s.outcome},
                     {"duration_ms", s.duration_ms}, {"cache_key", s.cache_key}, {"miss_reason", s.miss_reason},
                     {"log_bytes", s.log_bytes}});
    }
    j["steps"] = arr;
  }
  return j;
}

std::unique_ptr<store::Store> open(const GlobalOptions& g) { return open_store(g); }

void run_ls(const GlobalOptions& g, const std::string& format, bool no_trunc) {
  auto st = open(g);
  auto builds = must(store::list_builds(st->index()));
  if (format == "json") {
    for (const auto& b : builds) std::cout << util::json_text(build_json(b, nullptr)) << '\n';
    return;
  }
  if (!format.empty() && format != "table") throw CliExit{k_exit_usage, "mkimage builds ls: --format must be table or json"};
  std::vector<std::vector<std::string>> rows{{"BUILD ID", "NAME", "STATUS", "CREATED AT", "DURATION"}};
  std::int64_t now = store::now_ms();
  for (const auto& b : builds) {
    std::string name = b.name;
    if (!no_trunc && name.size() > 40) name = name.substr(0, 37) + "...";
    rows.push_back({b.id, name, status_word(b),
                    human_duration(std::max<std::int64_t>(0, (now - b.started_ms) / 1000)) + " ago",
                    short_duration(duration_ms(b))});
  }
  print_table(rows);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void run_show(const GlobalOptions& g, const std::string& id, const std::string& format) {
  auto st = open(g);
  auto b = must(store::find_build(st->index(), id));
  auto steps = must(store::build_steps(st->index(), b.id));
  if (format == "json") {
    std::cout << util::json_text(build_json(b, &steps), 2) << '\n';
    return;
  }
  if (!format.empty() && format != "pretty") throw CliExit{k_exit_usage, "mkimage builds show: --format must be pretty or json"};
  std::vector<std::vector<std::string>> info{{"Build ID:", b.id},
                                             {"Name:", b.name},
                                             {"Context:", b.context},
                                             {"Dockerfile:", b.dockerfile},
                                             {"Dockerfile digest:", b.dockerfile_digest}};
  if (!b.target.empty()) info.push_back({"Target:", b.target});
  for (const auto& [k, v] : b.args) info.push_back({"Build Arg:", k + "=" + v});
  for (const auto& s : b.secrets) info.push_back({"Secret:", s});
  if (!b.tags.empty()) info.push_back({"Tags:", join(b.tags, ", ")});
  info.push_back({"Started:", rfc3339_utc(b.started_ms / 1000)});
  if (b.finished_ms) info.push_back({"Completed:", rfc3339_utc(b.finished_ms / 1000)});
  info.push_back({"Duration:", short_duration(duration_ms(b))});
  info.push_back({"Status:", status_word(b)});
  int cached = 0, ran = 0;
  for (const auto& s : steps) {
    if (s.outcome == "CACHED" || s.outcome == "remote-cached") ++cached;
    else if (s.outcome == "run") ++ran;
  }
  info.push_back({"Build Steps:", std::to_string(steps.size()) + " (" + std::to_string(cached) + " cached, " +
                                      std::to_string(ran) + " run)"});
  if (!b.image.empty()) info.push_back({"Image:", b.image});
  if (!b.manifest.empty()) info.push_back({"Manifest:", b.manifest});
  print_table(info);
  if (!b.error.empty()) std::cout << "\nError:\n" << b.error << (b.error.back() == '\n' ? "" : "\n");
  std::cout << '\n';
  std::vector<std::vector<std::string>> rows{{"STEP", "OUTCOME", "DURATION", "NAME"}};
  for (const auto& s : steps) {
    rows.push_back({"#" + std::to_string(s.number), s.outcome.empty() ? "-" : s.outcome, short_duration(s.duration_ms),
                    (s.label.empty() ? "" : s.label + " ") + s.name});
  }
  print_table(rows);
}

// Copies a whole log file to stdout, prefixing each line with `prefix`.
void print_log(const fs::path& p, const std::string& prefix) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return;
  if (prefix.empty()) {
    std::cout << in.rdbuf();
    return;
  }
  std::string line;
  while (std::getline(in, line)) std::cout << prefix << line << '\n';
}

// The steps of `b` with a log; a build whose process died wrote no step rows,
// so its log files alone name the steps it got to (number only).
std::vector<BuildStepRecord> steps_with_logs(store::Index& index, const fs::path& root, const BuildRecord& b) {
  auto steps = must(store::build_steps(index, b.id));
  if (!steps.empty() || b.error != store::k_interrupted_error) return steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(store::history_dir(root, b.id), ec)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".log")) continue;
    BuildStepRecord s;
    s.build = b.id;
    try {
      s.number = std::stoi(name);
    } catch (...) {
      continue;
    }
    steps.push_back(s);
  }
  std::sort(steps.begin(), steps.end(), [](const auto& x, const auto& y) { return x.number < y.number; });
  return steps;
}

void run_logs(const GlobalOptions& g, const std::string& id, int step) {
  auto st = open(g);
  auto b = must(store::find_build(st->index(), id));
  fs::path root = st->root().dir();
  auto steps = steps_with_logs(st->index(), root, b);
  if (step > 0) {
    auto it = std::find_if(steps.begin(), steps.end(), [&](const BuildStepRecord& s) { return s.number == step; });
    if (it == steps.end())
      throw CliExit{k_exit_failure, "mkimage: build " + b.id + " has no step #" + std::to_string(step)};
    print_log(store::history_log_path(root, b.id, step), "");
    return;
  }
  // Every step, as `--progress plain` prints it.
  for (const auto& s : steps) {
    std::string n = "#" + std::to_string(s.number) + " ";
    if (!s.name.empty()) std::cout << n << (s.label.empty() ? "" : s.label + " ") << s.name << '\n';
    print_log(store::history_log_path(root, b.id, s.number), n);
    if (s.outcome == "CACHED" || s.outcome == "remote-cached") std::cout << n << "CACHED\n";
    else if (s.outcome == "error") std::cout << n << "ERROR\n";
    else if (s.outcome == "run") std::cout << n << "DONE " << short_duration(s.duration_ms) << '\n';
    std::cout << '\n';
  }
}

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void run_export(const GlobalOptions& g, const std::string& format, const std::string& out_path) {
  if (format != "csv" && format != "json") throw CliExit{k_exit_usage, "mkimage builds export: --format must be csv or json"};
  auto st = open(g);
  auto builds = must(store::list_builds(st->index()));
  std::map<std::string, const BuildRecord*> by_id;
  for (const auto& b : builds) by_id[b.id] = &b;
  auto steps = must(store::all_build_steps(st->index()));
  std::ostringstream out;
  if (format == "csv") {
    out << "build_id,time,status,step,label,name,outcome,duration_ms,cache_key,miss_reason\n";
    for (const auto& s : steps) {
      const BuildRecord& b = *by_id.at(s.build);
      out << csv_field(b.id) << ',' << rfc3339_utc(b.started_ms / 1000) << ',' << b.status << ',' << s.number << ','
          << csv_field(s.label) << ',' << csv_field(s.name) << ',' << s.outcome << ',' << s.duration_ms << ','
          << s.cache_key << ',' << csv_field(s.miss_reason) << '\n';
    }
  } else {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : steps) {
      const BuildRecord& b = *by_id.at(s.build);
      arr.push_back({{"build_id", b.id}, {"time", rfc3339_utc(b.started_ms / 1000)}, {"status", b.status}, {"step", s.number},
                     {"label", s.label}, {"name", s.name}, {"outcome", s.outcome}, {"duration_ms", s.duration_ms},
                     {"cache_key", s.cache_key}, {"miss_reason", s.miss_reason}});
    }
    out << util::json_text(arr, 2) << '\n';
  }
  if (out_path.empty() || out_path == "-") {
    std::cout << out.str();
  } else {
    must(store::write_file_atomic(out_path, out.str()));
  }
}

void run_prune(const GlobalOptions& g, std::int64_t keep) {
  if (keep < 0) throw CliExit{k_exit_usage, "mkimage builds prune: --keep must be 0 or more"};
  auto st = open(g);
  auto removed = must(store::prune_builds(st->index(), st->root().dir(), static_cast<std::size_t>(keep)));
  for (const auto& id : removed) std::cout << "Deleted build " << id << '\n';
  std::cout << "Total: " << removed.size() << " build" << (removed.size() == 1 ? "" : "s") << " removed\n";
}

}  // namespace

void register_builds_commands(CLI::App& app, GlobalOptions& global) {
  GlobalOptions* g = &global;
  auto* builds = app.add_subcommand("builds", "Inspect the build history (docs/history.md)");
  builds->require_subcommand(1);

  auto* ls = builds->add_subcommand("ls", "List recorded builds, newest first");
  ls->alias("list");
  auto ls_format = std::make_shared<std::string>();
  auto ls_no_trunc = std::make_shared<bool>(false);
  ls->add_option("--format", *ls_format, "Format output: table or json (one object per line)");
  ls->add_flag("--no-trunc", *ls_no_trunc, "Don't truncate output");
  ls->callback([g, ls_format, ls_no_trunc] { run_ls(*g, *ls_format, *ls_no_trunc); });

  auto* show = builds->add_subcommand("show", "Show a build: its inputs, result and steps");
  show->alias("inspect");
  auto show_id = std::make_shared<std::string>();
  auto show_format = std::make_shared<std::string>();
  show->add_option("ID", *show_id, "Build ID or a unique prefix (default: the newest build)");
  show->add_option("--format", *show_format, "Format output: pretty or json");
  show->callback([g, show_id, show_format] { run_show(*g, *show_id, *show_format); });

  auto* logs = builds->add_subcommand("logs", "Print the full logs of a build, or of one step");
  auto logs_id = std::make_shared<std::string>();
  auto logs_step = std::make_shared<int>(0);
  logs->add_option("ID", *logs_id, "Build ID or a unique prefix")->required();
  logs->add_option("STEP", *logs_step, "Step number (#N): print only its output, as written")->check(CLI::PositiveNumber);
  logs->callback([g, logs_id, logs_step] { run_logs(*g, *logs_id, *logs_step); });

  auto* exp = builds->add_subcommand("export", "Export per-step outcomes of every build (CSV or JSON)");
  auto exp_format = std::make_shared<std::string>("csv");
  auto exp_out = std::make_shared<std::string>();
  exp->add_option("--format", *exp_format, "csv or json")->capture_default_str();
  exp->add_option("-o,--output", *exp_out, "Write to this file (default: stdout)");
  exp->callback([g, exp_format, exp_out] { run_export(*g, *exp_format, *exp_out); });

  auto* prune = builds->add_subcommand("prune", "Remove recorded builds and their logs");
  auto keep = std::make_shared<std::int64_t>(0);
  prune->add_option("--keep", *keep, "Keep the newest N builds (default 0)");
  prune->callback([g, keep] { run_prune(*g, *keep); });
}

}  // namespace mkimage::cli
