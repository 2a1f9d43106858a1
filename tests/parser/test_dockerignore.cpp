// .dockerignore: every row of conformance/dockerignore/cases.tsv through the real
// context walk (a temp tree per row) and the pure matcher, case 11's expected file
// set, file reading rules and the <Dockerfile>.dockerignore precedence.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "parser/dockerignore.hpp"

namespace fs = std::filesystem;
using namespace mkimage::parser;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

// A temp directory removed at scope exit unless the test failed.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mkimage-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

// Every entry the walk reports, directories with a trailing '/'.
std::set<std::string> walk(const fs::path& root, const std::vector<std::string>& patterns,
                           std::string* error = nullptr) {
  std::set<std::string> seen;
  auto r = walk_context(root, patterns, [&](const std::string& rel, const struct stat& st) {
    seen.insert(S_ISDIR(st.st_mode) ? rel + "/" : rel);
    return mkimage::util::Result<void>();
  });
  if (!r.ok()) {
    if (error) *error = r.error().message;
    else FAIL("walk failed: " << r.error().message);
  }
  return seen;
}

}  // namespace

TEST_CASE("dockerignore: cases.tsv rows through the context walk and the matcher") {
  std::string data = read_file(fs::path(MKIMAGE_HANDED_DIR) / "conformance/dockerignore/cases.tsv");
  auto lines = split(data, '\n');
  REQUIRE(lines.size() > 1);
  CHECK(lines[0] == "patterns\tpath\texcluded\tnote");
  int rows = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto cols = split(lines[i], '\t');
    REQUIRE_MESSAGE(cols.size() == 4, lines[i]);
    const std::string& pattern_col = cols[0];
    const std::string& path = cols[1];
    const std::string& expected = cols[2];
    ++rows;
    INFO("row " << i << ": " << lines[i]);

    std::string file_text;
    for (const std::string& p : split(pattern_col, ';')) file_text += p + "\n";
    auto patterns = parse_dockerignore(file_text);

    TempDir tmp;
    bool is_dir = !path.empty() && path.back() == '/';
    std::string rel = is_dir ? path.substr(0, path.size() - 1) : path;
    if (is_dir) fs::create_directories(tmp.path / rel);
    else write(tmp.path / rel, "x\n");

    auto matcher = PatternMatcher::create(patterns);
    if (expected == "error") {
      CHECK_FALSE(matcher.ok());
      std::string error;
      walk(tmp.path, patterns, &error);
      CHECK_FALSE(error.empty());
      continue;
    }
    REQUIRE_MESSAGE(matcher.ok(), matcher.error().message);
    REQUIRE((expected == "true" || expected == "false"));
    bool excluded = expected == "true";
    auto seen = walk(tmp.path, patterns);
    CHECK_MESSAGE(seen.count(path) == (excluded ? 0u : 1u), "walk reported: " << seen.size() << " entries");
    // Every reported entry has its parent directories reported too.
    for (const std::string& e : seen) {
      std::string p = e.back() == '/' ? e.substr(0, e.size() - 1) : e;
      size_t slash = p.rfind('/');
      if (slash != std::string::npos) CHECK(seen.count(p.substr(0, slash) + "/") == 1);
    }
    // The pure matcher agrees, except for the documented walk quirk row.
    bool quirk = pattern_col == "**/*.tmp;!keep";
    if (!quirk) CHECK(matcher->matches_or_parent_matches(rel) == excluded);
    else CHECK(matcher->matches_or_parent_matches(rel) == !excluded);
  }
  CHECK(rows == 62);
}

TEST_CASE("dockerignore: case 11 file set") {
  fs::path context = fs::path(MKIMAGE_HANDED_DIR) / "cases/11-dockerignore-exceptions/context";
  auto file = load_dockerignore(context, fs::path(MKIMAGE_HANDED_DIR) / "cases/11-dockerignore-exceptions/Dockerfile");
  REQUIRE(file.ok());
  REQUIRE(file->path.has_value());
  CHECK(*file->path == context / ".dockerignore");
  CHECK(file->patterns == std::vector<std::string>{"*", "!**/*.py", "!data", "data/file1"});

  TempDir tmp;  // a copy, so that busybox and a Dockerfile (variant B) can be added
  fs::copy(context, tmp.path, fs::copy_options::recursive);
  write(tmp.path / "busybox", "binary\n");
  write(tmp.path / "Dockerfile", "FROM scratch\nCOPY . /app/\n");
  auto seen = walk(tmp.path, file->patterns);
  CHECK(seen == std::set<std::string>{"top.py", "sub/", "sub/inner.py", "sub/deep/",
                                      "sub/deep/deeper.py", "data/", "data/file2"});
}

TEST_CASE("dockerignore: reading rules") {
  CHECK(parse_dockerignore("\xEF\xBB\xBF" "a\r\n# c\n  # not a comment\n\n  !  b/  \n/c/./d/..\n//e\n") ==
        std::vector<std::string>{"a", "# not a comment", "!b", "c", "e"});
  CHECK(parse_dockerignore("!\n").size() == 1);
  CHECK_FALSE(PatternMatcher::create(parse_dockerignore("!\n")).ok());
  CHECK(parse_dockerignore("last-without-newline") == std::vector<std::string>{"last-without-newline"});
}

TEST_CASE("dockerignore: <Dockerfile>.dockerignore takes precedence") {
  TempDir tmp;
  write(tmp.path / "ctx/.dockerignore", "from-context\n");
  write(tmp.path / "df/app.Dockerfile", "FROM scratch\n");
  write(tmp.path / "df/app.Dockerfile.dockerignore", "from-dockerfile\n");
  auto r = load_dockerignore(tmp.path / "ctx", tmp.path / "df/app.Dockerfile");
  REQUIRE(r.ok());
  CHECK(r->patterns == std::vector<std::string>{"from-dockerfile"});
  CHECK(*r->path == tmp.path / "df/app.Dockerfile.dockerignore");

  r = load_dockerignore(tmp.path / "ctx", tmp.path / "df/other.Dockerfile");
  REQUIRE(r.ok());
  CHECK(r->patterns == std::vector<std::string>{"from-context"});

  r = load_dockerignore(tmp.path / "df", tmp.path / "df/missing");
  REQUIRE(r.ok());
  CHECK_FALSE(r->path.has_value());
  CHECK(r->patterns.empty());
}

TEST_CASE("dockerignore: walk order, skipped directories, symlinks") {
  TempDir tmp;
  write(tmp.path / "b/x", "");
  write(tmp.path / "a/y", "");
  write(tmp.path / "node_modules/m/index.js", "");
  write(tmp.path / "z", "");
  fs::create_symlink("b", tmp.path / "link");
  std::vector<std::string> order;
  auto r = walk_context(tmp.path, std::vector<std::string>{"node_modules", "!b/x"},
                        [&](const std::string& rel, const struct stat& st) {
                          if (rel == "link") CHECK(S_ISLNK(st.st_mode));
                          order.push_back(rel);
                          return mkimage::util::Result<void>();
                        });
  REQUIRE(r.ok());
  CHECK(order == std::vector<std::string>{"a", "a/y", "b", "b/x", "link", "z"});

  // An error from the callback stops the walk.
  int calls = 0;
  r = walk_context(tmp.path, std::vector<std::string>{}, [&](const std::string&, const struct stat&) {
    ++calls;
    return mkimage::util::Result<void>(mkimage::util::Error{"stop"});
  });
  CHECK_FALSE(r.ok());
  CHECK(calls == 1);
}
