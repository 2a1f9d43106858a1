// The one rule for "this name looks like a secret": BuildKit's
// SecretsUsedInArgOrEnv check (getSecretsRegex) — a name with a token apikey,
// auth, credential(s), key, password, pword, passwd, secret or token (split at
// "_", any case), unless it also has public, file or version. The check warns
// about such ARG/ENV names (check_stages.cpp); a miss reason never prints their
// values (builder/miss_reason.hpp).
#pragma once

#include <string_view>

namespace mkimage::parser::checks {

bool secret_looking_name(std::string_view name);

}  // namespace mkimage::parser::checks
