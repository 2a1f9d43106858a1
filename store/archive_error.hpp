// The reason libarchive gives for a failed call, as text for an error message.
// archive_error_string() is NULL when libarchive set no message (a truncated
// pax header, for one): building a std::string from it crashed on such a
// layer (testdata/fuzz/layer_apply/regressions/). Internal to the store.
#pragma once

#include <archive.h>

#include <string>

namespace mkimage::store {

// libarchive's message, else "libarchive error".
inline std::string archive_error_text(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "libarchive error";
}

}  // namespace mkimage::store
