// `COPY/ADD --chmod` values: an octal mode up to 07777, or a symbolic mode as in
// chmod(1): comma-separated clauses `[ugoa]*([-+=]([rwxXst]*|[ugo]))+`
// (e.g. `u+x`, `a=rX`, `go-w,u=rwx`). Spec: the Dockerfile
// reference, COPY/ADD `--chmod`.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mkimage::builder {

class ChmodSpec {
public:
  // Parses a --chmod value. Errors: octal > 07777 ("invalid chmod value 10000:
  // mode out of range"), malformed symbolic mode ("invalid chmod value ...").
  static util::Result<ChmodSpec> parse(std::string_view text);

  // The new permission bits (07777 part) for an entry whose current mode is
  // `mode` (permission bits; type bits ignored). `is_dir` matters for `X`
  // (execute when the entry is a directory or already executable by anyone).
  // With no `who` letter, a symbolic clause applies to all (no umask, as BuildKit).
  mode_t apply(mode_t mode, bool is_dir) const;

  bool is_octal() const { return m_octal; }
  const std::string& text() const { return m_text; }

private:
  struct Clause {
    unsigned who = 0;      // bits: 1 = u, 2 = g, 4 = o; 0 = all
    char op = '+';         // '+', '-', '='
    unsigned perm = 0;     // r=4 w=2 x=1 per who, as rwx bits (0..7)
    bool cap_x = false;    // X
    bool setid = false;    // s
    bool sticky = false;   // t
    int copy_from = -1;    // 0 = u, 1 = g, 2 = o when the clause copies (`g=u`)
  };
  bool m_octal = false;
  mode_t m_mode = 0;
  std::vector<Clause> m_clauses;
  std::string m_text;
};

}  // namespace mkimage::builder
