/* husk attach: the output (and input) of a detached container.  */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "commands.h"
#include "record.h"
#include "rundir.h"
#include "util.h"
#include "banned.h"

enum
{
  OPT_NO_STDIN = 257, /* Not 256: see husk_cli_option.key.  */
};

static const struct husk_cli_option attach_options[] = {
  { "no-stdin", OPT_NO_STDIN, HUSK_CLI_ARG_NONE, NULL, "do not forward standard input" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command attach_command = {
  "attach",
  "[--no-stdin] CONTAINER",
  "Relay a running container's output, and its input when it was started with -i,\n"
  "until it exits; exit with its status.",
  attach_options,
  NULL,
  { 1, 1, "expects one container" },
};

int
husk_cmd_attach (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_free char *sock = NULL;
  cleanup_close int fd = -1;
  bool no_stdin = false, send_stdin;
  int c, first, status = 0;

  optind = 1;
  while ((c = husk_cli_next_option (&attach_command, argc, argv, err)) > 0)
    switch (c)
      {
      case OPT_NO_STDIN:
        no_stdin = true;
        break;
      }
  if ((first = husk_cli_operands (&attach_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_load (store, argv[first], &ctr, err) < 0)
    return -1;
  if (ctr->status != HUSK_CTR_RUNNING)
    return husk_error_set (err, 0, "container %.12s is not running", ctr->id);
  send_stdin = !no_stdin && ctr->spec.interactive;
  if (husk_ctr_run_path (ctr, "attach.sock", &sock, err) < 0)
    return -1;
  if (husk_attach_connect (
          sock, HUSK_ATTACH_WANT_OUTPUT | (send_stdin ? HUSK_ATTACH_WANT_STDIN : 0), &fd, err)
      < 0)
    return husk_error_wrap (err, "container %.12s (a foreground run cannot be attached to)",
                            ctr->id);
  if (husk_attach_relay (fd, ctr->spec.tty, send_stdin, &status, err) < 0)
    return -1;
  return status;
}
