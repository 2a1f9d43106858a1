// How build-check warnings print (docs/checks.md): buildx's summary after a
// build and its `--check` report.
#pragma once

#include <string>
#include <vector>

#include "mkimage/build.hpp"

namespace mkimage::cli {

// BuildKit's short form: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)".
std::string check_short(const CheckWarning& w);

// After a build (buildx printWarnings, expanded as with `docker --debug`):
//   "\n 1 warning found:\n - <short>\n<description>\nMore info: <url>\n<excerpt>\n" per warning.
// "" when there are none.
std::string format_check_summary(const std::vector<CheckWarning>& warnings);

// `--check` (buildx's lint result): "Check complete, N warnings have been found!"
// then per warning "\nWARNING: Rule - URL\n<detail>\n<excerpt>"; with no warning
// "Check complete, no warnings found.\n" (unless `failed`: the error follows instead).
std::string format_check_report(const std::vector<CheckWarning>& warnings, bool failed);

}  // namespace mkimage::cli
