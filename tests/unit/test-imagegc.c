/* Unit tests for removing images: the engine's list of what container records hold
   (husk_ctr_images_in_use) and the overlay's rmi, prune and layer GC that take it.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "imagegc.h"
#include "record.h"
#include "store.h"
#include "tap.h"
#include "util.h"

/* "sha256:" and 64 times C.  */
static char *
digest_of (char c)
{
  char hex[65];
  memset (hex, c, 64);
  hex[64] = '\0';
  return husk_strdup_printf ("sha256:%s", hex);
}

static char *
id_of (char c)
{
  char hex[65];
  memset (hex, c, 64);
  hex[64] = '\0';
  return husk_xstrdup (hex);
}

static void
make_layer (const char *root, char c)
{
  cleanup_free char *chain = digest_of (c);
  cleanup_free char *diff = husk_strdup_printf ("%s/layers/%s/diff", root, chain + 7);
  cleanup_free char *size = husk_strdup_printf ("layers/%s/size", chain + 7);
  cleanup_close int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  husk_mkdir_p (diff, 0755, NULL);
  husk_write_file_atomic_at (fd, size, "100\n", 4, 0644, NULL);
}

static void
make_record (const char *root, const char *dir, char image, const char *layers)
{
  cleanup_free char *img = id_of (image);
  cleanup_free char *path = husk_strdup_printf ("%s/containers/%s", root, dir);
  cleanup_free char *file = husk_strdup_printf ("containers/%s/config.json", dir);
  cleanup_free char *json = NULL;
  cleanup_free char *list = husk_xstrdup ("");
  cleanup_close int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  for (const char *p = layers; *p; p++)
    {
      cleanup_free char *d = digest_of (*p);
      char *next = husk_strdup_printf ("%s%s\"%s\"", list, *list ? "," : "", d);
      free (list);
      list = next;
    }
  json = husk_strdup_printf ("{\"id\":\"%s\",\"image\":\"%s\",\"layers\":[%s],"
                             "\"args\":[\"sh\"],\"env\":[]}",
                             dir, img, list);
  husk_mkdir_p (path, 0700, NULL);
  husk_write_file_atomic_at (fd, file, json, strlen (json), 0600, NULL);
}

static void
add_image (struct husk_image_list *l, char id, const char *names, const char *layers)
{
  struct husk_image *img;

  l->items = husk_xrealloc (l->items, (l->n + 1) * sizeof (*l->items));
  img = &l->items[l->n++];
  memset (img, 0, sizeof (*img));
  memset (img->id, id, 64);
  img->names = husk_xcalloc (1, sizeof (char *));
  img->layers = husk_xcalloc (1, sizeof (char *));
  img->manifest = husk_xstrdup ("");
  img->config = husk_xstrdup ("");
  for (const char *p = names; *p; p++)
    {
      cleanup_free char *n = husk_strdup_printf ("localhost/%c:1", *p);
      husk_strv_append (&img->names, n);
    }
  for (const char *p = layers; *p; p++)
    {
      cleanup_free char *d = digest_of (*p);
      husk_strv_append (&img->layers, d);
    }
}

static bool
layer_there (const char *root, char c)
{
  cleanup_free char *chain = digest_of (c);
  cleanup_free char *p = husk_strdup_printf ("%s/layers/%s", root, chain + 7);
  return access (p, F_OK) == 0;
}

/* What layer C's files take on disk, as du counts them.  */
static uint64_t
layer_blocks (const char *root, char c)
{
  cleanup_free char *chain = digest_of (c);
  const char *parts[] = { "", "/diff", "/size" };
  uint64_t sum = 0;

  for (size_t i = 0; i < 3; i++)
    {
      cleanup_free char *p = husk_strdup_printf ("%s/layers/%s%s", root, chain + 7, parts[i]);
      struct stat st;
      if (lstat (p, &st) == 0)
        sum += (uint64_t) st.st_blocks * 512;
    }
  return sum;
}

static bool
change_is (const struct husk_image_changes *ch, size_t i, enum husk_image_change_kind kind,
           const char *what)
{
  return i < ch->n && ch->items[i].kind == kind && strcmp (ch->items[i].what, what) == 0;
}

static void
test_imagegc (void)
{
  char dir[] = "/tmp/husk-test-imagegc.XXXXXX";
  cleanup_free char *root = NULL;
  cleanup_free char *ida = id_of ('1'), *idb = id_of ('2'), *idc = id_of ('3'), *idz = id_of ('9');
  cleanup_free char *la = digest_of ('a'), *lb = digest_of ('b'), *ld = digest_of ('d'),
                    *le = digest_of ('e');
  cleanup_store struct husk_store *s = NULL;
  struct husk_images_in_use in_use = { 0 };
  struct husk_image_changes ch = { 0 };
  struct husk_image_list l = { 0 };
  struct husk_gc_result gc = { 0 };
  struct husk_error *err = NULL;
  int rc;

  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp: %s", strerror (errno));
      return;
    }
  root = husk_strdup_printf ("%s/store", dir);
  ok (husk_store_open (root, &s, &err) == 0 && husk_ctr_dirs_create (s, &err) == 0,
      "a store with the engine's directories");
  if (s == NULL)
    return;
  {
    struct stat st;
    cleanup_free char *names = husk_strdup_printf ("%s/container-names", root);
    ok (stat (names, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 0777) == 0700,
        "the engine made container-names/ (0700)");
  }
  for (const char *c = "abcdef"; *c; c++)
    make_layer (root, *c);
  /* Image 1 (a, b) and a container of it; a container whose image 9 has no record, on layer
     e; a container being created (no record) and one being removed (".rm-"), which hold
     nothing.  */
  make_record (root, idb /* any 64-hex name */, '1', "ab");
  {
    cleanup_free char *other = id_of ('8');
    make_record (root, other, '9', "e");
  }
  {
    cleanup_free char *creating = husk_strdup_printf ("%s/containers/%s", root, idz);
    husk_mkdir_p (creating, 0700, NULL);
  }
  {
    cleanup_free char *rm = husk_strdup_printf (".rm-%s", idc);
    make_record (root, rm, '3', "d");
  }

  ok (husk_ctr_images_in_use (s, &in_use, &err) == 0, "list the images in use");
  ok (husk_strv_len (in_use.ids) == 2 && husk_strv_contains (in_use.ids, ida)
          && husk_strv_contains (in_use.ids, idz),
      "image IDs: those of the two records, not the one being removed");
  ok (husk_strv_len (in_use.chains) == 3 && husk_strv_contains (in_use.chains, la)
          && husk_strv_contains (in_use.chains, lb) && husk_strv_contains (in_use.chains, le)
          && !husk_strv_contains (in_use.chains, ld),
      "chain IDs: the records' layers, once each");
  ok (husk_images_in_use_has (&in_use, ida) && !husk_images_in_use_has (&in_use, idb),
      "husk_images_in_use_has");

  add_image (&l, '1', "a", "ab");
  add_image (&l, '2', "bc", "ac");
  add_image (&l, '3', "", "d");

  {
    char *refs[] = { "localhost/a:1", NULL };
    rc = husk_images_remove (&l, refs, false, &in_use, &ch, &err);
    ok (rc < 0 && err && strstr (err->msg, "a container uses it") && ch.n == 0 && l.n == 3,
        "rmi of an image in use is refused: %s", err ? err->msg : "");
    husk_error_free (&err);
  }
  {
    char *refs[] = { "localhost/b:1", NULL };
    rc = husk_images_remove (&l, refs, false, &in_use, &ch, &err);
    ok (rc == 0 && ch.n == 1 && change_is (&ch, 0, HUSK_IMAGE_UNTAGGED, "localhost/b:1")
            && l.n == 3,
        "rmi of one of two names untags it");
    husk_image_changes_clear (&ch);
  }
  {
    char *refs[] = { idb, NULL };
    rc = husk_images_remove (&l, refs, false, &in_use, &ch, &err);
    ok (rc == 0 && ch.n == 2 && change_is (&ch, 0, HUSK_IMAGE_UNTAGGED, "localhost/c:1")
            && change_is (&ch, 1, HUSK_IMAGE_DELETED, idb) && l.n == 2,
        "rmi by ID of an image with one name untags and deletes it");
    husk_image_changes_clear (&ch);
  }
  husk_images_prune (&l, false, &in_use, &ch);
  ok (ch.n == 1 && change_is (&ch, 0, HUSK_IMAGE_DELETED, idc) && l.n == 1,
      "prune deletes the image without a name that no container uses");
  husk_image_changes_clear (&ch);
  husk_images_prune (&l, true, &in_use, &ch);
  ok (ch.n == 0 && l.n == 1, "prune -a keeps an image in use");

  {
    uint64_t want = layer_blocks (root, 'c') + layer_blocks (root, 'd') + layer_blocks (root, 'f');
    rc = husk_images_gc (s, &l, &in_use, &gc, &err);
    ok (rc == 0 && gc.freed == want && want > 0,
        "GC counts the disk space the layers held, as du does (%ju, want %ju)",
        (uintmax_t) gc.freed, (uintmax_t) want);
  }
  ok (rc == 0 && gc.layers == 3 && gc.bytes == 300, "GC removes the layers nobody holds (%u)",
      gc.layers);
  ok (layer_there (root, 'a') && layer_there (root, 'b') && layer_there (root, 'e')
          && !layer_there (root, 'c') && !layer_there (root, 'd') && !layer_there (root, 'f'),
      "the image's layers stay, and the layer a record names without an image");
  rc = husk_images_gc (s, &l, NULL, &gc, &err);
  ok (rc == 0 && gc.layers == 1 && !layer_there (root, 'e'),
      "without the engine's list, only images hold layers");

  husk_images_in_use_clear (&in_use);
  husk_images_clear (&l);
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
}

/* Write TEXT as container ID's config.json under ROOT.  */
static void
write_record (const char *root, const char *id, const char *text)
{
  cleanup_free char *dir = husk_strdup_printf ("%s/containers/%s", root, id);
  cleanup_free char *file = husk_strdup_printf ("containers/%s/config.json", id);
  cleanup_close int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  husk_mkdir_p (dir, 0700, NULL);
  husk_write_file_atomic_at (fd, file, text, strlen (text), 0600, NULL);
}

/* A record husk cannot load whole (here: a bind mount without a source) still pins its image
   and layers; one that is not JSON at all pins nothing and does not stop the listing.  */
static void
test_unloadable_records (void)
{
  char dir[] = "/tmp/husk-test-imagegc.XXXXXX";
  cleanup_free char *root = NULL, *ida = id_of ('1'), *ctr = id_of ('7'), *bad = id_of ('6');
  cleanup_free char *la = digest_of ('a'), *text = NULL;
  cleanup_store struct husk_store *s = NULL;
  struct husk_images_in_use in_use = { 0 };
  struct husk_error *err = NULL;

  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp: %s", strerror (errno));
      return;
    }
  root = husk_strdup_printf ("%s/store", dir);
  if (husk_store_open (root, &s, &err) < 0 || husk_ctr_dirs_create (s, &err) < 0)
    {
      ok (0, "store: %s", err->msg);
      return;
    }
  text = husk_strdup_printf ("{\"image\":\"%s\",\"layers\":[\"%s\"],\"args\":[\"sh\"],"
                             "\"mounts\":[{\"kind\":\"bind\",\"dest\":\"/x\"}]}",
                             ida, la);
  write_record (root, ctr, text);
  ok (husk_ctr_load (s, ctr, &(struct husk_ctr *){ NULL }, &err) < 0,
      "the record does not load whole: %s", err ? err->msg : "it loaded");
  husk_error_free (&err);
  ok (husk_ctr_images_in_use (s, &in_use, &err) == 0 && husk_strv_contains (in_use.ids, ida)
          && husk_strv_contains (in_use.chains, la),
      "yet its image and layers are in use");
  husk_error_free (&err);
  husk_images_in_use_clear (&in_use);

  write_record (root, bad, "not json");
  ok (husk_ctr_images_in_use (s, &in_use, &err) == 0 && husk_strv_len (in_use.ids) == 1
          && husk_strv_contains (in_use.ids, ida),
      "a record that is not JSON pins nothing and stops nothing");
  husk_error_free (&err);
  husk_images_in_use_clear (&in_use);
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
}

int
main (void)
{
  test_imagegc ();
  test_unloadable_records ();
  return tap_done ();
}
