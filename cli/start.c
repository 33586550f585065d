/* husk start, husk restart.  */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "commands.h"
#include "control.h"
#include "lock.h"
#include "monitor.h"
#include "record.h"
#include "util.h"
#include "banned.h"

/* Start C; with ATTACH, relay its stdio until it exits and put its status in *RET_STATUS.  */
static int
start_one (struct husk_store *store, struct husk_ctr *loaded, bool attach, bool interactive,
           int *ret_status, struct husk_error **err)
{
  int sv[2];
  cleanup_close int mine = -1, lock = -1;
  cleanup_ctr struct husk_ctr *c = NULL;

  /* Held until the monitor runs the container: two starts at once make one monitor.  */
  lock = husk_ctr_lock (store, loaded->id, &c, err);
  if (lock < 0)
    return -1;
  if (c->status == HUSK_CTR_RUNNING)
    return attach ? husk_error_set (err, 0, "container %.12s is already running", c->id) : 0;
  /* A restart mark on a container that does not run was left by a restart that was killed:
     its next exit must remove an --rm container again.  */
  husk_ctr_restart_take (lock);
  if (!attach)
    return husk_monitor_start (store, c, -1, err);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return husk_error_set (err, errno, "socketpair");
  mine = sv[0];
  {
    unsigned flags = HUSK_ATTACH_WANT_OUTPUT | (interactive ? HUSK_ATTACH_WANT_STDIN : 0);
    unsigned char hello[4] = { 0, 0, 0, (unsigned char) flags };
    husk_attach_send (mine, HUSK_ATTACH_HELLO, hello, sizeof (hello));
  }
  if (husk_monitor_start (store, c, sv[1], err) < 0)
    return -1;
  close (TAKE_FD (lock));
  return husk_attach_relay (mine, c->spec.tty, interactive && c->spec.interactive, ret_status, err);
}

/* Stop QUERY as husk stop does, then start it again under its lock.  A running --rm
   container is marked first so that its monitor keeps it (docker and podman restart it too),
   and the lock is let go while it stops: its monitor takes the lock to decide.  */
static int
restart_one (struct husk_store *store, const char *query, int timeout, struct husk_error **err)
{
  cleanup_ctr struct husk_ctr *ctr = NULL, *locked = NULL, *again = NULL;
  cleanup_close int lock = -1;

  if (husk_ctr_load (store, query, &ctr, err) < 0
      || (lock = husk_ctr_lock (store, ctr->id, &locked, err)) < 0)
    return -1;
  if (locked->status == HUSK_CTR_RUNNING && locked->auto_remove)
    {
      if (husk_ctr_restart_mark (lock, locked->id, err) < 0)
        return -1;
      close (TAKE_FD (lock));
      if (husk_ctr_stop (locked, husk_cli_stop_signal (locked), timeout, err) < 0)
        {
          cleanup_close int l = husk_ctr_lock (store, ctr->id, NULL, NULL);
          husk_ctr_restart_take (l);
          return -1;
        }
      /* Gone if it exited on its own before the mark was seen: then it was removed.  */
      if ((lock = husk_ctr_lock (store, ctr->id, &again, err)) < 0)
        return -1;
      husk_ctr_restart_take (lock);
      /* Another restart or a start got there first, while the lock was let go.  */
      if (again->status == HUSK_CTR_RUNNING)
        return 0;
      return husk_monitor_start (store, again, -1, err);
    }
  if (husk_ctr_stop (locked, husk_cli_stop_signal (locked), timeout, err) < 0)
    return -1;
  if (husk_ctr_load (store, ctr->id, &again, err) < 0)
    return -1;
  husk_ctr_restart_take (lock);
  return husk_monitor_start (store, again, -1, err);
}

static const struct husk_cli_option start_options[] = {
  { "attach", 'a', HUSK_CLI_ARG_NONE, NULL,
    "relay the container's output and exit with its status" },
  { "interactive", 'i', HUSK_CLI_ARG_NONE, NULL, "forward stdin (with -a)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command start_command = {
  "start",
  "[OPTIONS] CONTAINER...",
  "Start created or stopped containers.",
  start_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_start (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  bool attach = false, interactive = false;
  int c, first, rc = 0, status = 0;

  optind = 1;
  while ((c = husk_cli_next_option (&start_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'a':
        attach = true;
        break;
      case 'i':
        interactive = true;
        break;
      }
  if ((first = husk_cli_operands (&start_command, c, argc, err)) <= 0)
    return first;
  if (attach && argc - first > 1)
    return husk_cli_usage_error (err, "start", "-a takes one container");
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  for (int i = first; i < argc; i++)
    {
      cleanup_ctr struct husk_ctr *ctr = NULL;
      cleanup_error struct husk_error *e = NULL;

      if (husk_ctr_load (store, argv[i], &ctr, &e) < 0
          || start_one (store, ctr, attach, interactive, &status, &e) < 0)
        {
          if (argc - first == 1)
            {
              *err = TAKE_PTR (e);
              return -1;
            }
          fprintf (stderr, "husk: %s\n", e->msg);
          rc = 1;
          continue;
        }
      if (!attach)
        printf ("%s\n", argv[i]);
    }
  if (attach)
    return status;
  if (rc)
    return husk_error_set (err, 0, "not every container started");
  return 0;
}

static const struct husk_cli_option restart_options[] = {
  { "time", 't', HUSK_CLI_ARG_REQUIRED, "SECONDS",
    "seconds to wait for the stop before SIGKILL (default 10)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command restart_command = {
  "restart",
  "[-t SECONDS] CONTAINER...",
  "Stop containers (as husk stop does) and start them again.",
  restart_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_restart (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  int c, first, timeout = 10, failed = 0;
  uint64_t v;

  optind = 1;
  while ((c = husk_cli_next_option (&restart_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 't':
        if (husk_parse_u64 (optarg, 86400, &v) < 0)
          return husk_cli_usage_error (err, "restart", "time \"%s\": not a number of seconds",
                                       optarg);
        timeout = (int) v;
        break;
      }
  if ((first = husk_cli_operands (&restart_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  for (int i = first; i < argc; i++)
    {
      cleanup_error struct husk_error *e = NULL;

      if (restart_one (store, argv[i], timeout, &e) < 0)
        {
          if (argc - first == 1)
            {
              *err = TAKE_PTR (e);
              return -1;
            }
          fprintf (stderr, "husk: %s\n", e->msg);
          failed++;
          continue;
        }
      printf ("%s\n", argv[i]);
    }
  return failed ? husk_error_set (err, 0, "%d of the containers did not restart", failed) : 0;
}
