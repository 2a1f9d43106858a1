// Fuzz target: the OCI JSON documents mkimage reads from registries, archives
// and stores (store/image.hpp): image manifest, image index and image config,
// with their descriptors, platforms, digests, media types and RFC 3339
// timestamps; then platform selection from an index (registry/pull.hpp).
// Invariant checked: a document that parses serialises to bytes that parse
// again to an equal value (what the store writes, it can read back).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "registry/pull.hpp"
#include "store/image.hpp"

using namespace mkimage::store;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "OCI JSON invariant broken: %s\n", what);
  std::abort();
}

template <class T, class Parse>
void round_trip(const T& value, Parse parse, const char* what) {
  auto again = parse(serialize(value));
  if (!again.ok()) {
    std::fprintf(stderr, "%s\n", again.error().message.c_str());
    broken(what);
  }
  if (!(*again == value)) broken(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto m = parse_manifest(bytes); m.ok()) round_trip(*m, parse_manifest, "manifest does not round-trip");
  if (auto c = parse_image_config(bytes); c.ok()) round_trip(*c, parse_image_config, "config does not round-trip");
  if (auto i = parse_image_index(bytes); i.ok()) {
    round_trip(*i, parse_image_index, "index does not round-trip");
    Platform arm{"arm64", "linux", "v8"};
    (void)mkimage::registry::select_platform(*i, Platform{});
    (void)mkimage::registry::select_platform(*i, arm);
  }
  return 0;
}
