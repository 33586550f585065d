#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "tarimport.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

struct import_job
{
  struct husk_store *store;
  int fd;
  const struct husk_tar_import_opts *opts;
  const struct husk_idmap *map; /* The user namespace's, for the warning on owners.  */
};

/* Runs as root of the user's namespace, like a pull; prints from there.  */
static int
do_import (void *arg, struct husk_error **err)
{
  struct import_job *job = arg;
  struct husk_tar_import_result res;

  if (husk_tar_import (job->store, job->fd, job->opts, &res, err) < 0)
    return -1;
  husk_cli_warn_unmapped (job->opts->name ? job->opts->name : res.id, &res.unmapped, job->map);
  if (res.skipped_devices > 0)
    fprintf (stderr, "husk: note: %ju device nodes are in the layer but not in the store\n",
             (uintmax_t) res.skipped_devices);
  printf ("%s\n", res.id);
  if (fflush (stdout) != 0)
    return husk_error_set (err, errno, "write");
  return 0;
}

static const struct husk_cli_option import_options[] = {
  { "change", 'c', HUSK_CLI_ARG_REQUIRED, "INSTRUCTION",
    "apply a Dockerfile instruction to the config: ENV, LABEL, CMD,\n"
    "ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL or ONBUILD\n"
    "(repeatable)" },
  { "message", 'm', HUSK_CLI_ARG_REQUIRED, "MESSAGE", "the history entry's comment" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command import_command = {
  "import",
  "[OPTIONS] FILE|- [NAME[:TAG]]",
  "Make a tarball (\"-\": standard input; uncompressed or compressed with gzip, zstd,\n"
  "xz or bzip2) an image of one layer, such as husk export writes.  Prints the new\n"
  "image's ID.",
  import_options,
  NULL,
  { 1, 2, "expects a file and at most one name" },
};

int
husk_cmd_import (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_strv char **changes = husk_xcalloc (1, sizeof (char *));
  cleanup_close int fd = -1;
  struct husk_tar_import_opts opts = { 0 };
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;
  struct import_job job;
  const char *src;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&import_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'c':
        husk_strv_append (&changes, optarg);
        break;
      case 'm':
        opts.message = optarg;
        break;
      }
  if ((first = husk_cli_operands (&import_command, c, argc, err)) <= 0)
    return first;
  src = argv[first];
  opts.name = first + 1 < argc ? argv[first + 1] : NULL;
  opts.changes = changes;
  opts.source = src;
  if (*src == '\0')
    return husk_cli_usage_error (err, "import", "empty file name");
  if (husk_str_has_prefix (src, "http://") || husk_str_has_prefix (src, "https://"))
    return husk_cli_usage_error (err, "import", "\"%s\": importing from a URL is not supported",
                                 src);
  {
    cleanup_error struct husk_error *cerr = NULL;
    if (husk_tar_import_check (&opts, &cerr) < 0)
      return husk_cli_usage_error (err, "import", "%s", cerr->msg);
  }
  if (strcmp (src, "-") == 0)
    {
      if (isatty (STDIN_FILENO))
        return husk_cli_usage_error (err, "import",
                                     "standard input is a terminal: give a file or redirect it");
      fd = fcntl (STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    }
  else
    fd = open (src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return husk_error_set (err, errno, "import \"%s\"", src);

  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0)
    return -1;
  opts.rootless = map != NULL;
  job.store = store;
  job.fd = fd;
  job.opts = &opts;
  job.map = map;
  fflush (stdout);
  if (husk_userns_run (map, do_import, &job, err) < 0)
    return husk_error_wrap (err, "import");
  return 0;
}
