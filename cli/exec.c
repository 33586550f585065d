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

static void
exec_usage (void)
{
  printf ("Usage: husk exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
          "Run a command in a running container and exit with its status.\n\n"
          "Options:\n"
          "  -d, --detach                 run the command in the background\n"
          "  -e, --env NAME[=VALUE]       set an environment variable (NAME alone: the caller's)\n"
          "      --env-file FILE          read environment variables from FILE\n"
          "  -i, --interactive            keep stdin open\n"
          "  -t, --tty                    allocate a pseudo-terminal\n"
          "  -u, --user USER[:GROUP]      user name or id, group name or id (default: the "
          "container's)\n"
          "  -w, --workdir DIR            working directory (default: the container's)\n"
          "      --privileged             every capability for the command\n"
          "      --help                   show this help\n");
}

enum
{
  OPT_ENV_FILE = 256,
  OPT_PRIVILEGED,
  OPT_HELP,
};

int
husk_cmd_exec (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = { { "detach", no_argument, NULL, 'd' },
                                        { "env", required_argument, NULL, 'e' },
                                        { "env-file", required_argument, NULL, OPT_ENV_FILE },
                                        { "interactive", no_argument, NULL, 'i' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "user", required_argument, NULL, 'u' },
                                        { "workdir", required_argument, NULL, 'w' },
                                        { "privileged", no_argument, NULL, OPT_PRIVILEGED },
                                        { "help", no_argument, NULL, OPT_HELP },
                                        { NULL, 0, NULL, 0 } };
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_strv char **user_env = NULL; /* -e and --env-file, in order.  */
  cleanup_strv char **env = NULL;
  struct husk_exec_opts o = { 0 };
  int c, status = 0;

  user_env = husk_xcalloc (1, sizeof (char *));
  optind = 1;
  while ((c = husk_cli_getopt ("exec", argc, argv, "+de:itu:w:", opts, err)) != -1)
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
      case OPT_HELP:
        exec_usage ();
        return 0;
      default:
        return -1;
      }
  if (optind + 1 >= argc)
    return husk_cli_usage_error (err, "exec", "expects a container and a command");
  if (argv[optind + 1][0] == '\0')
    return husk_cli_usage_error (err, "exec", "the command is empty");

  if (husk_cli_open_store (g, &store, err) < 0
      || husk_ctr_load (store, argv[optind], &ctr, err) < 0)
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
    husk_cli_env_set (&env, user_env[i]);

  o.args = argv + optind + 1;
  o.env = env;
  if (husk_exec (
          &(struct husk_exec_target){
              .id = ctr->id, .spec = &ctr->spec, .pid = ctr->pid, .pid_start = ctr->pid_start },
          &o, &status, err)
      < 0)
    return -1;
  return status;
}
