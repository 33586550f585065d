#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "layout.h"
#include "manifest.h"
#include "reference.h"
#include "safepath.h"
#include "util.h"
#include "banned.h"

#define SMALL_BLOB_MAX (8 * 1024 * 1024)
#define MAX_INDEX_DEPTH 4

struct layout
{
  const char *dir;
  int fd;
};

int
husk_layout_split (const char *spec, char **ret_dir, char **ret_tag, struct husk_error **err)
{
  /* As skopeo reads oci:PATH:REF, the first colon ends the path, so the reference may itself
     hold colons (a registry port, a tag).  */
  const char *colon = strchr (spec, ':');

  if (*spec == '\0' || colon == spec)
    return husk_error_set (err, 0, "oci layout \"\": no directory given");
  if (colon && colon[1] != '\0')
    {
      *ret_dir = husk_xcalloc (1, (size_t) (colon - spec) + 1);
      memcpy (*ret_dir, spec, (size_t) (colon - spec));
      *ret_tag = husk_xstrdup (colon + 1);
    }
  else
    {
      *ret_dir = colon ? husk_xcalloc (1, (size_t) (colon - spec) + 1) : husk_xstrdup (spec);
      if (colon)
        memcpy (*ret_dir, spec, (size_t) (colon - spec));
      *ret_tag = NULL;
    }
  return 0;
}

static int
open_blob (struct layout *l, const char *digest, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  int fd = husk_open_in_root (l->fd, path, O_RDONLY | O_NOCTTY, 0, HUSK_RESOLVE_IN_ROOT);
  if (fd < 0)
    return husk_error_set (err, -fd, "blob %s", digest);
  return fd;
}

static int
open_layer (void *arg, const struct husk_descriptor *d, struct husk_error **err)
{
  return open_blob (arg, d->digest, err);
}

/* Read a small blob whole and verify it against its descriptor.  */
static int
read_blob (struct layout *l, const struct husk_descriptor *d, char **ret_buf, size_t *ret_len,
           struct husk_error **err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  char got[HUSK_DIGEST_LEN + 1];
  ssize_t n;

  if (d->size > SMALL_BLOB_MAX)
    return husk_error_set (err, 0, "blob %s: %jd bytes is too large for a manifest or config",
                           d->digest, (intmax_t) d->size);
  fd = open_blob (l, d->digest, err);
  if (fd < 0)
    return -1;
  buf = husk_xmalloc ((size_t) d->size + 2);
  n = husk_read_all (fd, buf, (size_t) d->size + 1);
  if (n < 0)
    return husk_error_set (err, errno, "blob %s: read", d->digest);
  if (n != d->size)
    return husk_error_set (err, 0, "blob %s: size mismatch (descriptor says %jd bytes)", d->digest,
                           (intmax_t) d->size);
  buf[n] = '\0';
  husk_sha256_buf (buf, (size_t) n, got);
  if (strcmp (got, d->digest) != 0)
    return husk_error_set (err, 0, "blob %s: digest mismatch (content is %s)", d->digest, got);
  *ret_buf = TAKE_PTR (buf);
  *ret_len = (size_t) n;
  return 0;
}

/* Follow (nested) indexes down to the manifest for this machine; returns the manifest bytes,
   verified against the descriptor that named them.  */
static int
resolve_manifest (struct layout *l, const struct husk_descriptor *d, int depth, char **ret_buf,
                  size_t *ret_len, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  struct husk_descriptor child;
  size_t len;
  int r;

  if (read_blob (l, d, &buf, &len, err) < 0)
    return -1;
  if (husk_media_is_manifest (d->media_type))
    {
      *ret_buf = TAKE_PTR (buf);
      *ret_len = len;
      return 0;
    }
  if (!husk_media_is_index (d->media_type))
    return husk_error_set (err, 0, "manifest %s: unsupported media type \"%s\"", d->digest,
                           d->media_type ? d->media_type : "");
  if (depth >= MAX_INDEX_DEPTH)
    return husk_error_set (err, 0, "index %s: nested too deeply", d->digest);
  if (husk_index_select_platform (buf, len, &child, err) < 0)
    return husk_error_wrap (err, "index %s", d->digest);
  r = resolve_manifest (l, &child, depth + 1, ret_buf, ret_len, err);
  husk_descriptor_clear (&child);
  return r;
}

/* The name an imported image gets: a full reference as is; a bare tag under localhost/ with the
   layout directory's name.  NULL when no valid name can be made.  */
static char *
image_name (const char *dir, const char *refname)
{
  struct husk_reference r;
  cleanup_free char *candidate = NULL;
  cleanup_free char *copy = NULL;
  char *base;
  char *out;

  if (refname == NULL)
    return NULL;
  if (strchr (refname, '/') != NULL)
    candidate = husk_xstrdup (refname);
  else
    {
      size_t n;
      copy = husk_xstrdup (dir);
      n = strlen (copy);
      while (n > 1 && copy[n - 1] == '/')
        copy[--n] = '\0';
      base = strrchr (copy, '/');
      base = base ? base + 1 : copy;
      for (char *p = base; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
          *p = (char) (*p - 'A' + 'a');
      candidate = husk_strdup_printf ("localhost/%s:%s", base, refname);
    }
  if (husk_reference_parse (candidate, &r, NULL) < 0)
    return NULL;
  out = husk_reference_string (&r);
  husk_reference_clear (&r);
  return out;
}

static int
select_descriptor (struct layout *l, const husk_json *index, const char *tag,
                   struct husk_descriptor *ret, struct husk_error **err)
{
  const husk_json *manifests = husk_json_get (index, "manifests");
  size_t n = husk_json_array_len (manifests);
  cleanup_free char *tags = husk_xstrdup ("");

  if (!husk_json_is_array (manifests))
    return husk_error_set (err, 0, "oci layout \"%s\": index.json has no manifests", l->dir);
  if (n == 0)
    return husk_error_set (err, 0, "oci layout \"%s\": index.json lists no images", l->dir);
  for (size_t i = 0; i < n; i++)
    {
      struct husk_descriptor d;
      if (husk_descriptor_parse (husk_json_array_at (manifests, i), &d, err) < 0)
        return husk_error_wrap (err, "oci layout \"%s\": index.json", l->dir);
      if (tag == NULL && n == 1)
        {
          *ret = d;
          return 0;
        }
      if (tag != NULL && d.ref_name && strcmp (d.ref_name, tag) == 0)
        {
          *ret = d;
          return 0;
        }
      {
        char *t = husk_strdup_printf ("%s%s%s", tags, *tags ? ", " : "",
                                      d.ref_name ? d.ref_name : "(untagged)");
        free (tags);
        tags = t;
      }
      husk_descriptor_clear (&d);
    }
  if (tag != NULL)
    return husk_error_set (err, 0, "tag \"%s\" not found in oci layout \"%s\"", tag, l->dir);
  return husk_error_set (err, 0, "oci layout \"%s\" holds %zu images: name one of its tags (%s)",
                         l->dir, n, tags);
}

int
husk_layout_pull (struct husk_store *s, const char *dir, const char *tag, bool rootless,
                  const struct husk_progress *progress, struct husk_pull_result *ret,
                  char **ret_name, struct husk_error **err)
{
  cleanup_free char *layout_buf = NULL;
  cleanup_free char *index_buf = NULL;
  cleanup_free char *manifest_buf = NULL;
  cleanup_free char *config_buf = NULL;
  cleanup_free char *name = NULL;
  cleanup_json husk_json *layout_json = NULL;
  cleanup_json husk_json *index = NULL;
  cleanup_close int fd = -1;
  struct husk_descriptor top = { 0 };
  struct husk_manifest m = { 0 };
  struct layout l = { .dir = dir, .fd = -1 };
  struct husk_import_source src = { .open_blob = open_layer, .arg = &l };
  struct husk_import im = { .rootless = rootless, .progress = progress };
  char *names[2] = { NULL, NULL };
  const char *version;
  size_t len, manifest_len, config_len;
  int rc = -1;

  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_set (err, errno, "oci layout \"%s\"", dir);
  l.fd = fd;

  if (husk_read_file_at (fd, "oci-layout", 64 * 1024, &layout_buf, &len, err) < 0)
    {
      husk_error_free (err);
      return husk_error_set (err, 0, "oci layout \"%s\": missing or unreadable oci-layout file",
                             dir);
    }
  layout_json = husk_json_parse (layout_buf, len, err);
  if (layout_json == NULL)
    return husk_error_wrap (err, "oci layout \"%s\": oci-layout", dir);
  version = husk_json_get_string (layout_json, "imageLayoutVersion");
  if (version == NULL || !husk_str_has_prefix (version, "1."))
    return husk_error_set (err, 0, "oci layout \"%s\": unsupported imageLayoutVersion \"%s\"", dir,
                           version ? version : "");

  if (husk_read_file_at (fd, "index.json", SMALL_BLOB_MAX, &index_buf, &len, err) < 0)
    return husk_error_wrap (err, "oci layout \"%s\"", dir);
  index = husk_json_parse (index_buf, len, err);
  if (index == NULL)
    return husk_error_wrap (err, "oci layout \"%s\": index.json", dir);
  if (select_descriptor (&l, index, tag, &top, err) < 0)
    return -1;

  if (resolve_manifest (&l, &top, 0, &manifest_buf, &manifest_len, err) < 0
      || husk_manifest_parse (manifest_buf, manifest_len, &m, err) < 0
      || read_blob (&l, &m.config, &config_buf, &config_len, err) < 0)
    goto out;

  name = image_name (dir, tag ? tag : top.ref_name);
  names[0] = name;
  im.manifest = manifest_buf;
  im.manifest_len = manifest_len;
  im.config = config_buf;
  im.config_len = config_len;
  im.names = name ? names : NULL;
  if (husk_image_commit (s, &im, &src, ret, err) < 0)
    goto out;
  if (ret_name)
    *ret_name = TAKE_PTR (name);
  rc = 0;

out:
  if (rc < 0 && *err != NULL && !husk_str_has_prefix ((*err)->msg, "oci layout")
      && !husk_str_has_prefix ((*err)->msg, "tag \""))
    husk_error_wrap (err, "oci layout \"%s\"", dir);
  husk_descriptor_clear (&top);
  husk_manifest_clear (&m);
  return rc;
}
