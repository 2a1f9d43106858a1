// The build context (issue 4 "Command": `mkimage build ... CONTEXT`): a
// directory, or `-` for stdin holding a tar (plain, gzip, bzip2, xz or zstd) or
// a lone Dockerfile; plus its `.dockerignore` filter. The filter follows
// BuildKit: `<Dockerfile>.dockerignore` beside the Dockerfile takes precedence
// over `<context>/.dockerignore`; patterns use parser/dockerignore (last match
// wins, `!` exceptions, `**`), and an excluded directory is still walked when an
// exception could re-include something below it (fsutil's walker,
// testdata/handed/cases/11-dockerignore-exceptions).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

// Decides which context paths COPY/ADD may see. Paths are context-relative,
// cleaned, "/"-separated, without a leading "/" (e.g. "sub/inner.py").
class PathFilter {
public:
  virtual ~PathFilter() = default;
  // True when `rel` is excluded by the patterns (last matching pattern wins).
  virtual bool excluded(std::string_view rel) const = 0;
  // For an excluded directory `rel`: true when some exception pattern might
  // match a path below it, so a walk must still descend into it.
  virtual bool may_reinclude_below(std::string_view rel) const = 0;
};

// A filter that excludes nothing.
class NoFilter : public PathFilter {
public:
  bool excluded(std::string_view) const override { return false; }
  bool may_reinclude_below(std::string_view) const override { return false; }
};

// A filter from .dockerignore lines (read with parser/dockerignore.hpp
// parse_dockerignore: comments and blanks skipped, patterns cleaned as BuildKit
// does). Errors: invalid patterns (parser::PatternMatcher::create).
util::Result<std::unique_ptr<PathFilter>> make_dockerignore_filter(const std::vector<std::string>& lines);

class BuildContext {
public:
  // A directory context. `dockerfile` (host path, may be outside the context)
  // selects `<dockerfile>.dockerignore` when that file exists; else
  // `<dir>/.dockerignore` is used when it exists. Errors: `dir` is not a directory.
  static util::Result<BuildContext> open_directory(const std::filesystem::path& dir,
                                                   const std::optional<std::filesystem::path>& dockerfile = {});

  // `-`: reads all of `fd`. A tar (possibly compressed) is unpacked into a new
  // directory under `temp_parent` (removed with this object); its
  // `.dockerignore` applies. Anything else is a lone Dockerfile: the context is an
  // empty directory and stdin_dockerfile() holds the bytes. Errors: read or
  // unpack failures; tar members escaping the directory are rejected.
  static util::Result<BuildContext> open_stream(int fd, const std::filesystem::path& temp_parent);

  BuildContext(BuildContext&&) noexcept;
  BuildContext& operator=(BuildContext&&) noexcept;
  ~BuildContext();

  // The directory holding the context files (host path).
  const std::filesystem::path& root() const { return m_root; }
  // The Dockerfile read from stdin, when the stream was not a tar.
  const std::optional<std::string>& stdin_dockerfile() const { return m_stdin_dockerfile; }
  // The .dockerignore filter (NoFilter when there is none).
  const PathFilter& filter() const { return *m_filter; }
  // The .dockerignore patterns in use (parser::parse_dockerignore form), for diagnostics.
  const std::vector<std::string>& ignore_lines() const { return m_ignore_lines; }
  // True when `rel` is excluded by .dockerignore (see PathFilter::excluded).
  bool excluded(std::string_view rel) const { return m_filter->excluded(rel); }

private:
  BuildContext() = default;
  std::filesystem::path m_root;
  std::optional<std::filesystem::path> m_temp_dir;  // removed by the destructor
  std::optional<std::string> m_stdin_dockerfile;
  std::vector<std::string> m_ignore_lines;
  std::unique_ptr<PathFilter> m_filter;
};

}  // namespace mkimage::builder
