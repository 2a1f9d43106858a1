#include <doctest/doctest.h>

#include "util/units.hpp"

using mkimage::util::parse_duration_seconds;
using mkimage::util::parse_size_bytes;

TEST_CASE("parse_size_bytes reads docker's sizes (go-units RAMInBytes: binary multiples)") {
  CHECK(*parse_size_bytes("10GB") == 10LL * 1024 * 1024 * 1024);
  CHECK(*parse_size_bytes("512MB") == 512LL * 1024 * 1024);
  CHECK(*parse_size_bytes("512mb") == 512LL * 1024 * 1024);
  CHECK(*parse_size_bytes("1.5k") == 1536);
  CHECK(*parse_size_bytes("2GiB") == 2LL * 1024 * 1024 * 1024);
  CHECK(*parse_size_bytes("1 g") == 1024LL * 1024 * 1024);
  CHECK(*parse_size_bytes("100") == 100);
  CHECK(*parse_size_bytes("0") == 0);
  for (const char* bad : {"", "lots", "10 GB extra", "-1G", "1.G", "G", "10XB", "99999999999P"})
    CHECK_MESSAGE(!parse_size_bytes(bad).ok(), bad);
  CHECK(parse_size_bytes("lots").error().message == "invalid size: 'lots'");
}

TEST_CASE("parse_duration_seconds reads Go durations (docker's --filter until=)") {
  CHECK(*parse_duration_seconds("24h") == 86400);
  CHECK(*parse_duration_seconds("1h30m") == 5400);
  CHECK(*parse_duration_seconds("1.5h") == 5400);
  CHECK(*parse_duration_seconds("90s") == 90);
  CHECK(*parse_duration_seconds("1500ms") == 1);
  CHECK(*parse_duration_seconds("0") == 0);
  for (const char* bad : {"", "10", "x", "-1h", "1d", "h", "1h30"}) CHECK_MESSAGE(!parse_duration_seconds(bad).ok(), bad);
  CHECK(parse_duration_seconds("1d").error().message.find("unknown unit") != std::string::npos);
}
