// The build-check rules (BuildKit's frontend/dockerfile/linter ruleset): each
// rule's name, description and documentation URL, and the message texts the
// checks print, word for word as BuildKit's (docs/checks.md lists them).
#pragma once

#include <string>
#include <vector>

namespace mkimage::parser::checks {

struct Rule {
  std::string name;          // e.g. "FromAsCasing"
  std::string description;   // one sentence, BuildKit's
  std::string url;           // https://docs.docker.com/go/dockerfile/rule/<kebab-name>/ ("" for InvalidBaseImagePlatform)
  bool experimental = false; // runs only when named by `experimental=` (InvalidDefinitionDescription)
};

// Every rule, in BuildKit's ruleset order.
const std::vector<Rule>& all_rules();
// The rule called `name`; throws std::out_of_range for an unknown name (a programming error).
const Rule& rule(const std::string& name);

// The message ("detail") of each rule, as BuildKit formats it.
namespace message {
std::string stage_name_casing(const std::string& stage);                       // StageNameCasing
std::string from_as_casing(const std::string& from_kw, const std::string& as_kw);  // FromAsCasing
std::string no_empty_continuation();                                            // NoEmptyContinuation
std::string consistent_instruction_casing(const std::string& command, const std::string& casing);
std::string duplicate_stage_name(const std::string& stage);
std::string reserved_stage_name(const std::string& stage);
std::string json_args_recommended(const std::string& instruction);
std::string maintainer_deprecated();
std::string undefined_arg_in_from(const std::string& arg, const std::string& suggest);
std::string workdir_relative_path(const std::string& workdir);
std::string undefined_var(const std::string& var, const std::string& suggest);
std::string multiple_instructions_disallowed(const std::string& instruction);
std::string legacy_key_value_format(const std::string& instruction);
std::string invalid_base_image_platform(const std::string& image, const std::string& expected, const std::string& actual);
std::string redundant_target_platform(const std::string& platform_var);
std::string secrets_used_in_arg_or_env(const std::string& instruction, const std::string& key);
std::string invalid_default_arg_in_from(const std::string& base_name);
std::string from_platform_flag_const_disallowed(const std::string& platform);
std::string copy_ignored_file(const std::string& command, const std::string& file);
std::string invalid_definition_description(const std::string& instruction, const std::string& name);
std::string expose_proto_casing(const std::string& port);
std::string expose_invalid_format(const std::string& port);
}  // namespace message

}  // namespace mkimage::parser::checks
