// Source positions and diagnostics for Dockerfile problems.
//
// Every instruction carries a SourceRange from the moment it is parsed; errors
// found later (typed validation, expansion, planning, building) reuse it, so a
// problem is always reported as
//
//   Dockerfile:7:1: unknown instruction: COPPY (did you mean COPY?)
//    >>> 7 | COPPY out/ /app/
//            ^
//
// (file name as given by the user, 1-based line and column of the problem).
#pragma once

#include <string>
#include <vector>

namespace mkimage::parser {

// Lines and columns are 1-based. `end_line` is the last physical line of the
// instruction (continuation lines and heredoc bodies included). Columns count
// bytes. A zero line means "no position" (e.g. a problem with the whole file).
struct SourceRange {
  int start_line = 0;
  int start_col = 0;
  int end_line = 0;
  int end_col = 0;
};

// One Dockerfile problem. `message` has no "Dockerfile:L:C:" prefix and no
// trailing newline; `suggestion` is optional extra text such as
// `did you mean "COPY"?` (already inside `message` when it reads better there).
struct Diagnostic {
  std::string file = "Dockerfile";  // the name to print, e.g. "Dockerfile" or "app/Dockerfile.dev"
  int line = 0;                     // 1-based; 0 = whole file
  int column = 0;                   // 1-based; 0 = unknown (printed as 1)
  std::string message;
};

// Formats `d` as "FILE:LINE:COL: message", then (when `source_lines` holds the
// line) " >>> LINE | text" and a caret line under the column. `source_lines`
// are the physical lines of the Dockerfile, 0-based index = line - 1.
std::string format_diagnostic(const Diagnostic& d, const std::vector<std::string>& source_lines);

// A warning (not fatal), e.g. "empty continuation line" (lint NoEmptyContinuation).
struct Warning {
  int line = 0;
  std::string rule;     // BuildKit lint name, e.g. "NoEmptyContinuation"
  std::string message;
};

// BuildKit's suggestion rule (util/suggest): the first candidate at the smallest
// Levenshtein distance below 3 from `word`, or "" when none is that close or one
// equals `word` exactly (then the mistake is elsewhere). Case-insensitive
// comparison returns the candidate in `word`'s case when `word` is all lower or
// all upper case ("wrkdir" -> "workdir", "FOO" -> "FROM").
std::string nearest(const std::string& word, const std::vector<std::string>& candidates,
                    bool case_sensitive = false);

// " (did you mean X?)" for nearest(word, candidates, case_sensitive), or "":
// BuildKit's suffix, appended to the error it wraps.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         bool case_sensitive);

}  // namespace mkimage::parser
