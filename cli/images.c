#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "commands.h"
#include "image.h"
#include "reference.h"
#include "util.h"
#include "banned.h"

static void
split_name (const char *name, char **ret_repo, char **ret_tag)
{
  const char *at = strchr (name, '@');
  const char *slash = strrchr (name, '/');
  const char *colon = strrchr (slash ? slash : name, ':');

  if (at)
    {
      *ret_repo = husk_xcalloc (1, (size_t) (at - name) + 1);
      memcpy (*ret_repo, name, (size_t) (at - name));
      *ret_tag = husk_xstrdup ("<none>");
    }
  else if (colon)
    {
      *ret_repo = husk_xcalloc (1, (size_t) (colon - name) + 1);
      memcpy (*ret_repo, name, (size_t) (colon - name));
      *ret_tag = husk_xstrdup (colon + 1);
    }
  else
    {
      *ret_repo = husk_xstrdup (name);
      *ret_tag = husk_xstrdup ("<none>");
    }
}

/* Print one row; DIGEST is NULL without --digests.  */
static void
row (const char *repo, const char *tag, const char *digest, const struct husk_image *img,
     const char *age, const char *size)
{
  if (digest)
    printf ("%-40s  %-16s  %-71s  %.12s  %-16s  %s\n", repo, tag, digest, img->id, age, size);
  else
    printf ("%-40s  %-16s  %.12s  %-16s  %s\n", repo, tag, img->id, age, size);
}

/* The digest of the repo digest RD ("domain/path@sha256:HEX").  */
static const char *
digest_of (const char *rd)
{
  return rd + husk_image_name_repo_len (rd) + 1;
}

static bool
same_repo (const char *a, const char *b)
{
  size_t n = husk_image_name_repo_len (a);
  return husk_image_name_repo_len (b) == n && strncmp (a, b, n) == 0;
}

/* docker images' rows for IMG: a row per name (with --digests, per name and digest of its
   repository), then a row per repository that has digests but no name (with --digests, per
   digest), and "<none>" for an image with neither.  */
static void
image_rows (const struct husk_image *img, bool digests)
{
  size_t n = husk_strv_len (img->names), nd = husk_strv_len (img->repo_digests);
  char age[64], size[32];

  husk_cli_format_age (img->created, age, sizeof (age));
  husk_cli_format_size (img->size, size, sizeof (size));
  for (size_t k = 0; k < n; k++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      bool shown = false;

      split_name (img->names[k], &repo, &tag);
      for (size_t d = 0; digests && d < nd; d++)
        if (same_repo (img->repo_digests[d], img->names[k]))
          {
            row (repo, tag, digest_of (img->repo_digests[d]), img, age, size);
            shown = true;
          }
      if (!shown)
        row (repo, tag, digests ? "<none>" : NULL, img, age, size);
    }
  for (size_t d = 0; d < nd; d++)
    {
      const char *rd = img->repo_digests[d];
      cleanup_free char *repo = husk_xcalloc (1, husk_image_name_repo_len (rd) + 1);
      bool seen = false;

      for (size_t k = 0; k < n && !seen; k++)
        seen = same_repo (img->names[k], rd);
      /* Without --digests, one row for the repository.  */
      for (size_t e = 0; e < d && !seen && !digests; e++)
        seen = same_repo (img->repo_digests[e], rd);
      if (seen)
        continue;
      memcpy (repo, rd, husk_image_name_repo_len (rd));
      row (repo, "<none>", digests ? digest_of (rd) : NULL, img, age, size);
    }
  if (n == 0 && nd == 0)
    row ("<none>", "<none>", digests ? "<none>" : NULL, img, age, size);
}

enum
{
  OPT_DIGESTS = 257, /* Not 256: see husk_cli_option.key.  */
};

static const struct husk_cli_option images_options[] = {
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "print only image IDs" },
  { "digests", OPT_DIGESTS, HUSK_CLI_ARG_NONE, NULL,
    "show a DIGEST column: the digests the image has in\nregistries (its repo digests)" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command images_command = {
  "images",
  "[-q] [--digests]",
  "List the images in the store.",
  images_options,
  NULL,
  { 0, 0, "takes no arguments" },
};

int
husk_cmd_images (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_image_list list;
  bool quiet = false, digests = false;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&images_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case OPT_DIGESTS:
        digests = true;
        break;
      }
  if ((first = husk_cli_operands (&images_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_images_load (store, &list, err) < 0)
    return -1;

  if (quiet)
    ;
  else if (digests)
    printf ("%-40s  %-16s  %-71s  %-12s  %-16s  %s\n", "REPOSITORY", "TAG", "DIGEST", "IMAGE ID",
            "CREATED", "SIZE");
  else
    printf ("%-40s  %-16s  %-12s  %-16s  %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (size_t i = 0; i < list.n; i++)
    {
      if (quiet)
        printf ("%.12s\n", list.items[i].id);
      else
        image_rows (&list.items[i], digests);
    }
  husk_images_clear (&list);
  return 0;
}
