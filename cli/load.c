#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "dockerarchive.h"
#include "format.h"
#include "record.h"
#include "util.h"
#include "banned.h"

struct load_job
{
  struct husk_store *store;
  const char *path;
  const char *label; /* For errors: "standard input", or NULL for PATH.  */
  bool quiet;
  bool rootless;
  const struct husk_idmap *map; /* The user namespace's, for the warning on owners.  */
  bool pull;                    /* husk pull docker-archive:FILE: print IDs, as pull does.  */
};

/* Runs as root of the user's namespace, like a pull.  */
static int
do_load (void *arg, struct husk_error **err)
{
  struct load_job *job = arg;
  struct husk_archive_loaded *loaded = NULL;
  struct husk_cli_progress bar;
  size_t n = 0;
  int rc;

  rc = husk_archive_load (
      job->store, job->path, job->label, job->pull, job->rootless,
      husk_cli_progress_start (&bar, job->quiet ? HUSK_CLI_PROGRESS_QUIET : HUSK_CLI_PROGRESS_LINES,
                               stderr),
      husk_ctr_images_in_use, &loaded, &n, err);
  husk_cli_progress_finish (&bar);
  if (rc < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      const char *label = loaded[i].names && loaded[i].names[0] ? loaded[i].names[0] : NULL;
      husk_cli_warn_unmapped (label ? label : loaded[i].res.id, &loaded[i].res.unmapped, job->map);
      if (loaded[i].res.skipped_devices > 0 && !job->quiet)
        fprintf (stderr, "husk: note: image \"%s\": %ju device nodes skipped (never unpacked)\n",
                 label ? label : loaded[i].res.id, (uintmax_t) loaded[i].res.skipped_devices);
      if (job->pull)
        printf ("%s\n", loaded[i].res.id);
      else if (loaded[i].names == NULL || loaded[i].names[0] == NULL)
        printf ("Loaded image ID: sha256:%s\n", loaded[i].res.id);
      else
        for (size_t k = 0; loaded[i].names[k]; k++)
          printf ("Loaded image: %s\n", loaded[i].names[k]);
    }
  husk_archive_loaded_free (loaded, n);
  return 0;
}

int
husk_cli_load_archive (struct husk_global *g, const char *path, bool quiet, bool pull,
                       struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;
  cleanup_close int spool = -1;
  char spool_path[64];
  struct load_job job = { .path = path, .quiet = quiet, .pull = pull };

  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0)
    return -1;
  /* The readers go over the archive more than once: standard input is kept in an unlinked
     file in the store's tmp/ for the time of the load.  */
  if (path == NULL)
    {
      spool = husk_archive_spool (store, STDIN_FILENO, err);
      if (spool < 0)
        return husk_error_wrap (err, "load");
      snprintf (spool_path, sizeof (spool_path), "/proc/self/fd/%d", spool);
      job.path = spool_path;
      job.label = "standard input";
    }
  job.store = store;
  job.rootless = map != NULL;
  job.map = map;
  fflush (stdout);
  return husk_userns_run (map, do_load, &job, err) < 0 ? -1 : 0;
}

static const struct husk_cli_option load_options[] = {
  { "input", 'i', HUSK_CLI_ARG_REQUIRED, "FILE",
    "the archive, or an OCI layout directory (default: standard input)" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only \"Loaded image\" lines" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command load_command = {
  "load",
  "[-q] [-i FILE|DIRECTORY]",
  "Import the images of a docker-archive (\"docker save\" output, the classic layout or\n"
  "that of Docker 25 and later, or \"husk save\" output), of an oci-archive (an OCI\n"
  "image layout in a tar), or of an OCI image layout directory, told apart by their\n"
  "content.  Without -i the archive is read from standard input.",
  load_options,
  NULL,
  { 0, 0, "takes no arguments" },
};

int
husk_cmd_load (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  const char *input = NULL;
  bool quiet = false;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&load_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'i':
        input = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      }
  if ((first = husk_cli_operands (&load_command, c, argc, err)) <= 0)
    return first;
  /* As docker load: an archive is not typed in.  */
  if (input == NULL && isatty (STDIN_FILENO))
    return husk_error_set (err, 0,
                           "load: refusing to read an archive from a terminal: use -i FILE or "
                           "redirect standard input");
  return husk_cli_load_archive (g, input, quiet, false, err);
}
