/* husk rm, husk container prune.  */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "control.h"
#include "lock.h"
#include "record.h"
#include "remove.h"
#include "util.h"
#include "banned.h"

struct rm_opts
{
  bool force;
};

static int
rm_one (struct husk_store *s, struct husk_ctr *loaded, const char *arg, void *data,
        struct husk_error **err)
{
  struct rm_opts *o = data;
  cleanup_ctr struct husk_ctr *c = NULL;
  cleanup_close int lock = husk_ctr_lock (s, loaded->id, &c, err);

  if (lock < 0)
    return -1;

  if (c->status == HUSK_CTR_RUNNING)
    {
      if (!o->force)
        return husk_error_set (err, 0, "container %.12s is running: stop it first or use -f",
                               c->id);
      /* An --rm container's monitor removes it itself, under this lock: never wait for it
         while holding the lock.  A restart's mark would have the monitor keep it: rm wins.  */
      if (c->auto_remove)
        {
          husk_ctr_restart_take (lock);
          close (TAKE_FD (lock));
        }
      if (husk_ctr_stop (c, SIGKILL, 0, err) < 0)
        return -1;
      if (c->auto_remove)
        {
          cleanup_ctr struct husk_ctr *left = NULL;
          cleanup_error struct husk_error *e = NULL;

          /* Removed by its monitor, as it should be; else a restart marked it again
             meanwhile and it was kept: remove it here, unless it already runs again.  */
          lock = husk_ctr_lock (s, c->id, &left, &e);
          if (lock >= 0 && left->status == HUSK_CTR_RUNNING)
            return husk_error_set (err, 0, "container %.12s: restarted while it was removed",
                                   c->id);
          if (lock >= 0 && husk_ctr_remove (s, left, err) < 0)
            return -1;
          printf ("%s\n", arg);
          return 0;
        }
    }
  if (husk_ctr_remove (s, c, err) < 0)
    return -1;
  printf ("%s\n", arg);
  return 0;
}

static const struct husk_cli_option rm_options[] = {
  { "force", 'f', HUSK_CLI_ARG_NONE, NULL, "kill and remove a running container" },
  { "volumes", 'v', HUSK_CLI_ARG_NONE, NULL,
    "accepted for docker's sake: husk has no anonymous volumes" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command rm_command = {
  "rm",
  "[-f] [-v] CONTAINER...",
  "Remove containers.",
  rm_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_rm (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  struct rm_opts o = { 0 };
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&rm_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'f':
        o.force = true;
        break;
      case 'v':
        /* husk makes no anonymous volumes: there is nothing more to remove.  */
        break;
      }
  if ((first = husk_cli_operands (&rm_command, c, argc, err)) <= 0)
    return first;
  return husk_cli_each_container (g, "rm", argc, argv, first, rm_one, &o, err);
}

static const struct husk_cli_option prune_options[] = {
  { "force", 'f', HUSK_CLI_ARG_NONE, NULL, "accepted for docker's sake: husk never asks" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command prune_command = {
  "container prune", "[-f]", "Remove every container that is not running.",
  prune_options,     NULL,   { 0, 0, "takes no arguments" },
};

int
husk_cmd_container_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_ctr **v = NULL;
  size_t n = 0;
  int c, first, failed = 0;

  optind = 1;
  while ((c = husk_cli_next_option (&prune_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'f':
        break; /* husk never asks.  */
      }
  if ((first = husk_cli_operands (&prune_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_list (store, &v, &n, err) < 0)
    return -1;
  {
    cleanup_error struct husk_error *e = NULL;
    struct husk_idmap mapbuf;
    const struct husk_idmap *map;
    if (husk_cli_idmap (&mapbuf, &map, &e) < 0 || husk_ctr_sweep (store, map, &e) < 0)
      fprintf (stderr, "husk: warning: %s\n", e->msg);
  }
  printf ("Deleted Containers:\n");
  for (size_t i = 0; i < n; i++)
    {
      cleanup_error struct husk_error *e = NULL;
      if (v[i]->status == HUSK_CTR_RUNNING)
        continue;
      if (husk_ctr_remove (store, v[i], &e) < 0)
        {
          fprintf (stderr, "husk: %s\n", e->msg);
          failed++;
          continue;
        }
      printf ("%s\n", v[i]->id);
    }
  husk_ctr_list_free (v, n);
  if (failed)
    return husk_error_set (err, 0, "container prune: %d containers could not be removed", failed);
  return 0;
}
