#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "export.h"
#include "lock.h"
#include "record.h"
#include "util.h"
#include "banned.h"

static const struct husk_cli_option export_options[] = {
  { "output", 'o', HUSK_CLI_ARG_REQUIRED, "FILE",
    "write to FILE (replaced atomically) instead of standard output" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command export_command = {
  "export",
  "[-o FILE] CONTAINER",
  "Write a container's filesystem as a tar archive: its image's files with the\n"
  "container's changes, owned by the container's ids.  Without -o the archive goes to\n"
  "standard output, which must not be a terminal.",
  export_options,
  NULL,
  { 1, 1, "expects one container" },
};

int
husk_cmd_export (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *loaded = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_close int lock = -1;
  cleanup_close int fd = -1;
  cleanup_free char *tmp = NULL;
  cleanup_free char *final = NULL;
  const char *output = NULL;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&export_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'o':
        output = optarg;
        break;
      }
  if ((first = husk_cli_operands (&export_command, c, argc, err)) <= 0)
    return first;
  if (output && *output == '\0')
    return husk_cli_usage_error (err, "export", "-o needs a file name");
  /* Docker's rule: a tar stream is not written to a terminal.  */
  if (output == NULL && isatty (STDOUT_FILENO))
    return husk_cli_usage_error (err, "export",
                                 "standard output is a terminal: give -o FILE or redirect it");

  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  if (husk_ctr_load (store, argv[first], &loaded, err) < 0)
    return husk_error_wrap (err, "export");
  /* No start, restart or rm meanwhile: its directories stay where they are.  */
  lock = husk_ctr_lock (store, loaded->id, &ctr, err);
  if (lock < 0)
    return husk_error_wrap (err, "export");

  if (output)
    {
      /* The caller's file: its umask applies (husk runs with 0022 of its own, main.c).  */
      fd = husk_cli_output_open (g, output, &tmp, &final, err);
      if (fd < 0)
        return husk_error_wrap (err, "export");
    }
  fflush (stdout);
  if (husk_export (ctr, output ? fd : STDOUT_FILENO, err) < 0)
    {
      husk_cli_output_abort (tmp);
      return husk_error_wrap (err, "export %.12s", ctr->id);
    }
  if (output && husk_cli_output_commit (fd, tmp, final, err) < 0)
    return husk_error_wrap (err, "export %.12s", ctr->id);
  return 0;
}
