// Docker-compatible text output helpers shared by the image and container
// commands: human sizes and durations (github.com/docker/go-units) and a
// small subset of Go templates for `--format`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mkimage::cli {

// docker's units.HumanSizeWithPrecision(bytes, 3): decimal units, 3
// significant digits: 0 → "0B", 999 → "999B", 1234 → "1.23kB", 5330000 → "5.33MB".
std::string human_size(std::int64_t bytes);

// docker's units.HumanDuration: "Less than a second", "5 seconds",
// "About a minute", "3 minutes", "About an hour", "5 hours", "3 days",
// "2 weeks", "4 months", "2 years". `seconds` ≥ 0.
std::string human_duration(std::int64_t seconds);

// docker's units.HumanDuration(time.Since(t)) for a Unix time in seconds
// (times in the future count as 0): "5 minutes".
std::string time_since(std::int64_t unix_seconds);

// time_since(t) + " ago" (docker's CREATED / LAST USED cells); "N/A" when
// t ≤ 0 (not recorded).
std::string time_ago(std::int64_t unix_seconds);

// RFC 3339 in UTC to the second, as Go's time.RFC3339 prints a UTC time:
// "2026-12-06T09:30:48Z".
std::string rfc3339_utc(std::int64_t unix_seconds);

// Applies a Go-template-like format to a JSON value, as `docker ... --format`:
// literal text is copied; each {{ACTION}} is one of
//   .              the whole value
//   .A.B.C         a field path (map keys)
//   json PATH      the value at PATH as compact JSON
//   upper PATH / lower PATH / len PATH
// Values print like Go's fmt: strings raw, arrays "[a b]", objects "map[k:v]",
// null "<no value>". "\n", "\t" escapes in the format are expanded.
// Errors: an unterminated or unknown action (returns false and sets `error`).
bool apply_go_template(std::string_view format, const nlohmann::json& value, std::string& out, std::string& error);

// apply_go_template, or throws CliExit (k_exit_usage, "mkimage: <error>") for
// a bad template.
std::string format_template(std::string_view format, const nlohmann::json& value);

// One `--format` value for `value`: "json" prints it as compact JSON, any other
// format goes through format_template.
std::string format_value(std::string_view format, const nlohmann::json& value);

// Prints rows as columns padded like Go's text/tabwriter with docker's
// settings (minimum width 0, padding 3 spaces): each column is as wide as its
// widest cell, counted in UTF-8 code points. rows[0] is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace mkimage::cli
