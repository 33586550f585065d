/* -e and --env-file, as run and exec read them.  */
#ifndef HUSK_CLI_ENV_H
#define HUSK_CLI_ENV_H

#include "error.h"

/* "NAME=VALUE" replaces an earlier NAME in *ENV: the later setting wins.  */
void husk_cli_env_set (char ***env, const char *kv);

/* -e NAME=VALUE, or NAME alone for the caller's value (skipped when the caller has none).
   COMMAND and WHAT name the flag in a usage error.  */
int husk_cli_env_add_arg (char ***env, const char *command, const char *arg, const char *what,
                          struct husk_error **err);

/* The lines of FILE as -e arguments; blank lines and "#" comments are skipped.  */
int husk_cli_env_add_file (char ***env, const char *command, const char *path,
                           struct husk_error **err);

#endif
