// The Dockerfile AST: the output of the syntax parser (parser/parser.cpp), before
// any expansion or typing. It mirrors BuildKit's parser.Node closely enough to
// print BuildKit's AST dump byte for byte (testdata/handed/conformance/README.md §1).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parser/source.hpp"
#include "util/result.hpp"

namespace mkimage::parser {

// A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`).
struct Heredoc {
  std::string name;       // delimiter without quotes or `-`, e.g. "EOF"
  std::string content;    // body lines joined with "\n", with a final "\n"; tabs already
                          // stripped when `strip_tabs`; NOT expanded
  bool expand = true;     // false when the delimiter was quoted
  bool strip_tabs = false;  // `<<-`
  int file_descriptor = 0;  // N in `N<<EOF`, 0 when absent
};

// One instruction. `args` follow BuildKit's per-instruction splitting rules
// (README §1 table): raw, quotes not removed, variables not expanded.
struct Node {
  std::string keyword;              // lower case: "from", "run", ... or an unknown word
  std::vector<std::string> flags;   // "--name=value" / "--name", quotes removed
  std::vector<std::string> args;    // per-instruction split; ENV/LABEL as key,value,sep triples
  bool json_form = false;           // args came from a JSON array
  std::vector<Heredoc> heredocs;    // in source order; for ONBUILD RUN/COPY/ADD they are
                                    // on this node and copied onto `onbuild`
  std::shared_ptr<Node> onbuild;    // the trigger of ONBUILD, parsed as its own node
                                    // (null for a bare `ONBUILD`); same range as this node
  std::string original;             // the logical line as written (continuations joined,
                                    // escape+newline removed, comment lines dropped,
                                    // leading blanks of the first line removed), keyword
                                    // included; heredoc bodies not included
  SourceRange range;                // start_line/end_line: first and last physical line
                                    // (continuation, comment and blank lines inside the
                                    // instruction and heredoc bodies included);
                                    // start_col: 1-based byte column of the keyword;
                                    // end_col: byte length of the last line (min 1)
};

struct Directives {
  std::string syntax;   // "" when absent
  char escape = '\\';   // '\\' or '`'
  std::string check;    // raw value of `# check=`, "" when absent
};

struct Ast {
  Directives directives;
  std::vector<Node> instructions;       // file order
  std::vector<Warning> warnings;        // NoEmptyContinuation: one per instruction that has
                                        // blank lines inside its continuation, at the
                                        // instruction's last line (as BuildKit)
  std::vector<std::string> source_lines;  // physical lines (BOM and \r removed), for diagnostics
};

// Parses Dockerfile text (BOM, CRLF, directives, continuations, heredocs, JSON
// form, flags) the way BuildKit's frontend/dockerfile/parser does
// (testdata/handed/conformance/README.md §1-§3). Unknown instructions are kept (their
// args are {""}); typed validation happens later. `file` is only used for
// diagnostics. Error locations: the directive's line, the long line, or the
// instruction's first line and keyword column; "file with no instructions" has
// no line. Errors: no instructions,
// line > 65535 bytes, bad/duplicate directive, unterminated heredoc, non-string
// JSON array, ENV/LABEL without value. The error message is the complete
// formatted diagnostic (format_diagnostic: "FILE:LINE:COL: message" + source line + caret).
util::Result<Ast> parse_dockerfile(std::string_view text, const std::string& file = "Dockerfile");

// BuildKit's AST dump (README §1): one "(keyword [flags] "arg"...)" line per
// instruction, each followed by "\n".
std::string dump_ast(const Ast& ast);

}  // namespace mkimage::parser
