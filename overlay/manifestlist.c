/* Manifest lists kept in the store's manifests/ directory (manifestlist.h).  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "json.h"
#include "manifest.h"
#include "manifestlist.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

#define LISTS_DIR "manifests"
#define LIST_FILE_MAX (16 * 1024 * 1024)
#define BLOB_MAX (4 * 1024 * 1024)

/* "HEX.json" for the full name NAME.  */
static void
list_file (const char *name, char out[HUSK_DIGEST_HEX_LEN + 6])
{
  char d[HUSK_DIGEST_LEN + 1];

  husk_sha256_buf (name, strlen (name), d);
  memcpy (out, husk_digest_hex (d), HUSK_DIGEST_HEX_LEN);
  memcpy (out + HUSK_DIGEST_HEX_LEN, ".json", 6);
}

static void
entry_clear (struct husk_manifest_list_entry *e)
{
  free (e->media_type);
  free (e->digest);
  free (e->os);
  free (e->architecture);
  free (e->variant);
  husk_strv_free (e->annotations);
  free (e->image_id);
  free (e->source);
  memset (e, 0, sizeof (*e));
}

void
husk_manifest_list_clear (struct husk_manifest_list *l)
{
  for (size_t i = 0; i < l->n_entries; i++)
    entry_clear (&l->entries[i]);
  free (l->entries);
  free (l->name);
  husk_strv_free (l->annotations);
  free (l->index);
  memset (l, 0, sizeof (*l));
}

int
husk_manifest_list_init (const char *name, enum husk_manifest_list_format format,
                         struct husk_manifest_list *ret, struct husk_error **err)
{
  char *full = husk_image_name_for_tag (name, err);

  if (full == NULL)
    return husk_error_wrap (err, "manifest list \"%s\"", name);
  memset (ret, 0, sizeof (*ret));
  ret->name = full;
  ret->format = format;
  return 0;
}

/* "manifest list \"NAME\": not found", with errno ENOENT (not in the message).  */
static int
not_found (struct husk_error **err, const char *name)
{
  husk_error_set (err, 0, "manifest list \"%s\": not found", name);
  if (err)
    (*err)->errnum = ENOENT;
  return -1;
}

/* Compare two keys of ALEN and BLEN bytes as strings.  */
static int
key_cmp (const char *a, size_t alen, const char *b, size_t blen)
{
  int c = memcmp (a, b, alen < blen ? alen : blen);

  if (c != 0)
    return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int
husk_manifest_list_annotate (char ***annotations, const char *kv, struct husk_error **err)
{
  const char *eq = strchr (kv, '=');
  size_t klen, n, i;

  if (eq == NULL || eq == kv)
    return husk_error_set (err, 0, "annotation \"%s\": expected KEY=VALUE", kv);
  klen = (size_t) (eq - kv);
  n = husk_strv_len (*annotations);
  for (i = 0; i < n; i++)
    {
      const char *cur = (*annotations)[i];
      int c = key_cmp (cur, (size_t) (strchr (cur, '=') - cur), kv, klen);
      if (c == 0)
        {
          free ((*annotations)[i]);
          (*annotations)[i] = husk_xstrdup (kv);
          return 0;
        }
      if (c > 0)
        break;
    }
  *annotations = husk_xrealloc (*annotations, (n + 2) * sizeof (char *));
  memmove (*annotations + i + 1, *annotations + i, (n - i) * sizeof (char *));
  (*annotations)[i] = husk_xstrdup (kv);
  (*annotations)[n + 1] = NULL;
  return 0;
}

/* -------------------------------------------------------------------- the index  */

static void
gen_annotations (husk_jgen *g, char *const *annotations)
{
  husk_jgen_key (g, "annotations");
  husk_jgen_map_open (g);
  for (size_t i = 0; annotations[i]; i++)
    {
      const char *eq = strchr (annotations[i], '=');
      husk_jgen_string_len (g, annotations[i], (size_t) (eq - annotations[i]));
      husk_jgen_string (g, eq + 1);
    }
  husk_jgen_map_close (g);
}

/* The index of L: members in the order of the OCI image spec's Go types, annotations sorted by
   key, no white space.  */
static int
make_index (const struct husk_manifest_list *l, char **ret_buf, size_t *ret_len,
            struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  bool docker = l->format == HUSK_MANIFEST_LIST_DOCKER;
  const char *buf;
  size_t len;

  if (docker && l->annotations && l->annotations[0])
    return husk_error_set (
        err, 0, "manifest list \"%s\": a Docker manifest list has no annotations", l->name);
  husk_jgen_map_open (g);
  husk_jgen_key (g, "schemaVersion");
  husk_jgen_int (g, 2);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, docker ? HUSK_MT_DOCKER_LIST : HUSK_MT_OCI_INDEX);
  husk_jgen_key (g, "manifests");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < l->n_entries; i++)
    {
      const struct husk_manifest_list_entry *e = &l->entries[i];
      if (docker && e->annotations && e->annotations[0])
        return husk_error_set (err, 0,
                               "manifest list \"%s\": entry %s: a Docker manifest list has no "
                               "annotations",
                               l->name, e->digest);
      husk_jgen_map_open (g);
      husk_jgen_key (g, "mediaType");
      husk_jgen_string (g, e->media_type);
      if (docker)
        {
          husk_jgen_key (g, "size");
          husk_jgen_int (g, e->size);
          husk_jgen_key (g, "digest");
          husk_jgen_string (g, e->digest);
        }
      else
        {
          husk_jgen_key (g, "digest");
          husk_jgen_string (g, e->digest);
          husk_jgen_key (g, "size");
          husk_jgen_int (g, e->size);
          if (e->annotations && e->annotations[0])
            gen_annotations (g, e->annotations);
        }
      husk_jgen_key (g, "platform");
      husk_jgen_map_open (g);
      husk_jgen_key (g, "architecture");
      husk_jgen_string (g, e->architecture);
      husk_jgen_key (g, "os");
      husk_jgen_string (g, e->os);
      if (e->variant && *e->variant)
        {
          husk_jgen_key (g, "variant");
          husk_jgen_string (g, e->variant);
        }
      husk_jgen_map_close (g);
      husk_jgen_map_close (g);
    }
  husk_jgen_array_close (g);
  if (l->annotations && l->annotations[0])
    gen_annotations (g, l->annotations);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  *ret_buf = husk_xmalloc (len + 1);
  memcpy (*ret_buf, buf, len);
  (*ret_buf)[len] = '\0';
  *ret_len = len;
  return 0;
}

/* The annotations object V as sorted "KEY=VALUE" strings in *RET (untouched when V is
   missing).  */
static int
parse_annotations (const husk_json *v, const char *what, char ***ret, struct husk_error **err)
{
  if (v == NULL)
    return 0;
  if (!husk_json_is_object (v))
    return husk_error_set (err, 0, "%s: annotations is %s, not an object", what,
                           husk_json_kind (v));
  for (size_t i = 0; i < husk_json_object_len (v); i++)
    {
      const char *k = husk_json_object_key (v, i);
      const char *val = husk_json_string (husk_json_object_value (v, i));
      cleanup_free char *kv = NULL;
      if (val == NULL || *k == '\0' || strchr (k, '=') != NULL)
        return husk_error_set (err, 0, "%s: annotation \"%s\" is not a string", what, k);
      kv = husk_strdup_printf ("%s=%s", k, val);
      if (husk_manifest_list_annotate (ret, kv, err) < 0)
        return -1;
    }
  return 0;
}

static char *
dup_member (const husk_json *v, const char *key)
{
  const char *s = husk_json_get_string (v, key);
  return s ? husk_xstrdup (s) : NULL;
}

/* The entries of the index document INDEX, with the image IDs of IMAGES, into L.  */
static int
parse_index (const char *index, size_t len, const husk_json *images, const husk_json *sources,
             struct husk_manifest_list *l, struct husk_error **err)
{
  cleanup_json husk_json *doc = husk_json_parse (index, len, err);
  const husk_json *ms;
  const char *mt;
  size_t n;

  if (doc == NULL)
    return -1;
  mt = husk_json_get_string (doc, "mediaType");
  if (mt && strcmp (mt, HUSK_MT_OCI_INDEX) == 0)
    l->format = HUSK_MANIFEST_LIST_OCI;
  else if (mt && strcmp (mt, HUSK_MT_DOCKER_LIST) == 0)
    l->format = HUSK_MANIFEST_LIST_DOCKER;
  else
    return husk_error_set (err, 0, "unknown mediaType \"%s\"", mt ? mt : "");
  ms = husk_json_get (doc, "manifests");
  n = husk_json_array_len (ms);
  if (!husk_json_is_array (ms) || n > HUSK_MANIFEST_LIST_MAX || husk_json_array_len (images) != n)
    return husk_error_set (err, 0, "its manifests and images do not match");
  /* Files written before "sources" have none: their entries have no source.  */
  if (sources && husk_json_array_len (sources) != n)
    return husk_error_set (err, 0, "its manifests and sources do not match");
  if (parse_annotations (husk_json_get (doc, "annotations"), "index", &l->annotations, err) < 0)
    return -1;
  l->entries = husk_xcalloc (n ? n : 1, sizeof (*l->entries));
  for (size_t i = 0; i < n; i++)
    {
      const husk_json *m = husk_json_array_at (ms, i);
      const husk_json *p = husk_json_get (m, "platform");
      const char *id = husk_json_string (husk_json_array_at (images, i));
      const char *source = husk_json_string (husk_json_array_at (sources, i));
      struct husk_manifest_list_entry *e = &l->entries[i];
      l->n_entries++;
      e->media_type = dup_member (m, "mediaType");
      e->digest = dup_member (m, "digest");
      e->os = dup_member (p, "os");
      e->architecture = dup_member (p, "architecture");
      e->variant = dup_member (p, "variant");
      e->image_id = id ? husk_xstrdup (id) : NULL;
      e->source = source ? husk_xstrdup (source) : NULL;
      if (!husk_json_int64 (husk_json_get (m, "size"), &e->size) || e->size < 0
          || e->media_type == NULL || e->digest == NULL || !husk_digest_is_sha256 (e->digest)
          || e->os == NULL || e->architecture == NULL)
        return husk_error_set (err, 0, "manifests[%zu] is incomplete", i);
      if (parse_annotations (husk_json_get (m, "annotations"), e->digest, &e->annotations, err) < 0)
        return -1;
    }
  return 0;
}

/* ----------------------------------------------------------------- the files  */

int
husk_manifest_list_parse (const char *buf, size_t len, const char *name,
                          struct husk_manifest_list *ret, struct husk_error **err)
{
  cleanup_json husk_json *doc = husk_json_parse (buf, len, err);
  struct husk_manifest_list l = { 0 };
  const char *index, *stored;

  if (doc == NULL)
    return -1;
  stored = husk_json_get_string (doc, "name");
  index = husk_json_get_string (doc, "index");
  if (stored == NULL || strcmp (stored, name) != 0 || index == NULL)
    return husk_error_set (err, 0, "not the list \"%s\"", name);
  if (parse_index (index, strlen (index), husk_json_get (doc, "images"),
                   husk_json_get (doc, "sources"), &l, err)
      < 0)
    {
      husk_manifest_list_clear (&l);
      return -1;
    }
  l.name = husk_xstrdup (name);
  l.index = husk_xstrdup (index);
  l.index_len = strlen (index);
  l.media_type = l.format == HUSK_MANIFEST_LIST_DOCKER ? HUSK_MT_DOCKER_LIST : HUSK_MT_OCI_INDEX;
  *ret = l;
  return 0;
}

int
husk_manifest_list_load (struct husk_store *s, const char *name, struct husk_manifest_list *ret,
                         struct husk_error **err)
{
  cleanup_free char *full = husk_image_name_for_tag (name, err);
  cleanup_free char *buf = NULL;
  cleanup_close int dfd = -1;
  cleanup_error struct husk_error *rerr = NULL;
  char file[HUSK_DIGEST_HEX_LEN + 6];
  size_t len;

  if (full == NULL)
    return husk_error_wrap (err, "manifest list \"%s\"", name);
  list_file (full, file);
  dfd = openat (s->rootfd, LISTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0 && errno == ENOENT)
    return not_found (err, full);
  if (dfd < 0)
    return husk_error_set (err, errno, "store \"%s\": open \"%s\"", s->root, LISTS_DIR);
  if (husk_read_file_at (dfd, file, LIST_FILE_MAX, &buf, &len, &rerr) < 0)
    {
      if (rerr->errnum == ENOENT)
        return not_found (err, full);
      if (err)
        *err = TAKE_PTR (rerr);
      return husk_error_wrap (err, "manifest list \"%s\"", full);
    }
  if (husk_manifest_list_parse (buf, len, full, ret, err) < 0)
    return husk_error_wrap (err, "manifest list \"%s\": %s/%s", full, LISTS_DIR, file);
  return 0;
}

bool
husk_manifest_list_exists (struct husk_store *s, const char *name)
{
  cleanup_free char *full = husk_image_name_for_tag (name, NULL);
  char path[sizeof (LISTS_DIR) + HUSK_DIGEST_HEX_LEN + 6];

  if (full == NULL)
    return false;
  memcpy (path, LISTS_DIR "/", sizeof (LISTS_DIR));
  list_file (full, path + sizeof (LISTS_DIR));
  return faccessat (s->rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
husk_manifest_list_render (struct husk_manifest_list *l, char **ret_buf, size_t *ret_len,
                           struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_free char *index = NULL;
  const char *buf;
  size_t index_len = 0, len;

  if (make_index (l, &index, &index_len, err) < 0)
    return -1;
  husk_jgen_map_open (g);
  husk_jgen_key (g, "name");
  husk_jgen_string (g, l->name);
  husk_jgen_key (g, "images");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < l->n_entries; i++)
    if (l->entries[i].image_id)
      husk_jgen_string (g, l->entries[i].image_id);
    else
      husk_jgen_null (g);
  husk_jgen_array_close (g);
  husk_jgen_key (g, "sources");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < l->n_entries; i++)
    if (l->entries[i].source)
      husk_jgen_string (g, l->entries[i].source);
    else
      husk_jgen_null (g);
  husk_jgen_array_close (g);
  husk_jgen_key (g, "index");
  husk_jgen_string_len (g, index, index_len);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  *ret_buf = husk_xmalloc (len + 1);
  memcpy (*ret_buf, buf, len);
  (*ret_buf)[len] = '\0';
  *ret_len = len;
  free (l->index);
  l->index = TAKE_PTR (index);
  l->index_len = index_len;
  l->media_type = l->format == HUSK_MANIFEST_LIST_DOCKER ? HUSK_MT_DOCKER_LIST : HUSK_MT_OCI_INDEX;
  return 0;
}

int
husk_manifest_list_save (struct husk_store *s, struct husk_manifest_list *l,
                         struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_close int dfd = -1;
  char file[HUSK_DIGEST_HEX_LEN + 6];
  size_t len;

  if (husk_manifest_list_render (l, &buf, &len, err) < 0)
    return -1;
  dfd = husk_store_open_subdir (s, LISTS_DIR, true, err);
  if (dfd < 0)
    return -1;
  list_file (l->name, file);
  if (husk_write_file_atomic_at (dfd, file, buf, len, 0644, err) < 0)
    return husk_error_wrap (err, "manifest list \"%s\"", l->name);
  return 0;
}

int
husk_manifest_list_remove (struct husk_store *s, const char *name, char **ret_name,
                           struct husk_error **err)
{
  cleanup_free char *full = husk_image_name_for_tag (name, err);
  char path[sizeof (LISTS_DIR) + HUSK_DIGEST_HEX_LEN + 6];

  if (full == NULL)
    return husk_error_wrap (err, "manifest list \"%s\"", name);
  memcpy (path, LISTS_DIR "/", sizeof (LISTS_DIR));
  list_file (full, path + sizeof (LISTS_DIR));
  if (unlinkat (s->rootfd, path, 0) < 0)
    {
      if (errno == ENOENT)
        return not_found (err, full);
      return husk_error_set (err, errno, "manifest list \"%s\": remove %s", full, path);
    }
  if (ret_name)
    *ret_name = TAKE_PTR (full);
  return 0;
}

/* --------------------------------------------------------------- the entries  */

ssize_t
husk_manifest_list_find (const struct husk_manifest_list *l, const char *digest)
{
  for (size_t i = 0; i < l->n_entries; i++)
    {
      const char *d = l->entries[i].digest;
      if (strcmp (d, digest) == 0 || strcmp (husk_digest_hex (d), digest) == 0)
        return (ssize_t) i;
    }
  return -1;
}

/* Put E (taken) into L: over the entry with its digest, keeping that one's annotations when E
   has none, or at the end.  */
static int
put_entry (struct husk_manifest_list *l, struct husk_manifest_list_entry *e, size_t *ret_i,
           struct husk_error **err)
{
  ssize_t at = husk_manifest_list_find (l, e->digest);

  if (at >= 0)
    {
      struct husk_manifest_list_entry *old = &l->entries[at];
      if (e->annotations == NULL)
        e->annotations = TAKE_PTR (old->annotations);
      entry_clear (old);
      *old = *e;
    }
  else
    {
      if (l->n_entries >= HUSK_MANIFEST_LIST_MAX)
        {
          entry_clear (e);
          return husk_error_set (err, 0, "manifest list \"%s\": it has %d entries already", l->name,
                                 HUSK_MANIFEST_LIST_MAX);
        }
      l->entries = husk_xrealloc (l->entries, (l->n_entries + 1) * sizeof (*l->entries));
      at = (ssize_t) l->n_entries++;
      l->entries[at] = *e;
    }
  memset (e, 0, sizeof (*e));
  if (ret_i)
    *ret_i = (size_t) at;
  return 0;
}

int
husk_manifest_list_add_image (struct husk_store *s, struct husk_manifest_list *l,
                              const struct husk_image *img, const char *os, const char *arch,
                              const char *variant, size_t *ret_i, struct husk_error **err)
{
  cleanup_free char *mbuf = NULL;
  cleanup_free char *cbuf = NULL;
  cleanup_json husk_json *mdoc = NULL;
  cleanup_json husk_json *cdoc = NULL;
  struct husk_manifest_list_entry e = { 0 };
  const char *mt;
  size_t mlen, clen;

  if (img->manifest == NULL || !husk_store_has_blob (s, img->manifest))
    return husk_error_set (err, 0, "image %.12s: its manifest is not in the store", img->id);
  if (husk_store_read_blob (s, img->manifest, BLOB_MAX, &mbuf, &mlen, err) < 0)
    return husk_error_wrap (err, "image %.12s", img->id);
  mdoc = husk_json_parse (mbuf, mlen, err);
  if (mdoc == NULL)
    return husk_error_wrap (err, "image %.12s: manifest %s", img->id, img->manifest);
  mt = husk_json_get_string (mdoc, "mediaType");
  if (mt == NULL)
    mt = HUSK_MT_OCI_MANIFEST; /* The OCI image spec lets a manifest leave it out.  */
  if (!husk_media_is_manifest (mt))
    return husk_error_set (err, 0, "image %.12s: manifest %s is a \"%s\"", img->id, img->manifest,
                           mt);
  if (husk_store_read_blob (s, img->config, BLOB_MAX, &cbuf, &clen, err) < 0)
    return husk_error_wrap (err, "image %.12s", img->id);
  cdoc = husk_json_parse (cbuf, clen, err);
  if (cdoc == NULL)
    return husk_error_wrap (err, "image %.12s: config", img->id);

  e.media_type = husk_xstrdup (mt);
  e.digest = husk_xstrdup (img->manifest);
  e.size = (int64_t) mlen;
  e.os = os ? husk_xstrdup (os) : dup_member (cdoc, "os");
  e.architecture = arch ? husk_xstrdup (arch) : dup_member (cdoc, "architecture");
  if (variant)
    e.variant = *variant ? husk_xstrdup (variant) : NULL;
  else if (arch == NULL)
    e.variant = dup_member (cdoc, "variant");
  e.image_id = husk_xstrdup (img->id);
  if (e.os == NULL || *e.os == '\0' || e.architecture == NULL || *e.architecture == '\0')
    {
      entry_clear (&e);
      return husk_error_set (err, 0,
                             "image %.12s: its config names no os or architecture (give --os "
                             "and --arch)",
                             img->id);
    }
  return put_entry (l, &e, ret_i, err);
}

int
husk_manifest_list_add_descriptor (struct husk_manifest_list *l,
                                   const struct husk_manifest_list_entry *src, size_t *ret_i,
                                   struct husk_error **err)
{
  struct husk_manifest_list_entry e = { 0 };

  if (src->digest == NULL || !husk_digest_is_sha256 (src->digest) || src->media_type == NULL
      || src->os == NULL || src->architecture == NULL || src->size < 0)
    return husk_error_set (err, 0,
                           "manifest list \"%s\": an entry without digest, media "
                           "type or platform",
                           l->name);
  e.media_type = husk_xstrdup (src->media_type);
  e.digest = husk_xstrdup (src->digest);
  e.size = src->size;
  e.os = husk_xstrdup (src->os);
  e.architecture = husk_xstrdup (src->architecture);
  e.variant = src->variant && *src->variant ? husk_xstrdup (src->variant) : NULL;
  e.image_id = src->image_id ? husk_xstrdup (src->image_id) : NULL;
  e.source = src->source ? husk_xstrdup (src->source) : NULL;
  for (size_t i = 0; src->annotations && src->annotations[i]; i++)
    husk_strv_append (&e.annotations, src->annotations[i]);
  return put_entry (l, &e, ret_i, err);
}
