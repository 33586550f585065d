/* Removing images: see imagegc.h.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "buildcache.h"
#include "imagegc.h"
#include "manifest.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

void
husk_images_in_use_clear (struct husk_images_in_use *u)
{
  husk_strv_free (u->ids);
  husk_strv_free (u->chains);
  u->ids = u->chains = NULL;
}

bool
husk_images_in_use_has (const struct husk_images_in_use *u, const char *id)
{
  return u && husk_strv_contains (u->ids, id);
}

void
husk_image_changes_clear (struct husk_image_changes *c)
{
  for (size_t i = 0; i < c->n; i++)
    free (c->items[i].what);
  free (c->items);
  c->items = NULL;
  c->n = 0;
}

static void
change (struct husk_image_changes *c, enum husk_image_change_kind kind, const char *what)
{
  c->items = husk_xrealloc (c->items, (c->n + 1) * sizeof (*c->items));
  c->items[c->n].kind = kind;
  c->items[c->n].what = husk_xstrdup (what);
  c->n++;
}

/* Whether IMG has a name other than NAME in NAME's repository.  */
static bool
other_tag_in_repo (const struct husk_image *img, const char *name)
{
  size_t n = husk_image_name_repo_len (name);

  for (size_t k = 0; img->names && img->names[k]; k++)
    if (strcmp (img->names[k], name) != 0 && husk_image_name_repo_len (img->names[k]) == n
        && strncmp (img->names[k], name, n) == 0)
      return true;
  return false;
}

/* Whether DIGEST (one of IMG's repo digests) goes with the tag NAME: docker drops a
   repository's digests with its last tag.  */
static bool
goes_with_tag (const struct husk_image *img, const char *name, const char *digest)
{
  size_t n = husk_image_name_repo_len (name);

  return husk_image_name_repo_len (digest) == n && strncmp (digest, name, n) == 0
         && !other_tag_in_repo (img, name);
}

/* The references IMG keeps once WHAT (a name or a repo digest of it) is removed.  */
static size_t
refs_left (const struct husk_image *img, const char *what, bool is_name)
{
  size_t left = 0;

  for (size_t k = 0; img->names && img->names[k]; k++)
    left += strcmp (img->names[k], what) != 0;
  for (size_t k = 0; img->repo_digests && img->repo_digests[k]; k++)
    left += strcmp (img->repo_digests[k], what) != 0
            && !(is_name && goes_with_tag (img, what, img->repo_digests[k]));
  return left;
}

/* Remove every name and repo digest of IMG, saying so.  */
static void
untag_all (struct husk_image *img, struct husk_image_changes *changes)
{
  while (img->names && img->names[0])
    {
      change (changes, HUSK_IMAGE_UNTAGGED, img->names[0]);
      husk_image_untag (img, img->names[0]);
    }
  while (img->repo_digests && img->repo_digests[0])
    {
      change (changes, HUSK_IMAGE_UNTAGGED, img->repo_digests[0]);
      husk_image_untag (img, img->repo_digests[0]);
    }
}

/* Remove WHAT, a name or repo digest of IMG, and with a name the digests that go with it.  */
static void
untag_one (struct husk_image *img, const char *what, bool is_name,
           struct husk_image_changes *changes)
{
  cleanup_free char *copy = husk_xstrdup (what); /* WHAT is IMG's own, freed on the way.  */

  change (changes, HUSK_IMAGE_UNTAGGED, copy);
  husk_image_untag (img, copy);
  if (!is_name)
    return;
  for (size_t k = 0; img->repo_digests && img->repo_digests[k];)
    if (goes_with_tag (img, copy, img->repo_digests[k]))
      {
        change (changes, HUSK_IMAGE_UNTAGGED, img->repo_digests[k]);
        husk_image_untag (img, img->repo_digests[k]);
      }
    else
      k++;
}

int
husk_images_remove (struct husk_image_list *l, char *const *refs, bool force,
                    const struct husk_images_in_use *in_use, struct husk_image_changes *changes,
                    struct husk_error **err)
{
  for (size_t a = 0; refs[a]; a++)
    {
      const char *ref = refs[a];
      enum husk_image_match how;
      const char *what = NULL;
      const struct husk_image *found = husk_images_lookup_match (l, ref, &how, &what, err);
      struct husk_image *img;
      bool by_ref, used;
      size_t idx;

      if (found == NULL)
        return -1;
      idx = (size_t) (found - l->items);
      img = &l->items[idx];
      used = husk_images_in_use_has (in_use, img->id);
      /* A name or repo digest removes that reference (a name, the repository's digests with
         its last tag there, as docker does), and the image with its last reference.  An ID,
         or a digest that is only the image's manifest's, removes the image.  */
      by_ref = how == HUSK_IMAGE_MATCH_NAME || how == HUSK_IMAGE_MATCH_DIGEST;
      if (by_ref && refs_left (img, what, how == HUSK_IMAGE_MATCH_NAME) > 0)
        {
          untag_one (img, what, how == HUSK_IMAGE_MATCH_NAME, changes);
          continue;
        }
      if (!by_ref && husk_strv_len (img->names) > 1 && !force)
        return husk_error_set (err, 0,
                               "image \"%s\": it has %zu names (remove them one by one, or use -f)",
                               ref, husk_strv_len (img->names));
      if (used && !force)
        return husk_error_set (err, 0,
                               "image \"%s\": a container uses it (use -f to remove its "
                               "names and keep it for the container)",
                               ref);
      untag_all (img, changes);
      if (!used)
        {
          change (changes, HUSK_IMAGE_DELETED, img->id);
          husk_images_drop (l, idx);
        }
    }
  return 0;
}

void
husk_images_prune (struct husk_image_list *l, bool all, const struct husk_images_in_use *in_use,
                   struct husk_image_changes *changes)
{
  for (size_t i = l->n; i-- > 0;)
    {
      struct husk_image *img = &l->items[i];

      /* Dangling: no name and no repo digest (an image pulled by digest is not).  */
      if (husk_images_in_use_has (in_use, img->id)
          || (!all && (husk_strv_len (img->names) > 0 || husk_strv_len (img->repo_digests) > 0)))
        continue;
      untag_all (img, changes);
      change (changes, HUSK_IMAGE_DELETED, img->id);
      husk_images_drop (l, i);
    }
}

/* Move DIR/NAME under tmp/ and delete it there, adding what that freed to *FREED
   (husk_rm_rf_at_freed).  */
static int
gc_remove (struct husk_store *s, const char *dir, const char *name, uint64_t *freed,
           struct husk_error **err)
{
  cleanup_free char *tmp = NULL;
  cleanup_free char *from = husk_strdup_printf ("%s/%s", dir, name);
  cleanup_free char *to = NULL;

  if (husk_store_mkdtemp (s, "gc", &tmp, err) < 0)
    return -1;
  to = husk_strdup_printf ("%s/%s", tmp, name);
  if (renameat (s->rootfd, from, s->rootfd, to) < 0)
    {
      int e = errno;
      husk_rm_rf_at (s->rootfd, tmp, NULL);
      return husk_error_set (err, e, "remove \"%s\"", from);
    }
  /* The entry, counted; then the directory this removal made to move it into.  */
  if (husk_rm_rf_at_freed (s->rootfd, to, freed, err) < 0
      || husk_rm_rf_at (s->rootfd, tmp, err) < 0)
    return husk_error_wrap (err, "remove \"%s\"", from);
  return 0;
}

int
husk_images_gc (struct husk_store *s, const struct husk_image_list *l,
                const struct husk_images_in_use *in_use, struct husk_gc_result *ret,
                struct husk_error **err)
{
  cleanup_strv char **layers = husk_xcalloc (1, sizeof (char *));
  cleanup_strv char **blobs = husk_xcalloc (1, sizeof (char *));
  struct husk_gc_result res = { 0 };
  bool blobs_known = true;
  const char *dirs[] = { "layers", "blobs/sha256" };

  /* A container's layers stay while it does, whatever became of its image's record; so do
     the build cache's (buildcache.h), until image prune or builder prune drops its entries.  */
  for (size_t k = 0; in_use && in_use->chains[k]; k++)
    husk_strv_append (&layers, husk_digest_hex (in_use->chains[k]));
  {
    cleanup_strv char **pl = husk_xcalloc (1, sizeof (char *));
    cleanup_strv char **pb = husk_xcalloc (1, sizeof (char *));
    husk_build_cache_pins (s, &pl, &pb);
    for (size_t k = 0; pl[k]; k++)
      husk_strv_append (&layers, husk_digest_hex (pl[k]));
    for (size_t k = 0; pb[k]; k++)
      husk_strv_append (&blobs, husk_digest_hex (pb[k]));
  }
  for (size_t i = 0; i < l->n; i++)
    {
      const struct husk_image *img = &l->items[i];
      cleanup_free char *buf = NULL;
      struct husk_manifest m;
      size_t len;

      for (size_t k = 0; img->layers && img->layers[k]; k++)
        husk_strv_append (&layers, husk_digest_hex (img->layers[k]));
      if (img->config && *img->config)
        husk_strv_append (&blobs, husk_digest_hex (img->config));
      if (img->manifest && *img->manifest)
        husk_strv_append (&blobs, husk_digest_hex (img->manifest));
      /* Without the manifest the layer blobs an image needs are unknown: keep every blob.  */
      if (husk_store_read_blob (s, img->manifest, 16 * 1024 * 1024, &buf, &len, NULL) < 0
          || husk_manifest_parse (buf, len, &m, NULL) < 0)
        {
          blobs_known = false;
          continue;
        }
      for (size_t k = 0; k < m.n_layers; k++)
        husk_strv_append (&blobs, husk_digest_hex (m.layers[k].digest));
      husk_manifest_clear (&m);
    }

  for (size_t which = 0; which < 2; which++)
    {
      cleanup_close int fd = openat (s->rootfd, dirs[which], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      cleanup_dir DIR *d = NULL;
      cleanup_strv char **doomed = husk_xcalloc (1, sizeof (char *));
      struct dirent *de;

      if (which == 1 && !blobs_known)
        break;
      if (fd < 0 || (d = fdopendir (fd)) == NULL)
        return husk_error_set (err, errno, "store \"%s\": open \"%s\"", s->root, dirs[which]);
      fd = -1;
      while ((de = readdir (d)) != NULL)
        if (de->d_name[0] != '.' && !husk_strv_contains (which == 0 ? layers : blobs, de->d_name))
          husk_strv_append (&doomed, de->d_name);
      for (size_t k = 0; doomed[k]; k++)
        {
          if (which == 0)
            {
              cleanup_free char *chain = husk_strdup_printf ("sha256:%s", doomed[k]);
              res.bytes += (uint64_t) husk_layer_size (s, chain);
            }
          if (gc_remove (s, dirs[which], doomed[k], &res.freed, err) < 0)
            return -1;
          if (which == 0)
            res.layers++;
          else
            res.blobs++;
        }
    }
  if (ret)
    *ret = res;
  return 0;
}
