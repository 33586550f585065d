/* Unit tests for manifest lists (overlay/manifestlist.h): annotations, entries from a store's
   images, the index's exact bytes, the file's round trip and its errors.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "manifest.h"
#include "manifestlist.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static void
test_annotate (void)
{
  cleanup_strv char **a = NULL;
  cleanup_error struct husk_error *err = NULL;

  ok (husk_manifest_list_annotate (&a, "b=2", NULL) == 0, "annotate: first");
  ok (husk_manifest_list_annotate (&a, "a.b=3", NULL) == 0, "annotate: before");
  ok (husk_manifest_list_annotate (&a, "a=1", NULL) == 0, "annotate: a prefix of a key");
  ok (husk_manifest_list_annotate (&a, "c=", NULL) == 0, "annotate: an empty value");
  ok (husk_manifest_list_annotate (&a, "b=x=y", NULL) == 0, "annotate: a key again");
  ok (husk_strv_len (a) == 4, "annotate: four keys (%zu)", husk_strv_len (a));
  is_str (a[0], "a=1", "annotate: sorted by key, 0");
  is_str (a[1], "a.b=3", "annotate: sorted by key, 1");
  is_str (a[2], "b=x=y", "annotate: the later value wins");
  is_str (a[3], "c=", "annotate: sorted by key, 3");
  ok (husk_manifest_list_annotate (&a, "novalue", &err) < 0 && err
          && strstr (err->msg, "expected KEY=VALUE"),
      "annotate: no \"=\" is refused");
  husk_error_free (&err);
  ok (husk_manifest_list_annotate (&a, "=v", &err) < 0, "annotate: an empty key is refused");
}

/* A store with an image whose config names OS/ARCH[/VARIANT]; its manifest has no mediaType
   (the OCI image spec allows that).  */
static void
put_image (struct husk_store *s, const char *config_json, struct husk_image *img,
           char manifest_digest[HUSK_DIGEST_LEN + 1], size_t *manifest_len)
{
  char config_digest[HUSK_DIGEST_LEN + 1];
  cleanup_free char *manifest = NULL;

  husk_sha256_buf (config_json, strlen (config_json), config_digest);
  husk_store_put_blob (s, config_digest, config_json, strlen (config_json), NULL);
  manifest = husk_strdup_printf (
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
      "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
      "\"layers\":[]}",
      config_digest, strlen (config_json));
  husk_sha256_buf (manifest, strlen (manifest), manifest_digest);
  husk_store_put_blob (s, manifest_digest, manifest, strlen (manifest), NULL);
  *manifest_len = strlen (manifest);
  memset (img, 0, sizeof (*img));
  memcpy (img->id, husk_digest_hex (config_digest), HUSK_DIGEST_HEX_LEN + 1);
  img->manifest = husk_xstrdup (manifest_digest);
  img->config = husk_xstrdup (config_digest);
}

static void
test_store (const char *root)
{
  cleanup_store struct husk_store *s = NULL;
  cleanup_error struct husk_error *err = NULL;
  struct husk_manifest_list l = { 0 }, back = { 0 }, again = { 0 };
  struct husk_image amd = { 0 }, arm = { 0 }, bare = { 0 };
  char amd_d[HUSK_DIGEST_LEN + 1], arm_d[HUSK_DIGEST_LEN + 1], bare_d[HUSK_DIGEST_LEN + 1];
  size_t amd_len, arm_len, bare_len, at = 99;
  cleanup_free char *expected = NULL;
  cleanup_free char *full = NULL;
  cleanup_free char *removed = NULL;

  if (husk_store_open (root, &s, &err) < 0)
    {
      ok (0, "store: %s", err->msg);
      return;
    }
  put_image (s, "{\"os\":\"linux\",\"architecture\":\"amd64\"}", &amd, amd_d, &amd_len);
  put_image (s, "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}", &arm, arm_d,
             &arm_len);
  put_image (s, "{\"architecture\":\"amd64\"}", &bare, bare_d, &bare_len);

  ok (husk_manifest_list_init ("mylist", HUSK_MANIFEST_LIST_OCI, &l, NULL) == 0, "init");
  is_str (l.name, "localhost/mylist:latest", "init: the name as image names are normalized");
  ok (!husk_manifest_list_exists (s, "mylist"), "exists: not before its save");
  ok (husk_manifest_list_add_image (s, &l, &amd, NULL, NULL, NULL, &at, NULL) == 0 && at == 0,
      "add_image: the first entry");
  ok (husk_manifest_list_add_image (s, &l, &arm, NULL, NULL, NULL, &at, NULL) == 0 && at == 1,
      "add_image: the second entry");
  is_str (l.entries[1].variant, "v7", "add_image: the config's variant");
  is_str (l.entries[0].media_type, HUSK_MT_OCI_MANIFEST, "add_image: no mediaType is OCI's");
  ok (l.entries[0].size == (int64_t) amd_len, "add_image: the blob's size");
  ok (husk_manifest_list_annotate (&l.entries[1].annotations, "k=v", NULL) == 0, "annotate");
  /* Adding ARM again with another platform: the entry is replaced, its annotations stay.  */
  ok (husk_manifest_list_add_image (s, &l, &arm, "linux", "arm64", NULL, &at, NULL) == 0 && at == 1
          && l.n_entries == 2,
      "add_image: the same manifest replaces its entry");
  is_str (l.entries[1].architecture, "arm64", "add_image: --arch");
  ok (l.entries[1].variant == NULL, "add_image: --arch without --variant drops the config's");
  ok (l.entries[1].annotations && strcmp (l.entries[1].annotations[0], "k=v") == 0,
      "add_image: a replaced entry keeps its annotations");
  ok (husk_manifest_list_add_image (s, &l, &bare, NULL, NULL, NULL, NULL, &err) < 0 && err
          && strstr (err->msg, "names no os or architecture"),
      "add_image: a config without os is refused");
  husk_error_free (&err);
  ok (husk_manifest_list_find (&l, arm_d) == 1, "find: by digest");
  ok (husk_manifest_list_find (&l, husk_digest_hex (amd_d)) == 0, "find: by hex");
  ok (husk_manifest_list_find (&l, bare_d) == -1, "find: not there");

  ok (husk_manifest_list_save (s, &l, &err) == 0, "save");
  expected = husk_strdup_printf (
      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
      "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
      "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
      "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"k\":\"v\"},"
      "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}}]}",
      HUSK_MT_OCI_INDEX, HUSK_MT_OCI_MANIFEST, amd_d, amd_len, HUSK_MT_OCI_MANIFEST, arm_d,
      arm_len);
  is_str (l.index, expected, "save: the index's bytes");
  ok (l.index_len == strlen (expected), "save: its length");
  is_str (l.media_type, HUSK_MT_OCI_INDEX, "save: its media type");
  ok (husk_manifest_list_exists (s, "localhost/mylist"), "exists: after its save");

  ok (husk_manifest_list_load (s, "mylist", &back, &err) == 0, "load");
  is_str (back.index, expected, "load: the same index");
  is_str (back.media_type, HUSK_MT_OCI_INDEX, "load: the media type");
  ok (back.n_entries == 2, "load: two entries");
  is_str (back.entries[0].image_id, amd.id, "load: the image IDs");
  /* The same entries make the same bytes.  */
  ok (husk_manifest_list_save (s, &back, NULL) == 0, "save again");
  is_str (back.index, expected, "save again: the same bytes");

  /* A registry's entry has no image.  */
  {
    struct husk_manifest_list_entry e = { .media_type = (char *) HUSK_MT_DOCKER_MANIFEST,
                                          .digest = bare_d,
                                          .size = 7,
                                          .os = (char *) "linux",
                                          .architecture = (char *) "s390x",
                                          .source = (char *) "registry.example/app" };
    ok (husk_manifest_list_add_descriptor (&back, &e, &at, NULL) == 0 && at == 2, "add_descriptor");
    ok (husk_manifest_list_save (s, &back, NULL) == 0, "save with a registry's entry");
    ok (husk_manifest_list_load (s, "mylist", &again, NULL) == 0 && again.n_entries == 3
            && again.entries[2].image_id == NULL,
        "load: a registry's entry has no image");
    is_str (again.n_entries == 3 ? again.entries[2].source : NULL, "registry.example/app",
            "load: a registry's entry has its source");
    ok (again.entries[0].source == NULL, "load: a local image's entry has no source");
    husk_manifest_list_clear (&again);
    e.os = NULL;
    ok (husk_manifest_list_add_descriptor (&back, &e, NULL, NULL) < 0,
        "add_descriptor: no os is refused");
  }

  /* A Docker manifest list takes no annotations.  */
  back.format = HUSK_MANIFEST_LIST_DOCKER;
  ok (husk_manifest_list_save (s, &back, &err) < 0 && err
          && strstr (err->msg, "a Docker manifest list has no annotations"),
      "save: a Docker list with annotations is refused");
  husk_error_free (&err);
  husk_strv_free (back.entries[1].annotations);
  back.entries[1].annotations = NULL;
  ok (husk_manifest_list_save (s, &back, NULL) == 0
          && strstr (back.index, HUSK_MT_DOCKER_LIST) != NULL,
      "save: a Docker list");
  is_str (back.media_type, HUSK_MT_DOCKER_LIST, "save: a Docker list's media type");

  ok (husk_manifest_list_load (s, "nolist", &again, &err) < 0 && err && err->errnum == ENOENT,
      "load: an unknown list is ENOENT");
  is_str (err ? err->msg : NULL, "manifest list \"localhost/nolist:latest\": not found",
          "load: an unknown list's message");
  husk_error_free (&err);
  ok (husk_manifest_list_remove (s, "mylist", &removed, NULL) == 0, "remove");
  is_str (removed, "localhost/mylist:latest", "remove: the full name");
  ok (!husk_manifest_list_exists (s, "mylist"), "remove: gone");
  ok (husk_manifest_list_remove (s, "mylist", NULL, &err) < 0 && err && err->errnum == ENOENT,
      "remove: again is ENOENT");
  husk_error_free (&err);
  ok (husk_manifest_list_init ("a@sha256:0000", HUSK_MANIFEST_LIST_OCI, &again, NULL) < 0,
      "init: a digest is not a list name");

  husk_manifest_list_clear (&l);
  husk_manifest_list_clear (&back);
  free (amd.manifest);
  free (amd.config);
  free (arm.manifest);
  free (arm.config);
  free (bare.manifest);
  free (bare.config);
}

static void
test_parse (void)
{
  struct husk_manifest_list l = { 0 };
  cleanup_error struct husk_error *err = NULL;
  static const char name[] = "localhost/l:latest";
  static const char wrong_count[]
      = "{\"name\":\"localhost/l:latest\",\"images\":[null],\"index\":"
        "\"{\\\"schemaVersion\\\":2,\\\"mediaType\\\":\\\"" HUSK_MT_OCI_INDEX
        "\\\",\\\"manifests\\\":[]}\"}";
  static const char wrong_type[]
      = "{\"name\":\"localhost/l:latest\",\"images\":[],\"index\":"
        "\"{\\\"mediaType\\\":\\\"text/plain\\\",\\\"manifests\\\":[]}\"}";

  ok (husk_manifest_list_parse (wrong_count, strlen (wrong_count), name, &l, &err) < 0 && err
          && strstr (err->msg, "do not match"),
      "parse: images and manifests that differ in number");
  husk_error_free (&err);
  ok (husk_manifest_list_parse (wrong_type, strlen (wrong_type), name, &l, &err) < 0 && err
          && strstr (err->msg, "unknown mediaType"),
      "parse: an index of another media type");
  husk_error_free (&err);
  ok (husk_manifest_list_parse (wrong_type, strlen (wrong_type), "localhost/x:latest", &l, &err)
          < 0,
      "parse: another list's file");
}

int
main (void)
{
  char dir[] = "/tmp/husk-test-mlist-XXXXXX";
  cleanup_free char *root = NULL;

  test_annotate ();
  test_parse ();
  if (mkdtemp (dir) == NULL)
    {
      ok (0, "mkdtemp: %s", strerror (errno));
      return tap_done ();
    }
  root = husk_strdup_printf ("%s/store", dir);
  test_store (root);
  husk_rm_rf_at (AT_FDCWD, dir, NULL);
  return tap_done ();
}
