#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "diff.h"
#include "record.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

/* Runs where every id that owns a file in the layers is mapped; prints from there.  */
static int
print_diff (void *arg, struct husk_error **err)
{
  const struct husk_container_spec *spec = arg;
  struct husk_change *v = NULL;
  size_t n = 0;

  if (husk_diff_dirs (spec->upperdir, spec->lowerdirs, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    printf ("%c %s\n", (char) v[i].kind, v[i].path);
  husk_changes_free (v, n);
  if (fflush (stdout) != 0)
    return husk_error_set (err, errno, "write");
  return 0;
}

enum
{
  OPT_HELP = 256,
};

static const struct husk_cli_option diff_options[] = {
  { "help", OPT_HELP, HUSK_CLI_ARG_NONE, NULL, "show this help" },
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command diff_command = {
  "diff",
  "CONTAINER",
  "List the files a container added (A), changed (C) and deleted (D) against its image.",
  diff_options,
  NULL,
  { 1, 1, "expects one container" },
};

int
husk_cmd_diff (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  int first;

  if ((first = husk_cli_parse (&diff_command, argc, argv, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_load (store, argv[first], &ctr, err) < 0)
    return -1;
  if (husk_userns_run (ctr->spec.idmap, print_diff, &ctr->spec, err) < 0)
    return husk_error_wrap (err, "diff %.12s", ctr->id);
  return 0;
}
