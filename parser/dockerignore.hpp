// `.dockerignore`: reading the file (moby/patternmatcher/ignorefile.ReadAll), choosing
// it (`<Dockerfile>.dockerignore` beside the Dockerfile wins over
// `<context>/.dockerignore`, as BuildKit's dockerui does), and walking a build context
// the way BuildKit sends it (tonistiigi/fsutil filter.go walk + patternmatcher).
// Pattern language: parser/path_match.hpp (PatternMatcher).
// Conformance: testdata/handed/conformance/dockerignore/cases.tsv (README §5).
//
// The Dockerfile and the .dockerignore are not special: patterns exclude them like any
// other file (they are read by the builder, not taken from the walk).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parser/path_match.hpp"
#include "util/result.hpp"

namespace mkimage::parser {

// Parses .dockerignore text into patterns (ignorefile.ReadAll): lines split on "\n"
// (a trailing "\r" dropped), a UTF-8 BOM on the first line removed, lines whose first
// byte is `#` skipped (before trimming: " #x" is a pattern), surrounding whitespace
// trimmed, empty lines skipped; `!` then whitespace is an exception; the rest is
// path-cleaned and one leading `/` dropped. Returns patterns in file order, e.g.
// {"*", "!src", "src/tmp"}. Never fails (invalid patterns fail in PatternMatcher::create).
std::vector<std::string> parse_dockerignore(std::string_view content);

// Which ignore file applies and its patterns. `dockerfile_path` is the Dockerfile as
// given on the command line (absolute or relative to the current directory); when
// `<dir of Dockerfile>/<basename of Dockerfile>.dockerignore` exists it is used,
// otherwise `<context_dir>/.dockerignore`; neither existing gives no patterns.
// An empty `dockerfile_path` (e.g. Dockerfile from stdin) only checks the context.
// Errors: the file exists but cannot be read (message names the path and errno).
struct DockerignoreFile {
  std::optional<std::filesystem::path> path;  // the file read, nullopt when none
  std::vector<std::string> patterns;          // parse_dockerignore of its content
};
util::Result<DockerignoreFile> load_dockerignore(const std::filesystem::path& context_dir,
                                                 const std::filesystem::path& dockerfile_path);

// Called for each entry sent: `rel_path` is relative to the root, `/`-separated, no
// leading "./" ("sub/deep/x.py"); `st` is its lstat (symlinks are not followed).
// Returning an error stops the walk with that error.
using ContextWalkFn = std::function<util::Result<void>(const std::string& rel_path,
                                                       const struct stat& st)>;

// Walks `root` (the build context) in lexical byte order, a directory before its
// entries, and calls `fn` for exactly the entries BuildKit's context transfer keeps
// under `patterns` (exclude patterns as from parse_dockerignore):
//  - an entry is kept when matches_using_parent_results says it is not excluded;
//  - an excluded directory is still descended unless no exception could re-include
//    anything below it (fsutil: only when every exception is a plain path, after
//    stripping a trailing "/**" or "/*", and none lies under that directory);
//  - an excluded directory is reported (once, before its first kept descendant) when
//    something below it is kept.
// The root itself is not reported. Errors: invalid patterns, I/O (unreadable
// directory: a permission error inside an excluded directory is ignored, as fsutil).
util::Result<void> walk_context(const std::filesystem::path& root,
                                const std::vector<std::string>& patterns,
                                const ContextWalkFn& fn);

// Same walk with an already-compiled matcher (e.g. for COPY --exclude, where the
// root is the copy source).
util::Result<void> walk_context(const std::filesystem::path& root, const PatternMatcher& matcher,
                                const ContextWalkFn& fn);

}  // namespace mkimage::parser
