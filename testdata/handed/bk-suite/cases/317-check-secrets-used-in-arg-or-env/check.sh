# Ported from testSecretsUsedInArgOrEnv in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
df <<'DF'
# check=skip=InvalidDefinitionDescription

FROM scratch
ARG SECRET_PASSPHRASE
ENV SUPER_Secret=foo
ENV password=bar secret=baz
ARG super_duper_secret_token=foo auth=bar
ENV apikey=bar sunflower=foo
ENV git_key=
ENV PUBLIC_KEY=
ARG public_token
ARG SECRET_PASSPHRASE_FILE
ENV password_file=bar secret_File=baz
ARG AUTH_MODULE_VERSION
# check=skip=SecretsUsedInArgOrEnv // allow secret in environment
ENV password=bar
# check=skip=SecretsUsedInArgOrEnv // allow secret in arg
ARG password
# check=skip=all // is local to only this instruction
ENV alternate_password=bar
# check=skip=all // is local to only this instruction
ARG alternate_password
DF
for f in checks_are build_checks_are; do
  $f <<'W'
4|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ARG "SECRET_PASSPHRASE")
5|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ENV "SUPER_Secret")
6|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ENV "password")
6|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ENV "secret")
7|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ARG "auth")
7|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ARG "super_duper_secret_token")
8|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ENV "apikey")
9|SecretsUsedInArgOrEnv|Do not use ARG or ENV instructions for sensitive data (ENV "git_key")
W
done
build_ok_now
