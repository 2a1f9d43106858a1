// Go filepath.Match vectors (as documented by Go's own test table), path cleaning,
// and moby/patternmatcher single-pattern and ordering behaviour.
#include <doctest/doctest.h>

#include "parser/path_match.hpp"

using namespace mkimage::parser;

namespace {

struct MatchRow {
  const char* pattern;
  const char* name;
  bool match;
  bool error;
};

bool pm_matches(const std::vector<std::string>& patterns, const std::string& path) {
  auto pm = PatternMatcher::create(patterns);
  REQUIRE_MESSAGE(pm.ok(), pm.error().message);
  return pm->matches_or_parent_matches(path);
}

}  // namespace

TEST_CASE("go_path_match: filepath.Match behaviour") {
  const MatchRow rows[] = {
      {"abc", "abc", true, false},
      {"*", "abc", true, false},
      {"*c", "abc", true, false},
      {"a*", "a", true, false},
      {"a*", "abc", true, false},
      {"a*", "ab/c", false, false},
      {"a*/b", "abc/b", true, false},
      {"a*/b", "a/c/b", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
      {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
      {"ab[c]", "abc", true, false},
      {"ab[b-d]", "abc", true, false},
      {"ab[e-g]", "abc", false, false},
      {"ab[^c]", "abc", false, false},
      {"ab[^b-d]", "abc", false, false},
      {"ab[^e-g]", "abc", true, false},
      {"a\\*b", "a*b", true, false},
      {"a\\*b", "ab", false, false},
      {"a?b", "a☺b", true, false},
      {"a[^a]b", "a☺b", true, false},
      {"a???b", "a☺b", false, false},
      {"a[^a][^a][^a]b", "a☺b", false, false},
      {"[a-ζ]*", "α", true, false},
      {"*[a-ζ]", "A", false, false},
      {"a?b", "a/b", false, false},
      {"a*b", "a/b", false, false},
      {"[\\]a]", "]", true, false},
      {"[\\-]", "-", true, false},
      {"[x\\-]", "x", true, false},
      {"[x\\-]", "-", true, false},
      {"[x\\-]", "z", false, false},
      {"[\\-x]", "x", true, false},
      {"[\\-x]", "-", true, false},
      {"[\\-x]", "a", false, false},
      {"[!a]", "!", true, false},  // `!` is not negation in Go
      {"[]a]", "]", false, true},
      {"[-]", "-", false, true},
      {"[x-]", "x", false, true},
      {"[x-]", "-", false, true},
      {"[x-]", "z", false, true},
      {"[-x]", "x", false, true},
      {"[-x]", "-", false, true},
      {"[-x]", "a", false, true},
      {"\\", "a", false, true},
      {"[a-b-c]", "a", false, true},
      {"[", "a", false, true},
      {"[^", "a", false, true},
      {"[^bc", "a", false, true},
      {"a[", "a", false, true},
      {"a[", "ab", false, true},
      {"a[", "x", false, true},
      {"a/b[", "x", false, true},
      {"*x", "xxx", true, false},
      {"x*", "", false, false},
      {"", "", true, false},
      {"", "a", false, false},
  };
  for (const MatchRow& row : rows) {
    INFO("pattern " << std::string(row.pattern) << " name " << std::string(row.name));
    auto r = go_path_match(row.pattern, row.name);
    if (row.error) {
      CHECK_FALSE(r.ok());
      if (!r.ok()) CHECK(r.error().message == "syntax error in pattern");
    } else {
      REQUIRE(r.ok());
      CHECK(*r == row.match);
    }
  }
}

TEST_CASE("contains_wildcards and clean_path") {
  CHECK(contains_wildcards("*.txt"));
  CHECK(contains_wildcards("a/b?"));
  CHECK(contains_wildcards("[ab]"));
  CHECK_FALSE(contains_wildcards("plain/path"));
  CHECK_FALSE(contains_wildcards("a\\*b"));
  CHECK(contains_wildcards("a\\\\*b"));

  CHECK(clean_path("") == ".");
  CHECK(clean_path("./foo") == "foo");
  CHECK(clean_path("a/../b") == "b");
  CHECK(clean_path("foo/") == "foo");
  CHECK(clean_path("a//b/./c/") == "a/b/c");
  CHECK(clean_path("../a") == "../a");
  CHECK(clean_path("a/../../b") == "../b");
  CHECK(clean_path("/../a") == "/a");
  CHECK(clean_path("/") == "/");
  CHECK(clean_path("*/") == "*");
}

TEST_CASE("PatternMatcher: single patterns") {
  struct Row {
    const char* pattern;
    const char* path;
    bool match;
  };
  const Row rows[] = {
      {"**", "file", true},
      {"**/", "file", true},
      {"**", "dir/file", true},
      {"**/**", "dir/file", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/dir2/file", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**file", "file", true},
      {"**file", "dir/file", true},
      {"**/file", "dir/file", true},
      {"**file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*txt", "dir/dir/file.txt", true},
      {"**/file*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"a\\\\", "a\\", true},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a(b)c/def", "a(b)c/xyz", false},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"[[:digit:]]x", "7x", true},
      {"\\d", "7", true},  // `\d` reaches Go's regexp as a digit class
      {"a^b", "a^b", true},     // no wildcard: compared as a plain string
      {"a^b*", "a^bc", false},  // in a regexp kind `^` is an anchor: never matches mid-path
      {"[*]", "*]", false},
      {"[*]", "]", true},     // `[*]` becomes `[[^/]*]`: a class, a star, then `]`
  };
  for (const Row& row : rows) {
    INFO("pattern " << std::string(row.pattern) << " path " << std::string(row.path));
    CHECK(pm_matches({row.pattern}, row.path) == row.match);
  }
}

TEST_CASE("PatternMatcher: kinds, errors and ordering") {
  auto pm = PatternMatcher::create({"  foo  ", "", "docs**", "**suffix", "a/*.c", "!keep"});
  REQUIRE(pm.ok());
  REQUIRE(pm->patterns().size() == 5);
  using Kind = PathPattern::Kind;
  CHECK(pm->patterns()[0].kind == Kind::exact);
  CHECK(pm->patterns()[0].text == "foo");
  CHECK(pm->patterns()[1].kind == Kind::prefix);
  CHECK(pm->patterns()[2].kind == Kind::suffix);
  CHECK(pm->patterns()[3].kind == Kind::regexp);
  CHECK(pm->patterns()[3].dirs == std::vector<std::string>{"a", "*.c"});
  CHECK(pm->patterns()[4].exclusion);
  CHECK(pm->has_exclusions());

  CHECK_FALSE(PatternMatcher::create({"!"}).ok());
  CHECK_FALSE(PatternMatcher::create({"[abc"}).ok());
  CHECK_FALSE(PatternMatcher::create({"a\\"}).ok());
  CHECK_FALSE(PatternMatcher::create({"\\q"}).ok());   // invalid in Go's regexp
  CHECK_FALSE(PatternMatcher::create({"[z-a]"}).ok()); // invalid range

  CHECK(pm_matches({"*.md", "!README.md"}, "CHANGES.md"));
  CHECK_FALSE(pm_matches({"*.md", "!README.md"}, "README.md"));
  CHECK(pm_matches({"!README.md", "*.md"}, "README.md"));
  CHECK_FALSE(pm_matches({"docs", "!docs/sub"}, "docs/sub/x/y"));
  CHECK_FALSE(pm_matches({"*"}, "."));

  // The walk variant: a directly matched child is not rescued by an ancestor exception.
  auto walk = PatternMatcher::create({"**/*.tmp", "!keep"});
  REQUIRE(walk.ok());
  PatternMatchInfo root, keep_info;
  CHECK_FALSE(walk->matches_using_parent_results("keep", root, &keep_info));
  CHECK(walk->matches_using_parent_results("keep/a.tmp", keep_info, nullptr));
  CHECK_FALSE(walk->matches_or_parent_matches("keep/a.tmp"));
}
