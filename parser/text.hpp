// Text helpers shared across parser/: Go's strconv.Quote as BuildKit prints it
// (error messages, the AST dump, history strings such as `CMD ["a" "b"]`) and
// ASCII case mapping.
// Internal to parser/ (the public API is include/mkimage/).
#pragma once

#include <string>
#include <string_view>

namespace mkimage::parser {

// Go's strconv.Quote: `s` between double quotes, with `"` and `\` escaped,
// \a \b \f \n \r \t \v for those controls, other ASCII controls and DEL as
// \xHH, printable non-ASCII code points (Go's unicode.IsPrint, approximated)
// copied as UTF-8, other code points as \uHHHH or \UHHHHHHHH, and each byte of
// invalid UTF-8 (Go's utf8.DecodeRune rules) as \xHH. Lowercase hex.
std::string go_quote(std::string_view s);

// ASCII case mapping (bytes 'A'-'Z' / 'a'-'z' only; other bytes, UTF-8
// included, are kept), as BuildKit's strings.ToLower on keywords and names.
std::string ascii_lower(std::string_view s);
std::string ascii_upper(std::string_view s);

}  // namespace mkimage::parser
