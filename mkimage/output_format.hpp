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

// Prints rows as columns padded like Go's text/tabwriter with docker's
// settings (minimum width 0, padding 3 spaces): each column is as wide as its
// widest cell, counted in UTF-8 code points. rows[0] is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace mkimage::cli
