#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "commands.h"
#include "monitor.h"
#include "selfexe.h"
#include "common.h"
#include "util.h"
#include "proc.h"
#include "banned.h"

struct command
{
  const char *name;
  int (*fn) (struct husk_global *g, int argc, char **argv, struct husk_error **err);
  const char *summary;
  /* It forks processes into containers: it runs from a sealed copy of husk's binary
     (runtime/selfexe.h, CVE-2019-5736).  */
  bool enters;
};

static const struct command commands[] = {
  { "pull", husk_cmd_pull, "import an image into the store", false },
  { "push", husk_cmd_push, "upload an image to a registry", false },
  { "images", husk_cmd_images, "list the images in the store", false },
  { "run", husk_cmd_run, "run a command in a new container", true },
  { "exec", husk_cmd_exec, "run a command in a running container", true },
  { "login", husk_cmd_login, "store credentials for a registry", false },
  { "logout", husk_cmd_logout, "remove stored registry credentials", false },
  { "tag", husk_cmd_tag, "give an image more names", false },
  { "rmi", husk_cmd_rmi, "remove images", false },
  { "image", husk_cmd_image, "manage images (ls, tag, rm, prune, inspect, history)", false },
  { "inspect", husk_cmd_inspect, "show images or containers as JSON", false },
  { "history", husk_cmd_history, "show an image's history", false },
  { "system", husk_cmd_system, "show disk use (system df)", false },
  /* build runs containers too, but seals itself only before the first RUN that is not
     cached (cli/build.c): a cached build does not pay for the copy.  */
  { "build", husk_cmd_build, "build an image from a Dockerfile", false },
  { "builder", husk_cmd_builder, "manage the build cache (prune)", false },
  { "save", husk_cmd_save, "write images as a docker-archive", false },
  { "load", husk_cmd_load, "import the images of a docker-archive", false },
  { "manifest", husk_cmd_manifest, "manage manifest lists (create, add, annotate, inspect, rm)",
    false },
  { "create", husk_cmd_create, "create a container", false },
  { "start", husk_cmd_start, "start containers", true },
  { "restart", husk_cmd_restart, "restart containers", true },
  { "ps", husk_cmd_ps, "list containers", false },
  { "stop", husk_cmd_stop, "stop containers", false },
  { "kill", husk_cmd_kill, "send a signal to containers", false },
  { "wait", husk_cmd_wait, "wait for containers to stop and print their exit codes", false },
  { "attach", husk_cmd_attach, "attach to a running container", false },
  { "rm", husk_cmd_rm, "remove containers", false },
  { "rename", husk_cmd_rename, "rename a container", false },
  { "port", husk_cmd_port, "list a container's published ports", false },
  { "container", husk_cmd_container, "manage containers (ls, create, start, stop, rm, prune, ...)",
    true },
  { "network", husk_cmd_network,
    "manage networks (create, ls, inspect, rm, prune, exists, connect, disconnect)", false },
  { "logs", husk_cmd_logs, "print a container's output", false },
  { "diff", husk_cmd_diff, "list a container's changed files", false },
  { "cp", husk_cmd_cp, "copy files between a container and the host", false },
  { "top", husk_cmd_top, "show a container's processes", false },
  { "commit", husk_cmd_commit, "make a container's changes an image", false },
  { "export", husk_cmd_export, "write a container's filesystem as a tar archive", false },
  { "import", husk_cmd_import, "make a tarball an image", false },
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

static bool
loads_lazily (const char *name)
{
  return strcmp (name, "build") == 0 || strcmp (name, "push") == 0;
}

int
main (int argc, char **argv)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_global g = { .argv = argv };
  const struct command *cmd = NULL;
  int i, ret;

  /* The caller's umask must not reach anything a container sees: mountpoints and -w
     directories made for it, files husk copies in or unpacks, the container's own processes
     (docker, podman, runc and crun all give 0022).  Files that must stay private are created
     with explicit modes (0700, 0600), which 0022 leaves as they are.  */
  g.caller_umask = umask (0022);
  husk_self_exe_init ();
  husk_proc_title_init (argc, argv);
  /* A detached container's monitor, re-executed by itself (engine/monitor-start.c) from the
     sealed copy its parent ran; sealing here is a check, unless something else started it.  */
  if (argc > 1 && strcmp (argv[1], HUSK_MONITOR_ARG) == 0)
    {
      if (husk_self_exe_seal (argv, &err) < 0)
        {
          fprintf (stderr, "husk: %s\n", err->msg);
          return HUSK_EXIT_FAILURE;
        }
      husk_monitor_exec_main (argc, argv, &err);
      fprintf (stderr, "husk: %s\n", err->msg);
      return 125;
    }

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

  if (cmd->enters && cmd->fn && husk_self_exe_seal (argv, &err) < 0)
    {
      fprintf (stderr, "husk: %s\n", err->msg);
      return HUSK_EXIT_FAILURE;
    }

  /* build and push never enter a container's root, and load the libraries when they first
     need them (a cached build or a push of stored blobs needs no libarchive).  */
  if (husk_cli_full_preload && cmd->fn && !loads_lazily (cmd->name)
      && !(strcmp (cmd->name, "image") == 0 && i + 1 < argc && loads_lazily (argv[i + 1])))
    husk_cli_full_preload ();

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
