/* husk rmi and husk image prune: image records go, then every layer and blob nothing else
   references.  Both run as root of the user's namespace, where the layers' owners are mapped.  */
#include "config.h"

#include <stdio.h>

#include "cleanup.h"
#include "commands.h"
#include "buildcache.h"
#include "image.h"
#include "imagegc.h"
#include "record.h"
#include "util.h"
#include "banned.h"

struct rmi_job
{
  struct husk_store *store;
  char **refs;
  bool force;
  bool prune;
  bool all;
  bool builder; /* husk builder prune: the build cache only, no image.  */
};

static int
do_rmi (void *arg, struct husk_error **err)
{
  struct rmi_job *job = arg;
  struct husk_image_list list = { 0 };
  struct husk_gc_result gc = { 0 };
  struct husk_images_in_use in_use = { 0 };
  struct husk_image_changes changes = { 0 };
  uint64_t cache_bytes = 0;
  int rc = -1;

  if (husk_store_gc_lock (job->store, true, err) < 0)
    return -1;
  if (husk_store_lock (job->store, err) < 0)
    {
      husk_store_gc_unlock (job->store);
      return -1;
    }
  if (husk_images_load (job->store, &list, err) < 0
      || husk_ctr_images_in_use (job->store, &in_use, err) < 0)
    goto out;
  /* image prune and builder prune take the build cache's layers too (buildcache.h); rmi
     leaves them.  */
  if ((job->prune || job->builder) && husk_build_cache_clear (job->store, &cache_bytes, err) < 0)
    goto out;
  if (job->prune)
    husk_images_prune (&list, job->all, &in_use, &changes);
  else if (job->builder)
    ;
  else if (husk_images_remove (&list, job->refs, job->force, &in_use, &changes, err) < 0)
    goto out;
  /* The records first: a kill after this leaves unreferenced files, which the next prune
     removes, never a record whose layers are gone.  */
  if (husk_images_save (job->store, &list, err) < 0)
    goto out;
  for (size_t i = 0; i < changes.n; i++)
    printf ("%s%s\n",
            changes.items[i].kind == HUSK_IMAGE_DELETED ? "Deleted: sha256:" : "Untagged: ",
            changes.items[i].what);
  if (husk_images_gc (job->store, &list, &in_use, &gc, err) < 0)
    goto out;
  if (job->prune || job->builder)
    {
      /* What the cache, layers and blobs removed held on disk, as du counts it (as
         BuildKit's prune does, through containerd's disk usage).  */
      char size[32];
      husk_cli_format_size ((int64_t) (gc.freed + cache_bytes), size, sizeof (size));
      printf ("Total reclaimed space: %s\n", size);
    }
  rc = 0;
out:
  husk_image_changes_clear (&changes);
  husk_images_in_use_clear (&in_use);
  husk_images_clear (&list);
  husk_store_unlock (job->store);
  husk_store_gc_unlock (job->store);
  return rc;
}

static int
run_job (struct husk_global *g, struct rmi_job *job, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_idmap mapbuf;
  const struct husk_idmap *map;

  if (husk_cli_open_store (g, &store, err) < 0 || husk_cli_idmap (&mapbuf, &map, err) < 0)
    return -1;
  job->store = store;
  fflush (stdout);
  return husk_userns_run (map, do_rmi, job, err) < 0 ? -1 : 0;
}

static const struct husk_cli_option rmi_options[] = {
  { "force", 'f', HUSK_CLI_ARG_NONE, NULL,
    "remove an image that has several names, given by ID; for an\n"
    "image a container uses, remove its names and keep it" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command rmi_command = {
  "rmi",
  "[-f] IMAGE...",
  "Remove images: a name given removes that name, a NAME@DIGEST that repo digest,\n"
  "and either the image with its last name or repo digest (a repository's last tag\n"
  "takes that repository's digests with it); an ID given removes the image.  Layers\n"
  "and blobs that no other image uses are deleted.  An image a container was made\n"
  "from is kept.",
  rmi_options,
  NULL,
  { 1, HUSK_CLI_ANY, "expects at least one image" },
};

int
husk_cmd_rmi (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  struct rmi_job job = { 0 };
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&rmi_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'f':
        job.force = true;
        break;
      }
  if ((first = husk_cli_operands (&rmi_command, c, argc, err)) <= 0)
    return first;
  job.refs = argv + first;
  return run_job (g, &job, err);
}

static const struct husk_cli_option prune_options[] = {
  { "all", 'a', HUSK_CLI_ARG_NONE, NULL, "remove every image no container uses, named or not" },
  { "force", 'f', HUSK_CLI_ARG_NONE, NULL,
    "do not ask (husk never asks; accepted for compatibility)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command prune_command = {
  "image prune",
  "[-a] [-f]",
  "Remove images without a name that no container uses, then every layer and blob\n"
  "no image references (such as those of a pull that was killed).",
  prune_options,
  NULL,
  { 0, 0, "takes no arguments" },
};

int
husk_cmd_image_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  struct rmi_job job = { .prune = true };
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&prune_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'a':
        job.all = true;
        break;
      case 'f':
        break;
      }
  if ((first = husk_cli_operands (&prune_command, c, argc, err)) <= 0)
    return first;
  return run_job (g, &job, err);
}

static const struct husk_cli_option builder_prune_options[] = {
  { "all", 'a', HUSK_CLI_ARG_NONE, NULL, "accepted for compatibility: the whole cache goes" },
  { "force", 'f', HUSK_CLI_ARG_NONE, NULL,
    "do not ask (husk never asks; accepted for compatibility)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command builder_prune_command = {
  "builder prune",
  "[-a] [-f]",
  "Remove husk build's cache: its entries, the build contexts' stat caches, the RUN\n"
  "cache mounts, and the layers and blobs only the cache kept.  Images stay.",
  builder_prune_options,
  NULL,
  { 0, 0, "takes no arguments" },
};

int
husk_cmd_builder_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  struct rmi_job job = { .builder = true };
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&builder_prune_command, argc, argv, err)) > 0)
    ;
  if ((first = husk_cli_operands (&builder_prune_command, c, argc, err)) <= 0)
    return first;
  return run_job (g, &job, err);
}

static const struct husk_cli_subcommand builder_subcommands[] = {
  { "prune", husk_cmd_builder_prune, "remove the build cache" },
};

static const struct husk_cli_group builder_group = {
  "builder",
  "Manage husk build's cache.",
  builder_subcommands,
  sizeof (builder_subcommands) / sizeof (builder_subcommands[0]),
};

int
husk_cmd_builder (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  return husk_cli_group_run (&builder_group, g, argc, argv, err);
}
