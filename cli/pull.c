#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "layout.h"
#include "util.h"
#include "banned.h"

static void
pull_usage (void)
{
  printf ("Usage: husk pull [-q] SOURCE\n\n"
          "Import an image into the store and print its ID.\n\n"
          "Sources:\n"
          "  oci:DIR[:TAG]  an OCI image layout directory; TAG is the\n"
          "                 org.opencontainers.image.ref.name of one of its images\n"
          "  docker-archive:FILE\n"
          "                 a docker save archive: every image in it\n\n"
          "Options:\n"
          "  -q, --quiet    print only the image ID\n"
          "  -h, --help     show this help\n");
}

struct pull_job
{
  struct husk_store *store;
  const char *dir;
  const char *tag;
  bool quiet;
  bool rootless; /* In a user namespace: uid 0 there is not the host's root.  */
};

/* Runs as root of the user's namespace, so files get their owners' mapped ids.  */
static int
do_pull (void *arg, struct husk_error **err)
{
  struct pull_job *job = arg;
  struct husk_pull_result res = { 0 };
  cleanup_free char *name = NULL;

  if (husk_layout_pull (job->store, job->dir, job->tag, job->rootless, job->quiet ? NULL : stderr,
                        &res, &name, err)
      < 0)
    return -1;
  if (res.squashed_owners > 0)
    fprintf (stderr,
             "husk: warning: image \"%s\": %ju files owned by other users belong to you: there is "
             "no /etc/subuid range to map them\n",
             name ? name : res.id, (uintmax_t) res.squashed_owners);
  if (res.skipped_devices > 0 && !job->quiet)
    fprintf (stderr, "husk: note: image \"%s\": %ju device nodes skipped (rootless)\n",
             name ? name : res.id, (uintmax_t) res.skipped_devices);
  printf ("%s\n", res.id);
  return 0;
}

int
husk_cmd_pull (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *tag = NULL;
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;
  struct pull_job job = { 0 };
  const char *source;
  int c;

  optind = 1;
  while ((c = husk_cli_getopt ("pull", argc, argv, "+qh", opts, err)) != -1)
    switch (c)
      {
      case 'q':
        job.quiet = true;
        break;
      case 'h':
        pull_usage ();
        return 0;
      default:
        return -1;
      }
  if (argc - optind != 1)
    return husk_cli_usage_error (err, "pull", "expects exactly one source");
  source = argv[optind];
  if (husk_str_has_prefix (source, "docker-archive:"))
    {
      const char *file = source + strlen ("docker-archive:");
      if (*file == '\0')
        return husk_cli_usage_error (err, "pull", "docker-archive: needs a file");
      return husk_cli_load_archive (g, file, job.quiet, true, err);
    }
  if (!husk_str_has_prefix (source, "oci:"))
    return husk_error_set (err, 0,
                           "pull \"%s\": only oci:DIR[:TAG] sources are supported in this version",
                           source);
  if (husk_layout_split (source + 4, &dir, &tag, err) < 0)
    return -1;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0)
    return -1;
  job.store = store;
  job.dir = dir;
  job.tag = tag;
  job.rootless = map != NULL;
  if (husk_userns_run (map, do_pull, &job, err) < 0)
    return -1;
  return 0;
}
