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

static void
diff_usage (void)
{
  printf ("Usage: husk diff CONTAINER\n\n"
          "List the files a container added (A), changed (C) and deleted (D) against its image.\n\n"
          "Options:\n"
          "      --help  show this help\n");
}

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

int
husk_cmd_diff (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[]
      = { { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  int c;

  optind = 1;
  while ((c = husk_cli_getopt ("diff", argc, argv, "+", opts, err)) != -1)
    switch (c)
      {
      case OPT_HELP:
        diff_usage ();
        return 0;
      default:
        return -1;
      }
  if (argc - optind != 1)
    return husk_cli_usage_error (err, "diff", "expects one container");
  if (husk_cli_open_store (g, &store, err) < 0
      || husk_ctr_load (store, argv[optind], &ctr, err) < 0)
    return -1;
  if (husk_userns_run (ctr->spec.idmap, print_diff, &ctr->spec, err) < 0)
    return husk_error_wrap (err, "diff %.12s", ctr->id);
  return 0;
}
