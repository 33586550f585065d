#include "config.h"

#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "cleanup.h"
#include "commands.h"
#include "exec.h"
#include "record.h"
#include "util.h"
#include "banned.h"

enum
{
  OPT_ENV_FILE = 256,
  OPT_PRIVILEGED,
  OPT_HELP,
};

static const struct husk_cli_option exec_options[] = {
  { "detach", 'd', HUSK_CLI_ARG_NONE, NULL, "run the command in the background" },
  { "env", 'e', HUSK_CLI_ARG_REQUIRED, "NAME[=VALUE]",
    "set an environment variable (NAME alone: the caller's)" },
  { "env-file", OPT_ENV_FILE, HUSK_CLI_ARG_REQUIRED, "FILE",
    "read environment variables from FILE" },
  { "interactive", 'i', HUSK_CLI_ARG_NONE, NULL, "keep stdin open" },
  { "tty", 't', HUSK_CLI_ARG_NONE, NULL, "allocate a pseudo-terminal" },
  { "user", 'u', HUSK_CLI_ARG_REQUIRED, "USER[:GROUP]",
    "user name or id, group name or id (default: the container's)" },
  { "workdir", 'w', HUSK_CLI_ARG_REQUIRED, "DIR", "working directory (default: the container's)" },
  { "privileged", OPT_PRIVILEGED, HUSK_CLI_ARG_NONE, NULL, "every capability for the command" },
  { "help", OPT_HELP, HUSK_CLI_ARG_NONE, NULL, "show this help" },
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command exec_command = {
  "exec",
  "[OPTIONS] CONTAINER COMMAND [ARG...]",
  "Run a command in a running container and exit with its status.",
  exec_options,
  NULL,
  { 2, HUSK_CLI_ANY, "expects a container and a command" },
};

int
husk_cmd_exec (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_strv char **user_env = NULL; /* -e and --env-file, in order.  */
  cleanup_strv char **env = NULL;
  struct husk_exec_opts o = { 0 };
  int c, first, status = 0;

  user_env = husk_xcalloc (1, sizeof (char *));
  optind = 1;
  while ((c = husk_cli_next_option (&exec_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'd':
        o.detach = true;
        break;
      case 'e':
        if (husk_cli_env_add_arg (&user_env, "exec", optarg, "env", err) < 0)
          return -1;
        break;
      case OPT_ENV_FILE:
        if (husk_cli_env_add_file (&user_env, "exec", optarg, err) < 0)
          {
            (*err)->status = HUSK_EXIT_USAGE;
            return -1;
          }
        break;
      case 'i':
        o.interactive = true;
        break;
      case 't':
        o.tty = true;
        break;
      case 'u':
        if (optarg[0] == '\0' || optarg[0] == ':' || husk_str_has_suffix (optarg, ":"))
          return husk_cli_usage_error (err, "exec", "user \"%s\": expected USER[:GROUP]", optarg);
        o.user = optarg;
        break;
      case 'w':
        if (optarg[0] != '/')
          return husk_cli_usage_error (err, "exec", "workdir \"%s\": must be an absolute path",
                                       optarg);
        o.cwd = optarg;
        break;
      case OPT_PRIVILEGED:
        /* docker exec --privileged: every capability.  */
        o.caps_given = true;
        o.caps = husk_caps_all ();
        break;
      }
  if ((first = husk_cli_operands (&exec_command, c, argc, err)) <= 0)
    return first;
  if (argv[first + 1][0] == '\0')
    return husk_cli_usage_error (err, "exec", "the command is empty");

  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_load (store, argv[first], &ctr, err) < 0)
    return -1;
  if (ctr->status != HUSK_CTR_RUNNING)
    return husk_error_set (err, 0, "container %.12s is not running", ctr->id);
  /* Nothing of the store stays open while the command starts.  */
  husk_store_close (TAKE_PTR (store));

  /* Docker's rule: the container's environment, then -e and --env-file.  */
  env = husk_xcalloc (1, sizeof (char *));
  for (size_t i = 0; ctr->spec.env && ctr->spec.env[i]; i++)
    husk_strv_append (&env, ctr->spec.env[i]);
  for (size_t i = 0; user_env[i]; i++)
    husk_env_set (&env, user_env[i]);

  o.args = argv + first + 1;
  o.env = env;
  if (husk_exec (
          &(struct husk_exec_target){
              .id = ctr->id, .spec = &ctr->spec, .pid = ctr->pid, .pid_start = ctr->pid_start },
          &o, &status, err)
      < 0)
    return -1;
  return status;
}
