#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "layerout.h"
#include "selfexe.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

enum
{
  OPT_BUILD_ARG = 256,
  OPT_TARGET,
  OPT_NO_CACHE,
  OPT_CACHE_EXPLAIN,
  OPT_LABEL,
  OPT_NETWORK,
  OPT_IIDFILE,
  OPT_TIMESTAMP,
  OPT_PULL,
  OPT_FORMAT,
  OPT_SECRET,
  OPT_TLS_VERIFY,
};

/* Before the first container a build runs: husk from its sealed copy (CVE-2019-5736), as
   husk run starts; a build whose steps are all cached never pays for the copy.  */
static int
seal_for_build (void *arg, struct husk_error **err)
{
  struct husk_global *g = arg;
  return husk_self_exe_seal (g->argv, err);
}

struct pull_ctx
{
  struct husk_store *store;
  const struct husk_idmap *map;
  bool tls_verify, quiet;
};

static int
pull_for_build (void *arg, const char *ref, struct husk_error **err)
{
  struct pull_ctx *p = arg;
  return husk_cli_pull_for (p->store, p->map, ref, p->tls_verify, p->quiet, err);
}

static const struct husk_cli_option build_options[] = {
  { "tag", 't', HUSK_CLI_ARG_REQUIRED, "NAME", "name the image (repeatable)" },
  { "file", 'f', HUSK_CLI_ARG_REQUIRED, "FILE",
    "the Dockerfile (default: CONTEXT/Dockerfile; - reads stdin)" },
  { "build-arg", OPT_BUILD_ARG, HUSK_CLI_ARG_REQUIRED, "NAME[=VALUE]",
    "set a build argument (without a value: from the environment)" },
  { "secret", OPT_SECRET, HUSK_CLI_ARG_REQUIRED, "id=ID[,src=PATH|,env=VAR]",
    "a secret for RUN --mount=type=secret (never in the image or the cache)" },
  { "target", OPT_TARGET, HUSK_CLI_ARG_REQUIRED, "STAGE", "build up to this stage" },
  { "no-cache", OPT_NO_CACHE, HUSK_CLI_ARG_NONE, NULL, "run every step, use no cached layer" },
  { "cache-explain", OPT_CACHE_EXPLAIN, HUSK_CLI_ARG_NONE, NULL,
    "say why each RUN, COPY or ADD step that is not cached missed" },
  { "label", OPT_LABEL, HUSK_CLI_ARG_REQUIRED, "KEY=VALUE", "set a label on the image" },
  { "network", OPT_NETWORK, HUSK_CLI_ARG_REQUIRED, "none|host|default",
    "the RUN steps' network (default: none until husk has networks)" },
  { "iidfile", OPT_IIDFILE, HUSK_CLI_ARG_REQUIRED, "FILE", "write the image ID to FILE" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only the image ID" },
  { "timestamp", OPT_TIMESTAMP, HUSK_CLI_ARG_REQUIRED, "SECONDS",
    "every created time and file time at most this (as SOURCE_DATE_EPOCH)" },
  { "pull", OPT_PULL, HUSK_CLI_ARG_OPTIONAL, "missing|always|never",
    "when to pull FROM images (default: missing; --pull alone: always)" },
  { "tls-verify", OPT_TLS_VERIFY, HUSK_CLI_ARG_OPTIONAL, "true|false",
    "check registries' certificates when pulling (default: true)" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "oci|docker",
    "the image's manifest: OCI's (default) or Docker's v2 schema 2" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command build_command = {
  "build",
  "[OPTIONS] CONTEXT",
  "Build an image from a Dockerfile and the context directory CONTEXT, as docker build\n"
  "does, without root.  Steps are cached by content: an unchanged step is not run again.",
  build_options,
  NULL,
  { 1, 1, "expects exactly one context directory" },
};

static int
parse_epoch (const char *s, int64_t *ret)
{
  uint64_t v;

  if (husk_parse_u64 (s, INT64_MAX, &v) < 0)
    return -1;
  *ret = (int64_t) v;
  return 0;
}

/* --iidfile FILE.  Docker removes an old FILE before it builds, so that a failed build leaves
   none; husk also creates and removes a file beside it then, so that a FILE that cannot be
   written fails the build before any step runs, not after the image is recorded (a failed
   build records no image).  A probe rather than a file kept open to the end: a build that
   runs a RUN step execs husk again from its sealed copy (seal_for_build), and starts over.  */
static int
iidfile_check (const char *path, struct husk_error **err)
{
  cleanup_free char *probe = NULL;
  char rnd[17];
  int fd;

  if (unlink (path) < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "build: --iidfile \"%s\": remove the old one", path);
  if (husk_random_hex (rnd, 16, err) < 0)
    return -1;
  probe = husk_strdup_printf ("%s.tmp-%s", path, rnd);
  fd = open (probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return husk_error_set (err, errno, "build: --iidfile \"%s\"", path);
  close (fd);
  unlink (probe);
  return 0;
}

int
husk_cmd_build (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  cleanup_strv char **tags = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **args = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **labels = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **secrets = husk_xcalloc (1, sizeof (char *));
  struct husk_build_opts o = { .timestamp = -1, .network = HUSK_NETWORK_NONE };
  struct husk_idmap mapbuf;
  const char *iidfile = NULL, *sde = getenv ("SOURCE_DATE_EPOCH");
  bool quiet = false;
  struct pull_ctx pctx = { .tls_verify = true };
  char id[HUSK_DIGEST_LEN + 1];
  int c, first;

  if (sde && *sde && parse_epoch (sde, &o.timestamp) < 0)
    return husk_error_set (err, 0, "SOURCE_DATE_EPOCH \"%s\": not a number of seconds", sde);
  optind = 1;
  while ((c = husk_cli_next_option (&build_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 't':
        {
          /* Every name is checked before any step runs, a usage error as commit's is.  */
          cleanup_error struct husk_error *terr = NULL;
          cleanup_free char *full = husk_image_name_for_tag (optarg, &terr);
          if (full == NULL)
            return husk_cli_usage_error (err, "build", "-t: %s", terr->msg);
          husk_strv_append (&tags, full);
          break;
        }
      case 'f':
        o.dockerfile = optarg;
        break;
      case OPT_BUILD_ARG:
        husk_strv_append (&args, optarg);
        break;
      case OPT_SECRET:
        if (strncmp (optarg, "id=", 3) != 0 && strstr (optarg, ",id=") == NULL)
          return husk_cli_usage_error (err, "build", "--secret needs id=ID");
        husk_strv_append (&secrets, optarg);
        break;
      case OPT_TARGET:
        o.target = optarg;
        break;
      case OPT_NO_CACHE:
        o.no_cache = true;
        break;
      case OPT_CACHE_EXPLAIN:
        o.cache_explain = true;
        break;
      case OPT_LABEL:
        if (strchr (optarg, '=') == NULL || optarg[0] == '=')
          return husk_cli_usage_error (err, "build", "--label needs KEY=VALUE");
        husk_strv_append (&labels, optarg);
        break;
      case OPT_NETWORK:
        if (strcmp (optarg, "none") == 0 || strcmp (optarg, "default") == 0)
          o.network = HUSK_NETWORK_NONE;
        else if (strcmp (optarg, "host") == 0)
          o.network = HUSK_NETWORK_HOST;
        else
          return husk_cli_usage_error (err, "build", "--network: expected none, host or default");
        break;
      case OPT_IIDFILE:
        iidfile = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      case OPT_TIMESTAMP:
        if (parse_epoch (optarg, &o.timestamp) < 0)
          return husk_cli_usage_error (err, "build", "--timestamp needs a number of seconds");
        break;
      case OPT_PULL:
        if (optarg == NULL || strcmp (optarg, "always") == 0 || strcmp (optarg, "true") == 0)
          o.pull = HUSK_BUILD_PULL_ALWAYS;
        else if (strcmp (optarg, "missing") == 0)
          o.pull = HUSK_BUILD_PULL_MISSING;
        else if (strcmp (optarg, "never") == 0 || strcmp (optarg, "false") == 0)
          o.pull = HUSK_BUILD_PULL_NEVER;
        else
          return husk_cli_usage_error (err, "build", "--pull: expected missing, always or never");
        break;
      case OPT_TLS_VERIFY:
        if (husk_cli_tls_verify ("build", optarg, &pctx.tls_verify, err) < 0)
          return -1;
        break;
      case OPT_FORMAT:
        if (husk_cli_image_format (optarg, &o.format) < 0)
          return husk_cli_usage_error (err, "build", "--format \"%s\": expected oci or docker",
                                       optarg);
        break;
      }
  if ((first = husk_cli_operands (&build_command, c, argc, err)) <= 0)
    return first;
  o.context = argv[first];
  o.tags = tags;
  o.build_args = args;
  o.labels = labels;
  o.secrets = secrets;
  o.progress = quiet ? NULL : stdout;
  if (iidfile && iidfile_check (iidfile, err) < 0)
    return -1;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &o.map, err) < 0)
    return -1;
  pctx.store = store;
  pctx.map = o.map;
  pctx.quiet = quiet;
  o.pull_fn = pull_for_build;
  o.pull_arg = &pctx;
  o.before_run = seal_for_build;
  o.before_run_arg = g;
  if (husk_build (store, &o, id, err) < 0)
    {
      /* A failed build is status 1, as docker build's, whatever the step's own was (a RUN
         whose container could not start says 125).  */
      (*err)->status = 1;
      return husk_error_wrap (err, "build");
    }
  if (iidfile)
    {
      cleanup_free char *line = husk_strdup_printf ("%s", id);
      if (husk_write_file_replace_at (AT_FDCWD, iidfile, line, strlen (line),
                                      0644 & ~g->caller_umask, err)
          < 0)
        return husk_error_wrap (err, "build: --iidfile");
    }
  printf ("%s\n", id);
  return 0;
}

void
husk_cli_full_preload (void)
{
  husk_layer_write_preload ();
}
