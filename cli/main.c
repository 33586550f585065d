#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "monitor.h"
#include "common.h"
#include "util.h"
#include "banned.h"

struct command
{
  const char *name;
  int (*fn) (struct husk_global *g, int argc, char **argv, struct husk_error **err);
  const char *summary;
};

static const struct command commands[] = {
  { "pull", husk_cmd_pull, "import an image into the store" },
  { "images", husk_cmd_images, "list the images in the store" },
  { "run", husk_cmd_run, "run a command in a new container" },
  { "exec", husk_cmd_exec, "run a command in a running container" },
  { "login", husk_cmd_login, "store credentials for a registry" },
  { "logout", husk_cmd_logout, "remove stored registry credentials" },
  { "tag", husk_cmd_tag, "give an image more names" },
  { "rmi", husk_cmd_rmi, "remove images" },
  { "image", husk_cmd_image, "manage images (ls, tag, rm, prune, inspect, history)" },
  { "inspect", husk_cmd_inspect, "show images as JSON" },
  { "history", husk_cmd_history, "show an image's history" },
  { "system", husk_cmd_system, "show disk use (system df)" },
  { "save", husk_cmd_save, "write images as a docker-archive" },
  { "load", husk_cmd_load, "import the images of a docker-archive" },
  { "create", husk_cmd_create, "create a container" },
  { "start", husk_cmd_start, "start containers" },
  { "restart", husk_cmd_restart, "restart containers" },
  { "ps", husk_cmd_ps, "list containers" },
  { "stop", husk_cmd_stop, "stop containers" },
  { "kill", husk_cmd_kill, "send a signal to containers" },
  { "wait", husk_cmd_wait, "wait for containers to stop and print their exit codes" },
  { "attach", husk_cmd_attach, "attach to a running container" },
  { "rm", husk_cmd_rm, "remove containers" },
  { "rename", husk_cmd_rename, "rename a container" },
  { "container", husk_cmd_container, "manage containers (ls, create, start, stop, rm, prune, ...)" },
  { "logs", husk_cmd_logs, "print a container's output" },
  { "diff", husk_cmd_diff, "list a container's changed files" },
  { "cp", husk_cmd_cp, "copy files between a container and the host" },
  { "top", husk_cmd_top, "show a container's processes" },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: husk [--root DIR] COMMAND [OPTIONS] [ARG...]\n\n"
                "A rootless container engine.\n\n"
                "Global options:\n"
                "  --root DIR     the store (default: $XDG_DATA_HOME/husk, ~/.local/share/husk,\n"
                "                 or /var/lib/husk for root)\n"
                "  -h, --help     show this help\n"
                "  -v, --version  show the version\n\n"
                "Commands:\n");
  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun \"husk COMMAND --help\" for a command's options; see husk(1).\n");
}

int
main (int argc, char **argv)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_global g = { .argv = argv };
  const struct command *cmd = NULL;
  int i, ret;

  /* A detached container's monitor, re-executed by itself (runtime/monitor.c).  */
  if (argc > 1 && strcmp (argv[1], HUSK_MONITOR_ARG) == 0)
    return husk_monitor_exec_main (argc, argv);

  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0)
        {
          usage (stdout);
          return 0;
        }
      if (strcmp (a, "--version") == 0 || strcmp (a, "-v") == 0)
        {
          printf ("husk %s\n", PACKAGE_VERSION);
          return 0;
        }
      if (strcmp (a, "--root") == 0)
        {
          if (i + 1 >= argc || argv[i + 1][0] == '\0')
            {
              fprintf (stderr, "husk: flag \"--root\" needs a directory\n");
              return HUSK_EXIT_USAGE;
            }
          g.root = argv[++i];
          continue;
        }
      if (husk_str_has_prefix (a, "--root="))
        {
          g.root = a + strlen ("--root=");
          if (*g.root == '\0')
            {
              fprintf (stderr, "husk: flag \"--root\" needs a directory\n");
              return HUSK_EXIT_USAGE;
            }
          continue;
        }
      fprintf (stderr, "husk: unknown flag \"%s\" (see \"husk --help\")\n", a);
      return HUSK_EXIT_USAGE;
    }
  if (i >= argc)
    {
      usage (stderr);
      return HUSK_EXIT_USAGE;
    }
  for (size_t k = 0; k < sizeof (commands) / sizeof (commands[0]); k++)
    if (strcmp (argv[i], commands[k].name) == 0)
      cmd = &commands[k];
  if (cmd == NULL)
    {
      fprintf (stderr, "husk: unknown command \"%s\" (see \"husk --help\")\n", argv[i]);
      return HUSK_EXIT_USAGE;
    }

  /* Each command sees its own name as argv[0].  NULL: it lives in husk-full (commands.h).  */
  if (cmd->fn == NULL)
    ret = husk_cli_exec_full (&g, &err);
  else
    ret = cmd->fn (&g, argc - i, argv + i, &err);
  if (ret < 0)
    {
      fflush (stdout);
      fprintf (stderr, "husk: %s\n", err && err->msg ? err->msg : "failed");
      return husk_error_status (err, HUSK_EXIT_FAILURE);
    }
  return ret;
}
