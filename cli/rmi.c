/* husk rmi and husk image prune: image records go, then every layer and blob nothing else
   references.  Both run as root of the user's namespace, where the layers' owners are mapped.  */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "util.h"
#include "banned.h"

static void
rmi_usage (void)
{
  printf ("Usage: husk rmi [-f] IMAGE...\n\n"
          "Remove images: a name given removes that name, and the image with its last name;\n"
          "an ID given removes the image.  Layers and blobs that no other image uses are\n"
          "deleted.  An image a container was made from is kept.\n\n"
          "Options:\n"
          "  -f, --force  remove an image that has several names, given by ID; for an\n"
          "               image a container uses, remove its names and keep it\n"
          "  -h, --help   show this help\n");
}

static void
prune_usage (void)
{
  printf ("Usage: husk image prune [-a] [-f]\n\n"
          "Remove images without a name that no container uses, then every layer and blob\n"
          "no image references (such as those of a pull that was killed).\n\n"
          "Options:\n"
          "  -a, --all    remove every image no container uses, named or not\n"
          "  -f, --force  do not ask (husk never asks; accepted for compatibility)\n"
          "  -h, --help   show this help\n");
}

struct rmi_job
{
  struct husk_store *store;
  char **refs;
  bool force;
  bool prune;
  bool all;
};

static bool
strv_has (char **v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

/* The name of IMG that REF means, or NULL when REF is an ID.  */
static const char *
name_meant (const struct husk_image *img, const char *ref)
{
  for (size_t k = 0; img->names && img->names[k]; k++)
    {
      char *one[2] = { img->names[k], NULL };
      struct husk_image probe = { .id = "", .names = one };
      struct husk_image_list l = { .items = &probe, .n = 1 };
      if (husk_images_lookup (&l, ref, NULL) != NULL)
        return img->names[k];
    }
  return NULL;
}

static int
apply_rmi (struct rmi_job *job, struct husk_image_list *list, char **in_use, char ***out,
           struct husk_error **err)
{
  for (size_t a = 0; job->refs[a]; a++)
    {
      const char *ref = job->refs[a];
      const struct husk_image *found = husk_images_lookup (list, ref, err);
      struct husk_image *img;
      const char *name;
      size_t idx;
      bool used;

      if (found == NULL)
        return -1;
      idx = (size_t) (found - list->items);
      img = &list->items[idx];
      used = strv_has (in_use, img->id);
      name = name_meant (img, ref);
      if (name && husk_strv_len (img->names) > 1)
        {
          cleanup_free char *line = husk_strdup_printf ("Untagged: %s", name);
          husk_strv_append (out, line);
          husk_image_untag (img, name);
          continue;
        }
      if (!name && husk_strv_len (img->names) > 1 && !job->force)
        return husk_error_set (err, 0,
                               "image \"%s\": it has %zu names (remove them one by one, or use -f)",
                               ref, husk_strv_len (img->names));
      if (used && !job->force)
        return husk_error_set (err, 0, "image \"%s\": a container uses it (use -f to remove its "
                                       "names and keep it for the container)", ref);
      while (img->names && img->names[0])
        {
          cleanup_free char *line = husk_strdup_printf ("Untagged: %s", img->names[0]);
          husk_strv_append (out, line);
          husk_image_untag (img, img->names[0]);
        }
      if (!used)
        {
          cleanup_free char *line = husk_strdup_printf ("Deleted: sha256:%s", img->id);
          husk_strv_append (out, line);
          husk_images_drop (list, idx);
        }
    }
  return 0;
}

static void
apply_prune (struct rmi_job *job, struct husk_image_list *list, char **in_use, char ***out)
{
  for (size_t i = list->n; i-- > 0;)
    {
      struct husk_image *img = &list->items[i];
      cleanup_free char *line = NULL;

      if (strv_has (in_use, img->id) || (!job->all && husk_strv_len (img->names) > 0))
        continue;
      for (size_t k = 0; img->names && img->names[k]; k++)
        {
          cleanup_free char *u = husk_strdup_printf ("Untagged: %s", img->names[k]);
          husk_strv_append (out, u);
        }
      line = husk_strdup_printf ("Deleted: sha256:%s", img->id);
      husk_strv_append (out, line);
      husk_images_drop (list, i);
    }
}

static int
do_rmi (void *arg, struct husk_error **err)
{
  struct rmi_job *job = arg;
  struct husk_image_list list = { 0 };
  struct husk_gc_result gc = { 0 };
  cleanup_strv char **in_use = NULL;
  cleanup_strv char **out = husk_xcalloc (1, sizeof (char *));
  int rc = -1;

  if (husk_store_gc_lock (job->store, true, err) < 0)
    return -1;
  if (husk_store_lock (job->store, err) < 0)
    {
      husk_store_gc_unlock (job->store);
      return -1;
    }
  if (husk_images_load (job->store, &list, err) < 0
      || husk_images_in_use (job->store, &in_use, err) < 0)
    goto out;
  if (job->prune)
    apply_prune (job, &list, in_use, &out);
  else if (apply_rmi (job, &list, in_use, &out, err) < 0)
    goto out;
  /* The records first: a kill after this leaves unreferenced files, which the next prune
     removes, never a record whose layers are gone.  */
  if (husk_images_save (job->store, &list, err) < 0)
    goto out;
  for (size_t i = 0; out[i]; i++)
    printf ("%s\n", out[i]);
  if (husk_images_gc (job->store, &list, &gc, err) < 0)
    goto out;
  if (job->prune)
    {
      char size[32];
      husk_cli_format_size ((int64_t) gc.bytes, size, sizeof (size));
      printf ("Total reclaimed space: %s\n", size);
    }
  rc = 0;
out:
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

int
husk_cmd_rmi (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct rmi_job job = { 0 };
  int c;

  optind = 1;
  while ((c = husk_cli_getopt ("rmi", argc, argv, "+fh", opts, err)) != -1)
    switch (c)
      {
      case 'f':
        job.force = true;
        break;
      case 'h':
        rmi_usage ();
        return 0;
      default:
        return -1;
      }
  if (optind >= argc)
    return husk_cli_usage_error (err, "rmi", "expects at least one image");
  job.refs = argv + optind;
  return run_job (g, &job, err);
}

int
husk_cmd_image_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "force", no_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct rmi_job job = { .prune = true };
  int c;

  optind = 1;
  while ((c = husk_cli_getopt ("image prune", argc, argv, "+afh", opts, err)) != -1)
    switch (c)
      {
      case 'a':
        job.all = true;
        break;
      case 'f':
        break;
      case 'h':
        prune_usage ();
        return 0;
      default:
        return -1;
      }
  if (optind != argc)
    return husk_cli_usage_error (err, "image prune", "takes no arguments");
  return run_job (g, &job, err);
}
