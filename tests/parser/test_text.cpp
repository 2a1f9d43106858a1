// go_quote (parser/text.hpp): Go's strconv.Quote, byte for byte.
#include <doctest/doctest.h>

#include "parser/text.hpp"

using mkimage::parser::go_quote;

TEST_CASE("go_quote escapes ASCII like strconv.Quote") {
  CHECK(go_quote("") == "\"\"");
  CHECK(go_quote("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\x01\"");
  CHECK(go_quote("\a\b\f\r\t\v") == "\"\\a\\b\\f\\r\\t\\v\"");
  CHECK(go_quote("\x7f x") == "\"\\x7f x\"");
}

TEST_CASE("go_quote keeps printable UTF-8 and escapes the rest") {
  CHECK(go_quote("h\xC3\xA9 \xED\x95\x9C \xF0\x9F\x98\x80") == "\"h\xC3\xA9 \xED\x95\x9C \xF0\x9F\x98\x80\"");
  CHECK(go_quote("\xEF\xBF\xBD") == "\"\xEF\xBF\xBD\"");  // U+FFFD itself is printable
  CHECK(go_quote("\xC2\x85") == "\"\\u0085\"");         // C1 control
  CHECK(go_quote("\xC2\xA0") == "\"\\u00a0\"");         // no-break space
  CHECK(go_quote("\xE2\x80\x8B") == "\"\\u200b\"");     // zero-width space (format)
  CHECK(go_quote("\xEE\x80\x80") == "\"\\ue000\"");     // private use
  CHECK(go_quote("\xF3\xB0\x80\x80") == "\"\\U000f0000\"");
}

TEST_CASE("go_quote escapes each byte of invalid UTF-8") {
  CHECK(go_quote("\xff") == "\"\\xff\"");
  CHECK(go_quote("\xC0\x80") == "\"\\xc0\\x80\"");          // overlong
  CHECK(go_quote("\xED\xA0\x80") == "\"\\xed\\xa0\\x80\"");  // surrogate
  CHECK(go_quote("\xE2\x82") == "\"\\xe2\\x82\"");          // truncated
  CHECK(go_quote("\xF4\x90\x80\x80") == "\"\\xf4\\x90\\x80\\x80\"");  // > U+10FFFF
}
