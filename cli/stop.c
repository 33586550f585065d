/* husk stop, husk kill, husk wait.  */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "commands.h"
#include "control.h"
#include "record.h"
#include "rundir.h"
#include "signame.h"
#include "util.h"
#include "banned.h"

struct stop_opts
{
  int timeout;
  int signal; /* -s, or 0 for each container's own stop signal.  */
};

static int
stop_one (struct husk_store *s, struct husk_ctr *c, const char *arg, void *data,
          struct husk_error **err)
{
  struct stop_opts *o = data;
  (void) s;
  if (husk_ctr_stop (c, o->signal > 0 ? o->signal : husk_cli_stop_signal (c), o->timeout, err) < 0)
    return -1;
  printf ("%s\n", arg);
  return 0;
}

static const struct husk_cli_option stop_options[] = {
  { "time", 't', HUSK_CLI_ARG_REQUIRED, "SECONDS", "seconds to wait before SIGKILL (default 10)" },
  { "signal", 's', HUSK_CLI_ARG_REQUIRED, "SIGNAL",
    "signal to send first (default: the image's StopSignal, or SIGTERM)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command stop_command = {
  "stop",
  "[-t SECONDS] [-s SIGNAL] CONTAINER...",
  "Send the image's StopSignal (SIGTERM by default), then SIGKILL after SECONDS (10).",
  stop_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_stop (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  struct stop_opts o = { .timeout = 10 };
  cleanup_error struct husk_error *e = NULL;
  uint64_t v;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&stop_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 't':
        if (husk_parse_u64 (optarg, 86400, &v) < 0)
          return husk_cli_usage_error (err, "stop", "time \"%s\": not a number of seconds", optarg);
        o.timeout = (int) v;
        break;
      case 's':
        o.signal = husk_signal_parse (optarg, &e);
        if (o.signal < 0)
          return husk_cli_usage_error (err, "stop", "%s", e->msg);
        break;
      }
  if ((first = husk_cli_operands (&stop_command, c, argc, err)) <= 0)
    return first;
  return husk_cli_each_container (g, "stop", argc, argv, first, stop_one, &o, err);
}

static int
kill_one (struct husk_store *s, struct husk_ctr *c, const char *arg, void *data,
          struct husk_error **err)
{
  (void) s;
  if (husk_ctr_kill (c, *(int *) data, err) < 0)
    return -1;
  printf ("%s\n", arg);
  return 0;
}

static const struct husk_cli_option kill_options[] = {
  { "signal", 's', HUSK_CLI_ARG_REQUIRED, "SIGNAL",
    "signal to send, by name or number (default SIGKILL)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command kill_command = {
  "kill",
  "[-s SIGNAL] CONTAINER...",
  "Send SIGNAL (SIGKILL by default) to the containers' main process.",
  kill_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_kill (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_error struct husk_error *e = NULL;
  int c, first, sig = SIGKILL;

  optind = 1;
  while ((c = husk_cli_next_option (&kill_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 's':
        sig = husk_signal_parse (optarg, &e);
        if (sig < 0)
          return husk_cli_usage_error (err, "kill", "%s", e->msg);
        break;
      }
  if ((first = husk_cli_operands (&kill_command, c, argc, err)) <= 0)
    return first;
  return husk_cli_each_container (g, "kill", argc, argv, first, kill_one, &sig, err);
}

static int
wait_one (struct husk_store *s, struct husk_ctr *c, const char *arg, void *data,
          struct husk_error **err)
{
  cleanup_free char *sock = NULL;
  cleanup_ctr struct husk_ctr *after = NULL;
  cleanup_close int fd = -1;
  (void) arg;
  (void) data;

  /* The monitor tells attached clients the status before it goes, which also covers --rm.  */
  if (c->status == HUSK_CTR_RUNNING && husk_ctr_run_path (c, "attach.sock", &sock, NULL) == 0
      && husk_attach_connect (sock, 0, &fd, NULL) == 0)
    {
      /* Asked for no output: the relay only waits for the status.  */
      int status;
      if (husk_attach_relay (fd, false, false, &status, NULL) == 0)
        {
          printf ("%d\n", status);
          return 0;
        }
    }
  /* Foreground runs have no socket: wait for their husk.  */
  if (c->status == HUSK_CTR_RUNNING && husk_ctr_wait_monitor (c, -1, err) < 0)
    return -1;
  if (husk_ctr_load (s, c->id, &after, err) < 0)
    return -1;
  printf ("%d\n", after->exit_code);
  return 0;
}

static const struct husk_cli_option wait_options[] = {
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command wait_command = {
  "wait",       "CONTAINER...", "Wait until the containers stop, then print their exit codes.",
  wait_options, NULL,           { 1, HUSK_CLI_ANY, "expects at least one container" },
};

int
husk_cmd_wait (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  int first;

  if ((first = husk_cli_parse (&wait_command, argc, argv, err)) <= 0)
    return first;
  return husk_cli_each_container (g, "wait", argc, argv, first, wait_one, NULL, err);
}
