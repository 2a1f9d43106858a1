#include "parser/checks/rules.hpp"

#include <stdexcept>

#include "parser/text.hpp"

namespace mkimage::parser::checks {

namespace {
const char* k_base = "https://docs.docker.com/go/dockerfile/rule/";
Rule r(const std::string& name, const std::string& kebab, const std::string& description, bool experimental = false) {
  return Rule{name, description, kebab.empty() ? "" : k_base + kebab + "/", experimental};
}
}  // namespace

const std::vector<Rule>& all_rules() {
  static const std::vector<Rule> rules = {
      r("StageNameCasing", "stage-name-casing", "Stage names should be lowercase"),
      r("FromAsCasing", "from-as-casing", "The 'as' keyword should match the case of the 'from' keyword"),
      r("NoEmptyContinuation", "no-empty-continuation", "Empty continuation lines will become errors in a future release"),
      r("ConsistentInstructionCasing", "consistent-instruction-casing",
        "All commands within the Dockerfile should use the same casing (either upper or lower)"),
      r("DuplicateStageName", "duplicate-stage-name", "Stage names should be unique"),
      r("ReservedStageName", "reserved-stage-name", "Reserved words should not be used as stage names"),
      r("JSONArgsRecommended", "json-args-recommended",
        "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals"),
      r("MaintainerDeprecated", "maintainer-deprecated",
        "The MAINTAINER instruction is deprecated, use a label instead to define an image author"),
      r("UndefinedArgInFrom", "undefined-arg-in-from", "FROM command must use declared ARGs"),
      r("WorkdirRelativePath", "workdir-relative-path",
        "Relative workdir without an absolute workdir declared within the build can have unexpected results if the "
        "base image changes"),
      r("UndefinedVar", "undefined-var", "Variables should be defined before their use"),
      r("MultipleInstructionsDisallowed", "multiple-instructions-disallowed",
        "Multiple instructions of the same type should not be used in the same stage"),
      r("LegacyKeyValueFormat", "legacy-key-value-format",
        "Legacy key/value format with whitespace separator should not be used"),
      r("InvalidBaseImagePlatform", "", "Base image platform does not match expected target platform"),
      r("RedundantTargetPlatform", "redundant-target-platform",
        "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior"),
      r("SecretsUsedInArgOrEnv", "secrets-used-in-arg-or-env",
        "Sensitive data should not be used in the ARG or ENV commands"),
      r("InvalidDefaultArgInFrom", "invalid-default-arg-in-from",
        "Default value for global ARG results in an empty or invalid base image name"),
      r("FromPlatformFlagConstDisallowed", "from-platform-flag-const-disallowed",
        "FROM --platform flag should not use a constant value"),
      r("CopyIgnoredFile", "copy-ignored-file", "Attempting to Copy file that is excluded by .dockerignore"),
      r("InvalidDefinitionDescription", "invalid-definition-description",
        "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this "
        "is not intended to be a description comment, add an empty line or comment between the instruction and the "
        "comment.",
        true),
      r("ExposeProtoCasing", "expose-proto-casing", "Protocol in EXPOSE instruction should be lowercase"),
      r("ExposeInvalidFormat", "expose-invalid-format",
        "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a "
        "future release"),
  };
  return rules;
}

const Rule& rule(const std::string& name) {
  for (const auto& x : all_rules()) {
    if (x.name == name) return x;
  }
  throw std::out_of_range("unknown check rule " + name);
}

namespace message {
std::string stage_name_casing(const std::string& stage) { return "Stage name '" + stage + "' should be lowercase"; }
std::string from_as_casing(const std::string& from_kw, const std::string& as_kw) {
  return "'" + as_kw + "' and '" + from_kw + "' keywords' casing do not match";
}
std::string no_empty_continuation() { return "Empty continuation line"; }
std::string consistent_instruction_casing(const std::string& command, const std::string& casing) {
  return "Command '" + command + "' should match the case of the command majority (" + casing + ")";
}
std::string duplicate_stage_name(const std::string& stage) {
  return "Duplicate stage name " + go_quote(stage) + ", stage names should be unique";
}
std::string reserved_stage_name(const std::string& stage) {
  return "Stage name should not use the same name as reserved stage " + go_quote(stage);
}
std::string json_args_recommended(const std::string& instruction) {
  return "JSON arguments recommended for " + instruction + " to prevent unintended behavior related to OS signals";
}
std::string maintainer_deprecated() { return "Maintainer instruction is deprecated in favor of using label"; }
std::string undefined_arg_in_from(const std::string& arg, const std::string& suggest) {
  return "FROM argument '" + arg + "' is not declared" + (suggest.empty() ? "" : " (did you mean " + suggest + "?)");
}
std::string workdir_relative_path(const std::string& workdir) {
  return "Relative workdir " + go_quote(workdir) + " can have unexpected results if the base image changes";
}
std::string undefined_var(const std::string& var, const std::string& suggest) {
  return "Usage of undefined variable '$" + var + "'" + (suggest.empty() ? "" : " (did you mean $" + suggest + "?)");
}
std::string multiple_instructions_disallowed(const std::string& instruction) {
  return "Multiple " + instruction +
         " instructions should not be used in the same stage because only the last one will be used";
}
std::string legacy_key_value_format(const std::string& instruction) {
  return "\"" + instruction + " key=value\" should be used instead of legacy \"" + instruction + " key value\" format";
}
std::string invalid_base_image_platform(const std::string& image, const std::string& expected,
                                        const std::string& actual) {
  return "Base image " + image + " was pulled with platform " + go_quote(actual) + ", expected " + go_quote(expected) +
         " for current build";
}
std::string redundant_target_platform(const std::string& platform_var) {
  return "Setting platform to predefined " + platform_var + " in FROM is redundant as this is the default behavior";
}
std::string secrets_used_in_arg_or_env(const std::string& instruction, const std::string& key) {
  return "Do not use ARG or ENV instructions for sensitive data (" + instruction + " " + go_quote(key) + ")";
}
std::string invalid_default_arg_in_from(const std::string& base_name) {
  return "Default value for ARG " + base_name + " results in empty or invalid base image name";
}
std::string from_platform_flag_const_disallowed(const std::string& platform) {
  return "FROM --platform flag should not use constant value " + go_quote(platform);
}
std::string copy_ignored_file(const std::string& command, const std::string& file) {
  return "Attempting to " + command + " file " + go_quote(file) + " that is excluded by .dockerignore";
}
std::string invalid_definition_description(const std::string& instruction, const std::string& name) {
  return "Comment for " + instruction + " should follow the format: `# " + name + " <description>`";
}
std::string expose_proto_casing(const std::string& port) {
  return "Defined protocol '" + port + "' in EXPOSE instruction should be lowercase";
}
std::string expose_invalid_format(const std::string& port) {
  return "EXPOSE instruction should not define an IP address or host-port mapping, found '" + port + "'";
}
}  // namespace message

}  // namespace mkimage::parser::checks
