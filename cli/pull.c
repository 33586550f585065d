#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "layout.h"
#include "manifest.h"
#include "format.h"
#include "pull.h"
#include "reference.h"
#include "util.h"
#include "banned.h"

struct pull_job
{
  struct husk_store *store;
  const char *dir; /* An oci: layout, or NULL for a registry.  */
  const char *tag;
  const char *reference; /* A registry reference.  */
  const char *platform;
  bool tls_verify;
  bool quiet;
  bool rootless;                /* In a user namespace: uid 0 there is not the host's root.  */
  const struct husk_idmap *map; /* That namespace's, for the warning on owners.  */
  bool no_id;                   /* Print no image ID (a pull for a build).  */
};

/* Runs as root of the user's namespace, so files get their owners' mapped ids.  */
static int
do_pull (void *arg, struct husk_error **err)
{
  struct pull_job *job = arg;
  struct husk_pull_result res = { 0 };
  struct husk_cli_progress bar;
  cleanup_free char *name = NULL;
  int rc;

  if (job->dir)
    {
      /* A layout is read at disk speed: a line per layer, terminal or not.  */
      const struct husk_progress *progress = husk_cli_progress_start (
          &bar, job->quiet ? HUSK_CLI_PROGRESS_QUIET : HUSK_CLI_PROGRESS_LINES, stderr);
      rc = husk_layout_pull (job->store, job->dir, job->tag, job->rootless, progress, &res, &name,
                             err);
    }
  else
    {
      struct husk_pull_options o
          = { .platform = job->platform, .tls_verify = job->tls_verify, .rootless = job->rootless };
      o.progress = husk_cli_progress_start (&bar,
                                            job->quiet               ? HUSK_CLI_PROGRESS_QUIET
                                            : isatty (STDERR_FILENO) ? HUSK_CLI_PROGRESS_TERMINAL
                                                                     : HUSK_CLI_PROGRESS_LINES,
                                            stderr);
      rc = husk_registry_pull (job->store, job->reference, &o, &res, &name, err);
    }
  husk_cli_progress_finish (&bar);
  if (rc < 0)
    return -1;
  husk_cli_warn_unmapped (name ? name : res.id, &res.unmapped, job->map);
  if (res.skipped_devices > 0 && !job->quiet)
    fprintf (stderr, "husk: note: image \"%s\": %ju device nodes skipped (never unpacked)\n",
             name ? name : res.id, (uintmax_t) res.skipped_devices);
  if (!job->no_id)
    printf ("%s\n", res.id);
  return 0;
}

int
husk_cli_pull_for (struct husk_store *store, const struct husk_idmap *map, const char *ref,
                   bool tls_verify, bool quiet, struct husk_error **err)
{
  struct pull_job job = {
    .store = store,
    .reference = ref,
    .tls_verify = tls_verify,
    .quiet = quiet,
    .rootless = map != NULL,
    .map = map,
    .no_id = true,
  };
  /* The pull's errors name the reference already.  */
  return husk_userns_run (map, do_pull, &job, err) < 0 ? -1 : 0;
}

enum
{
  OPT_PLATFORM = 257, /* Not 256: see husk_cli_option.key.  */
  OPT_TLS_VERIFY,
};

static const struct husk_cli_option pull_options[] = {
  { "platform", OPT_PLATFORM, HUSK_CLI_ARG_REQUIRED, "OS/ARCH[/VARIANT]",
    "the image to pick from a multi-platform index" },
  { "tls-verify", OPT_TLS_VERIFY, HUSK_CLI_ARG_OPTIONAL, "true|false",
    "false: do not verify the registry's certificate (and allow HTTP)" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only the image ID" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command pull_command = {
  "pull",
  "[OPTIONS] SOURCE",
  "Import an image into the store and print its ID.\n\n"
  "Sources:\n"
  "  [REGISTRY/]NAME[:TAG][@DIGEST]  an image in a registry (docker.io by default);\n"
  "                 docker://REFERENCE is the same\n"
  "  oci:DIR[:TAG]  an OCI image layout directory; TAG is the\n"
  "                 org.opencontainers.image.ref.name of one of its images\n"
  "  docker-archive:FILE\n"
  "                 a docker save archive: every image in it",
  pull_options,
  NULL,
  { 1, 1, "expects exactly one source" },
};

int
husk_cmd_pull (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *tag = NULL;
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;
  struct pull_job job = { 0 };
  const char *source;
  int c, first;

  job.tls_verify = true;
  optind = 1;
  while ((c = husk_cli_next_option (&pull_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'q':
        job.quiet = true;
        break;
      case OPT_PLATFORM:
        job.platform = optarg;
        break;
      case OPT_TLS_VERIFY:
        if (husk_cli_tls_verify ("pull", optarg, &job.tls_verify, err) < 0)
          return -1;
        break;
      }
  if ((first = husk_cli_operands (&pull_command, c, argc, err)) <= 0)
    return first;
  source = argv[first];
  if (husk_str_has_prefix (source, "docker-archive:"))
    {
      const char *file = source + strlen ("docker-archive:");
      if (job.platform)
        return husk_cli_usage_error (err, "pull", "--platform applies to registry images only");
      if (*file == '\0')
        return husk_cli_usage_error (err, "pull", "docker-archive: needs a file");
      return husk_cli_load_archive (g, file, job.quiet, true, err);
    }
  if (husk_str_has_prefix (source, "oci:"))
    {
      if (job.platform)
        return husk_cli_usage_error (err, "pull", "--platform applies to registry images only");
      if (husk_layout_split (source + 4, &dir, &tag, err) < 0)
        return -1;
    }
  else
    {
      struct husk_reference r;
      if (husk_str_has_prefix (source, "docker://"))
        source += 9;
      /* Check the reference and the platform here, before any store or namespace work.  */
      if (husk_reference_parse (source, &r, err) < 0)
        return -1;
      husk_reference_clear (&r);
      if (job.platform)
        {
          cleanup_free char *os = NULL, *arch = NULL, *variant = NULL;
          cleanup_error struct husk_error *perr = NULL;
          if (husk_platform_parse (job.platform, &os, &arch, &variant, &perr) < 0)
            return husk_cli_usage_error (err, "pull", "%s", perr->msg);
        }
      job.reference = source;
    }
  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0)
    return -1;
  job.store = store;
  job.dir = dir;
  job.tag = tag;
  job.rootless = map != NULL;
  job.map = map;
  if (husk_userns_run (map, do_pull, &job, err) < 0)
    return -1;
  return 0;
}
