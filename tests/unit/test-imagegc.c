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

/* Repo digests: an images.json written before them, husk_images_add_repo_digest, lookups by
   digest and rmi's rules for them.  */
static void
test_repo_digests (void)
{
  char dir[] = "/tmp/husk-test-digests.XXXXXX";
  cleanup_free char *root = NULL;
  cleanup_free char *id1 = id_of ('1'), *id2 = id_of ('2');
  cleanup_free char *ma = digest_of ('a'), *mb = digest_of ('b'), *dc = digest_of ('c'),
                    *dd = digest_of ('d');
  cleanup_free char *busybox_c = husk_strdup_printf ("docker.io/library/busybox@%s", dc);
  cleanup_store struct husk_store *s = NULL;
  struct husk_image_list l = { 0 };
  struct husk_image_changes ch = { 0 };
  struct husk_error *err = NULL;
  enum husk_image_match how;
  const struct husk_image *img;
  const char *what;
  int rc;

  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp: %s", strerror (errno));
      return;
    }
  root = husk_strdup_printf ("%s/store", dir);
  if (husk_store_open (root, &s, &err) < 0)
    {
      ok (0, "store: %s", err->msg);
      husk_error_free (&err);
      return;
    }
  {
    /* As husk wrote it before repo digests.  */
    cleanup_free char *json = husk_strdup_printf (
        "{\"images\":[{\"id\":\"%s\",\"names\":[\"docker.io/library/busybox:latest\"],"
        "\"manifest\":\"%s\",\"config\":\"%s\",\"layers\":[],\"size\":1},"
        "{\"id\":\"%s\",\"names\":[\"localhost/app:1\"],\"manifest\":\"%s\",\"config\":"
        "\"%s\",\"layers\":[],\"size\":1}]}",
        id1, ma, ma, id2, mb, mb);
    cleanup_close int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    husk_write_file_atomic_at (fd, "images.json", json, strlen (json), 0644, NULL);
  }
  rc = husk_images_load (s, &l, &err);
  ok (rc == 0 && l.n == 2 && l.items[0].repo_digests && !l.items[0].repo_digests[0]
          && l.items[1].repo_digests && !l.items[1].repo_digests[0],
      "an images.json without repo_digests loads, each list empty");
  husk_images_clear (&l);

  {
    cleanup_free char *bare = husk_strdup_printf ("busybox@%s", dc);
    cleanup_free char *prefixed = husk_strdup_printf ("sha256:%s", id1);
    rc = husk_images_add_repo_digest (s, id1, bare, &err);
    ok (rc == 0, "add a repo digest by a short name");
    rc = husk_images_add_repo_digest (s, prefixed, busybox_c, &err);
    ok (rc == 0, "again, its full form and a sha256: ID");
  }
  rc = husk_images_load (s, &l, &err);
  ok (rc == 0 && husk_strv_len (l.items[0].repo_digests) == 1
          && strcmp (l.items[0].repo_digests[0], busybox_c) == 0
          && husk_strv_len (l.items[1].repo_digests) == 0,
      "stored once, normalized: %s", rc == 0 ? l.items[0].repo_digests[0] : "");
  husk_images_clear (&l);
  {
    struct
    {
      const char *id, *ref, *msg;
    } bad[] = {
      { id1, "busybox:1@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
        "a tag in it" },
      { id1, "busybox:1", "no digest in it" },
      { id1, "Bad@sha256:x", "repo digest \"Bad@sha256:x\"" },
      { "1111111111", busybox_c, "not found" },
      { "3333333333333333333333333333333333333333333333333333333333333333", busybox_c,
        "not found" },
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
      {
        rc = husk_images_add_repo_digest (s, bad[i].id, bad[i].ref, &err);
        ok (rc < 0 && err && strstr (err->msg, bad[i].msg), "refused: %s",
            err ? err->msg : "(no error)");
        husk_error_free (&err);
      }
  }
  rc = husk_images_add_repo_digest (s, id2, busybox_c, &err);
  rc = rc == 0 ? husk_images_load (s, &l, &err) : rc;
  ok (rc == 0 && husk_strv_len (l.items[0].repo_digests) == 0
          && husk_strv_len (l.items[1].repo_digests) == 1,
      "a repo digest moves to the image given it");
  husk_images_clear (&l);
  rc = husk_images_add_repo_digest (s, id1, busybox_c, &err);
  ok (rc == 0, "and back");

  rc = husk_images_load (s, &l, &err);
  ok (rc == 0, "load");
  {
    cleanup_free char *r1 = husk_strdup_printf ("busybox@%s", dc);
    cleanup_free char *r2 = husk_strdup_printf ("docker.io/library/busybox:nosuch@%s", dc);
    cleanup_free char *r3 = husk_strdup_printf ("busybox@%s", ma);
    cleanup_free char *r4 = husk_strdup_printf ("app:9@%s", mb);
    cleanup_free char *r5 = husk_strdup_printf ("other@%s", ma);
    cleanup_free char *r6 = husk_strdup_printf ("busybox@%s", mb);
    const char *name = "x";

    img = husk_images_lookup_match (&l, r1, &how, &what, &err);
    ok (img == &l.items[0] && how == HUSK_IMAGE_MATCH_DIGEST && what
            && strcmp (what, busybox_c) == 0,
        "NAME@DIGEST finds the image with that repo digest");
    img = husk_images_lookup_match (&l, r2, &how, &what, &err);
    ok (img == &l.items[0] && how == HUSK_IMAGE_MATCH_DIGEST,
        "NAME:TAG@DIGEST: the tag is ignored");
    img = husk_images_lookup_match (&l, r3, &how, &what, &err);
    ok (img == &l.items[0] && how == HUSK_IMAGE_MATCH_MANIFEST && what == NULL,
        "a manifest digest in a repository the image has finds it");
    img = husk_images_lookup_match (&l, r4, &how, &what, &err);
    ok (img == &l.items[1] && how == HUSK_IMAGE_MATCH_MANIFEST,
        "a short name's digest also under localhost/");
    img = husk_images_lookup (&l, r5, &err);
    ok (img == NULL && err && strstr (err->msg, "not found (no image has that digest)"),
        "not in another repository: %s", err ? err->msg : "");
    husk_error_free (&err);
    img = husk_images_lookup (&l, r6, &err);
    ok (img == NULL && err, "nor another image's manifest in this repository");
    husk_error_free (&err);
    img = husk_images_lookup_name (&l, r1, &name, &err);
    ok (img == &l.items[0] && name == NULL, "lookup_name: no name for a digest");
    img = husk_images_lookup_name (&l, "busybox", &name, &err);
    ok (img == &l.items[0] && name && strcmp (name, "docker.io/library/busybox:latest") == 0,
        "lookup_name: the name for a name");
    img = husk_images_lookup_match (&l, id2, &how, &what, &err);
    ok (img == &l.items[1] && how == HUSK_IMAGE_MATCH_ID && what == NULL, "an ID is an ID");

    /* rmi.  */
    {
      char *refs[] = { r1, NULL };
      rc = husk_images_remove (&l, refs, false, NULL, &ch, &err);
      ok (rc == 0 && ch.n == 1 && change_is (&ch, 0, HUSK_IMAGE_UNTAGGED, busybox_c) && l.n == 2
              && husk_strv_len (l.items[0].repo_digests) == 0,
          "rmi NAME@DIGEST untags that digest; a name keeps the image");
      husk_image_changes_clear (&ch);
    }
    husk_strv_append (&l.items[0].repo_digests, busybox_c);
    {
      char *refs[] = { "busybox", NULL };
      rc = husk_images_remove (&l, refs, false, NULL, &ch, &err);
      ok (rc == 0 && ch.n == 3
              && change_is (&ch, 0, HUSK_IMAGE_UNTAGGED, "docker.io/library/busybox:latest")
              && change_is (&ch, 1, HUSK_IMAGE_UNTAGGED, busybox_c)
              && change_is (&ch, 2, HUSK_IMAGE_DELETED, id1) && l.n == 1,
          "rmi of the repository's last tag takes its digests, then the image");
      husk_image_changes_clear (&ch);
    }
    {
      cleanup_free char *other = husk_strdup_printf ("docker.io/library/busybox@%s", dd);
      cleanup_free char *ref = husk_strdup_printf ("busybox@%s", dd);
      char *refs[] = { "app:1", NULL };
      char *refs2[] = { ref, NULL };
      husk_strv_append (&l.items[0].repo_digests, other);
      rc = husk_images_remove (&l, refs, false, NULL, &ch, &err);
      ok (rc == 0 && ch.n == 1 && change_is (&ch, 0, HUSK_IMAGE_UNTAGGED, "localhost/app:1")
              && l.n == 1,
          "a digest of another repository keeps the image");
      husk_image_changes_clear (&ch);
      husk_images_prune (&l, false, NULL, &ch);
      ok (ch.n == 0 && l.n == 1, "an image with a repo digest is not dangling");
      husk_image_changes_clear (&ch);
      rc = husk_images_remove (&l, refs2, false, NULL, &ch, &err);
      ok (rc == 0 && ch.n == 2 && change_is (&ch, 0, HUSK_IMAGE_UNTAGGED, other)
              && change_is (&ch, 1, HUSK_IMAGE_DELETED, id2) && l.n == 0,
          "its last digest takes it");
      husk_image_changes_clear (&ch);
    }
  }
  husk_images_clear (&l);
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
}

int
main (void)
{
  test_imagegc ();
  test_unloadable_records ();
  test_repo_digests ();
  return tap_done ();
}
