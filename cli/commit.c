#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "commit.h"
#include "lock.h"
#include "record.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

struct commit_job
{
  struct husk_store *store;
  const struct husk_ctr *ctr;
  const struct husk_commit_opts *opts;
};

/* Runs where the owners of the container's files are mapped (its user namespace), as husk
   diff does; prints from there.  */
static int
do_commit (void *arg, struct husk_error **err)
{
  struct commit_job *job = arg;
  struct husk_commit_result res;

  if (husk_commit (job->store, job->ctr, job->opts, &res, err) < 0)
    return -1;
  if (res.skipped_devices > 0)
    fprintf (stderr, "husk: note: %ju device nodes are in the layer but not in the store\n",
             (uintmax_t) res.skipped_devices);
  printf ("%s\n", res.id);
  if (fflush (stdout) != 0)
    return husk_error_set (err, errno, "write");
  return 0;
}

enum
{
  OPT_PAUSE = 'p',
  OPT_FORMAT = 'f',
};

static const struct husk_cli_option commit_options[] = {
  { "change", 'c', HUSK_CLI_ARG_REQUIRED, "INSTRUCTION",
    "apply a Dockerfile instruction to the config: ENV, LABEL, CMD,\n"
    "ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL or ONBUILD\n"
    "(repeatable)" },
  { "message", 'm', HUSK_CLI_ARG_REQUIRED, "MESSAGE", "the history entry's comment" },
  { "author", 'a', HUSK_CLI_ARG_REQUIRED, "AUTHOR", "the image's author" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "oci|docker",
    "the image's manifest: OCI's (default) or Docker's v2 schema 2" },
  { "pause", OPT_PAUSE, HUSK_CLI_ARG_OPTIONAL, "BOOL",
    "accepted for docker's command line; the container is not paused" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command commit_command = {
  "commit",
  "[OPTIONS] CONTAINER [NAME]",
  "Make a container's changes a new image: its writable layer becomes a layer on top of its\n"
  "image's, its settings and the -c changes the config.  Prints the new image's ID.",
  commit_options,
  "SOURCE_DATE_EPOCH, when set, is the image's created time and no file in the layer is\n"
  "newer.",
  { 1, 2, "expects a container and at most one name" },
};

int
husk_cmd_commit (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_ctr struct husk_ctr *loaded = NULL;
  cleanup_ctr struct husk_ctr *ctr = NULL;
  cleanup_strv char **changes = husk_xcalloc (1, sizeof (char *));
  cleanup_close int lock = -1;
  struct husk_commit_opts opts = { .source_date_epoch = -1 };
  struct commit_job job;
  const char *sde = getenv ("SOURCE_DATE_EPOCH");
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&commit_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'c':
        husk_strv_append (&changes, optarg);
        break;
      case 'm':
        opts.message = optarg;
        break;
      case 'a':
        opts.author = optarg;
        break;
      case OPT_FORMAT:
        if (husk_cli_image_format (optarg, &opts.format) < 0)
          return husk_cli_usage_error (err, "commit", "--format \"%s\": expected oci or docker",
                                       optarg);
        break;
      case OPT_PAUSE:
        if (optarg && strcmp (optarg, "true") != 0 && strcmp (optarg, "false") != 0)
          return husk_cli_usage_error (err, "commit", "--pause takes true or false, not \"%s\"",
                                       optarg);
        break;
      }
  if ((first = husk_cli_operands (&commit_command, c, argc, err)) <= 0)
    return first;
  opts.name = first + 1 < argc ? argv[first + 1] : NULL;
  opts.changes = changes;
  if (sde && *sde)
    {
      uint64_t v;
      if (husk_parse_u64 (sde, INT64_MAX, &v) < 0)
        return husk_cli_usage_error (err, "commit", "SOURCE_DATE_EPOCH \"%s\" is not a number",
                                     sde);
      opts.source_date_epoch = (int64_t) v;
    }
  {
    cleanup_error struct husk_error *cerr = NULL;
    if (husk_commit_check (&opts, &cerr) < 0)
      return husk_cli_usage_error (err, "commit", "%s", cerr->msg);
  }

  if (husk_cli_open_store (g, &store, err) < 0)
    return -1;
  if (husk_ctr_load (store, argv[first], &loaded, err) < 0)
    return husk_error_wrap (err, "commit");
  /* No start, restart or rm meanwhile: the upper directory stays where it is.  */
  lock = husk_ctr_lock (store, loaded->id, &ctr, err);
  if (lock < 0)
    return husk_error_wrap (err, "commit");
  job.store = store;
  job.ctr = ctr;
  job.opts = &opts;
  fflush (stdout);
  if (husk_userns_run (ctr->spec.idmap, do_commit, &job, err) < 0)
    return husk_error_wrap (err, "commit %.12s", ctr->id);
  return 0;
}
