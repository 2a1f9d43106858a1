// Fuzz target: image references (store/reference.hpp: docker's
// distribution/reference grammar and normalisation), digests and media types
// on untrusted text. Invariant checked: a reference that parses prints (full
// and familiar forms) as text that parses again to the same reference.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "store/digest.hpp"
#include "store/media_type.hpp"
#include "store/reference.hpp"

using namespace mkimage::store;

namespace {

[[noreturn]] void broken(const char* what, std::string_view text) {
  std::fprintf(stderr, "reference invariant broken: %s for input \"%.*s\"\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)Digest::parse(text);
  (void)MediaType::parse(text);
  auto ref = Reference::parse(text);
  if (!ref.ok()) return 0;
  (void)ref->repository();
  (void)ref->familiar_repository();
  auto full = Reference::parse(ref->str());
  if (!full.ok() || !(*full == *ref)) broken("str() does not parse back", text);
  auto familiar = Reference::parse(ref->familiar());
  if (!familiar.ok() || !(*familiar == *ref)) broken("familiar() does not parse back", text);
  if (ref->tag()) (void)ref->with_tag(*ref->tag());
  return 0;
}
