// Internals of the build checks (not API): the warning collector every check
// reports through, and the helpers the check families share.
#pragma once

#include <string>
#include <vector>

#include "parser/checks/checks.hpp"
#include "parser/checks/rules.hpp"
#include "parser/env_list.hpp"
#include "parser/source.hpp"

namespace mkimage::parser::checks::detail {

// BuildKit's linter.Linter: drops skipped rules (and experimental ones not asked
// for), remembers which rules fired (for `error=true`).
class Linter {
public:
  explicit Linter(CheckConfig config) : m_config(std::move(config)) {}
  const CheckConfig& config() const { return m_config; }
  // Reports `detail` for `rule_name` at `range` under `config` (the file's
  // configuration, or it merged with an instruction's `# check=` comment).
  void run(const CheckConfig& config, const std::string& rule_name, const SourceRange& range, const std::string& detail);
  void run(const std::string& rule_name, const SourceRange& range, const std::string& detail) {
    run(m_config, rule_name, range, detail);
  }
  std::vector<CheckWarning>& warnings() { return m_warnings; }
  const std::vector<std::string>& fired() const { return m_fired; }

private:
  CheckConfig m_config;
  std::vector<CheckWarning> m_warnings;
  std::vector<std::string> m_fired;
};

// `config` with the first `check=` among `comments` merged in (skips and
// experimental rules added; `error` unchanged), as BuildKit's
// WithMergedConfigFromComments. A comment that does not parse leaves `config`.
CheckConfig merge_comment_config(const CheckConfig& config, const std::vector<std::string>& comments);

// BuildKit's PrevComment of each instruction: the comment lines (text after `#`,
// trimmed) between the previous instruction and this one; an empty `#` line
// starts over; the parser directives at the top are not comments. One entry per
// Ast::instructions element.
std::vector<std::vector<std::string>> instruction_comments(const Ast& ast);

// The keyword as written ("From", "COPY"): the first word of Node::original.
std::string written_keyword(const Node& node);

// BuildKit's suggest.Search: the option nearest to `value` (Levenshtein distance
// below 3, the first of equals wins), "" when none or when an option is `value` itself.
std::string suggest(const std::string& value, const std::vector<std::string>& options, bool case_sensitive);

// The families of checks (one file each).
// check_syntax.cpp: NoEmptyContinuation, StageNameCasing, FromAsCasing,
// MaintainerDeprecated, ConsistentInstructionCasing, DuplicateStageName,
// ReservedStageName, InvalidDefinitionDescription. Stops at the first instruction
// that does not parse (returns false then).
bool check_syntax(const Ast& ast, const std::vector<std::vector<std::string>>& comments, Linter& lint);
// check_from.cpp: UndefinedArgInFrom, InvalidDefaultArgInFrom, RedundantTargetPlatform,
// FromPlatformFlagConstDisallowed, InvalidBaseImagePlatform.
void check_from(const Ast& ast, const std::vector<std::vector<std::string>>& comments, const CheckOptions& opts,
                Linter& lint);
// check_stages.cpp: the stage walk: UndefinedVar, LegacyKeyValueFormat,
// SecretsUsedInArgOrEnv, JSONArgsRecommended, MultipleInstructionsDisallowed,
// WorkdirRelativePath, CopyIgnoredFile, ExposeProtoCasing, ExposeInvalidFormat.
void check_stages(const Ast& ast, const std::vector<std::vector<std::string>>& comments, const CheckOptions& opts,
                  Linter& lint);

// The global scope FROM lines see (BuildKit defaultArgs + buildMetaArgs): the
// automatic platform args, then the ARGs before the first FROM with their
// defaults expanded, or with `build_args` values when `with_build_args`.
// `declared` (optional) receives the meta ARG names. Expansion errors leave the
// ARG unset (the planner reports them).
parser::EnvList global_args(const Ast& ast, const CheckOptions& opts, bool with_build_args,
                                    std::vector<std::string>* declared = nullptr);

// Does `ref` parse as a docker reference (distribution/reference ParseNormalizedNamed)?
bool valid_reference(const std::string& ref);

}  // namespace mkimage::parser::checks::detail
