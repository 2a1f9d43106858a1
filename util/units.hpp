// docker's size and duration syntax for flags and configuration values.
#pragma once

#include <cstdint>
#include <string>

#include "util/result.hpp"

namespace mkimage::util {

// docker/go-units RAMInBytes (the syntax of `--keep-storage`, `--shm-size`,
// `--memory`): a decimal number, an optional space, an optional unit
// k/m/g/t/p (any case) with an optional "i" and "b" — binary multiples:
// "512" = 512, "1.5k" = 1536, "10GB" = "10g" = "10GiB" = 10·1024³.
// Errors: anything else ("invalid size: 'lots'").
util::Result<std::int64_t> parse_size_bytes(const std::string& text);

// Go's time.ParseDuration (docker's `--filter until=24h`): a sequence of
// decimal numbers with units ns, us (µs), ms, s, m, h: "90s", "1h30m",
// "1.5h". Returns seconds (fractions dropped). A negative duration is an error.
util::Result<std::int64_t> parse_duration_seconds(const std::string& text);

}  // namespace mkimage::util
