#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "json.h"
#include "layout.h"
#include "reference.h"
#include "safepath.h"
#include "unpack.h"
#include "util.h"
#include "banned.h"

#define SMALL_BLOB_MAX (8 * 1024 * 1024)
#define MAX_INDEX_DEPTH 4

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REF_NAME "org.opencontainers.image.ref.name"

struct layout
{
  const char *dir;
  int fd;
};

struct descriptor
{
  const char *media_type;
  const char *digest;
  int64_t size;
};

void
husk_pull_result_clear (struct husk_pull_result *r)
{
  free (r->name);
  memset (r, 0, sizeof (*r));
}

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
parse_descriptor (const husk_json *v, struct descriptor *d, struct husk_error **err)
{
  d->media_type = husk_json_get_string (v, "mediaType");
  d->digest = husk_json_get_string (v, "digest");
  if (!husk_json_is_object (v))
    return husk_error_set (err, 0, "descriptor is not an object");
  if (d->digest == NULL)
    return husk_error_set (err, 0, "descriptor has no digest");
  if (husk_digest_check (d->digest, err) < 0)
    return -1;
  if (!husk_json_int64 (husk_json_get (v, "size"), &d->size) || d->size < 0)
    return husk_error_set (err, 0, "descriptor %s has no valid size", d->digest);
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

/* Read a small blob whole and verify it against its descriptor.  */
static int
read_blob (struct layout *l, const struct descriptor *d, char **ret_buf, size_t *ret_len,
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
    return husk_error_set (err, 0, "blob %s: size mismatch (descriptor says %jd bytes)",
                           d->digest, (intmax_t) d->size);
  buf[n] = '\0';
  husk_sha256_buf (buf, (size_t) n, got);
  if (strcmp (got, d->digest) != 0)
    return husk_error_set (err, 0, "blob %s: digest mismatch (content is %s)", d->digest, got);
  *ret_buf = TAKE_PTR (buf);
  *ret_len = (size_t) n;
  return 0;
}

static const char *
host_arch (void)
{
  struct utsname u;
  static char machine[sizeof (u.machine)];
  static const struct
  {
    const char *uname, *go;
  } arches[] = {
    { "x86_64", "amd64" },   { "aarch64", "arm64" }, { "armv7l", "arm" },
    { "i686", "386" },       { "i386", "386" },      { "ppc64le", "ppc64le" },
    { "s390x", "s390x" },    { "riscv64", "riscv64" },
  };

  if (uname (&u) < 0)
    return "amd64";
  for (size_t i = 0; i < sizeof (arches) / sizeof (arches[0]); i++)
    if (strcmp (u.machine, arches[i].uname) == 0)
      return arches[i].go;
  memcpy (machine, u.machine, sizeof (machine));
  return machine;
}

static bool
is_index_type (const char *mt)
{
  return mt && (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0);
}

static bool
is_manifest_type (const char *mt)
{
  return mt && (strcmp (mt, MT_OCI_MANIFEST) == 0 || strcmp (mt, MT_DOCKER_MANIFEST) == 0);
}

/* From a (nested) index, the manifest for this machine.  Returns the manifest bytes.  */
static int
resolve_manifest (struct layout *l, const struct descriptor *d, int depth, char **ret_buf,
                  size_t *ret_len, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_json husk_json *idx = NULL;
  const husk_json *manifests;
  size_t len;

  if (read_blob (l, d, &buf, &len, err) < 0)
    return -1;
  if (is_manifest_type (d->media_type))
    {
      *ret_buf = TAKE_PTR (buf);
      *ret_len = len;
      return 0;
    }
  if (!is_index_type (d->media_type))
    return husk_error_set (err, 0, "manifest %s: unsupported media type \"%s\"", d->digest,
                           d->media_type ? d->media_type : "");
  if (depth >= MAX_INDEX_DEPTH)
    return husk_error_set (err, 0, "index %s: nested too deeply", d->digest);

  idx = husk_json_parse (buf, len, err);
  if (idx == NULL)
    return husk_error_wrap (err, "index %s", d->digest);
  manifests = husk_json_get (idx, "manifests");
  for (size_t i = 0; i < husk_json_array_len (manifests); i++)
    {
      const husk_json *m = husk_json_array_at (manifests, i);
      const husk_json *p = husk_json_get (m, "platform");
      struct descriptor child;
      const char *os = husk_json_get_string (p, "os");
      const char *arch = husk_json_get_string (p, "architecture");

      if (os == NULL || arch == NULL || strcmp (os, "linux") != 0
          || strcmp (arch, host_arch ()) != 0)
        continue;
      if (parse_descriptor (m, &child, err) < 0)
        return husk_error_wrap (err, "index %s", d->digest);
      return resolve_manifest (l, &child, depth + 1, ret_buf, ret_len, err);
    }
  return husk_error_set (err, 0, "index %s: no image for linux/%s", d->digest, host_arch ());
}

static const char *
ref_name_of (const husk_json *desc)
{
  return husk_json_get_string (husk_json_get (desc, "annotations"), REF_NAME);
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
                   const husk_json **ret, struct husk_error **err)
{
  const husk_json *manifests = husk_json_get (index, "manifests");
  size_t n = husk_json_array_len (manifests);

  if (!husk_json_is_array (manifests))
    return husk_error_set (err, 0, "oci layout \"%s\": index.json has no manifests", l->dir);
  if (tag != NULL)
    {
      for (size_t i = 0; i < n; i++)
        {
          const char *rn = ref_name_of (husk_json_array_at (manifests, i));
          if (rn && strcmp (rn, tag) == 0)
            {
              *ret = husk_json_array_at (manifests, i);
              return 0;
            }
        }
      return husk_error_set (err, 0, "tag \"%s\" not found in oci layout \"%s\"", tag, l->dir);
    }
  if (n == 1)
    {
      *ret = husk_json_array_at (manifests, 0);
      return 0;
    }
  if (n == 0)
    return husk_error_set (err, 0, "oci layout \"%s\": index.json lists no images", l->dir);
  {
    cleanup_free char *tags = husk_xstrdup ("");
    for (size_t i = 0; i < n; i++)
      {
        const char *rn = ref_name_of (husk_json_array_at (manifests, i));
        char *t = husk_strdup_printf ("%s%s%s", tags, *tags ? ", " : "", rn ? rn : "(untagged)");
        free (tags);
        tags = t;
      }
    return husk_error_set (err, 0, "oci layout \"%s\" holds %zu images: name one of its tags (%s)",
                           l->dir, n, tags);
  }
}

static int64_t
layer_size (struct husk_store *s, const char *chain_id)
{
  cleanup_free char *p = husk_strdup_printf ("layers/%s/size", husk_digest_hex (chain_id));
  cleanup_free char *buf = NULL;
  uint64_t v;

  if (husk_read_file_at (s->rootfd, p, 64, &buf, NULL, NULL) < 0)
    return 0;
  buf[strcspn (buf, "\n")] = '\0';
  if (husk_parse_u64 (buf, INT64_MAX, &v) < 0)
    return 0;
  return (int64_t) v;
}

int
husk_layout_pull (struct husk_store *s, const char *dir, const char *tag, bool rootless,
                  FILE *progress, struct husk_pull_result *ret, struct husk_error **err)
{
  cleanup_free char *layout_buf = NULL;
  cleanup_free char *index_buf = NULL;
  cleanup_free char *manifest_buf = NULL;
  cleanup_free char *config_buf = NULL;
  cleanup_json husk_json *layout_json = NULL;
  cleanup_json husk_json *index = NULL;
  cleanup_json husk_json *manifest = NULL;
  cleanup_strv char **chain_ids = NULL;
  cleanup_free char **staged = NULL; /* Entries are freed as they are published or discarded.  */
  cleanup_close int fd = -1;
  struct husk_image_config cfg = { 0 };
  struct husk_image img;
  struct husk_pull_result res = { 0 };
  struct layout l = { .dir = dir, .fd = -1 };
  struct descriptor top, config_desc;
  const husk_json *desc = NULL, *layers;
  const char *version;
  char manifest_digest[HUSK_DIGEST_LEN + 1];
  size_t len, manifest_len, config_len, n_layers;
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
  if (select_descriptor (&l, index, tag, &desc, err) < 0)
    return -1;
  if (parse_descriptor (desc, &top, err) < 0)
    return husk_error_wrap (err, "oci layout \"%s\": index.json", dir);

  if (resolve_manifest (&l, &top, 0, &manifest_buf, &manifest_len, err) < 0)
    return husk_error_wrap (err, "oci layout \"%s\"", dir);
  husk_sha256_buf (manifest_buf, manifest_len, manifest_digest);
  manifest = husk_json_parse (manifest_buf, manifest_len, err);
  if (manifest == NULL)
    return husk_error_wrap (err, "oci layout \"%s\": manifest %s", dir, manifest_digest);
  if (parse_descriptor (husk_json_get (manifest, "config"), &config_desc, err) < 0)
    return husk_error_wrap (err, "oci layout \"%s\": manifest %s: config", dir, manifest_digest);
  if (read_blob (&l, &config_desc, &config_buf, &config_len, err) < 0)
    return husk_error_wrap (err, "oci layout \"%s\": config", dir);
  if (husk_image_config_parse (config_buf, config_len, &cfg, err) < 0)
    return husk_error_wrap (err, "oci layout \"%s\": config %s", dir, config_desc.digest);

  layers = husk_json_get (manifest, "layers");
  n_layers = husk_json_array_len (layers);
  if (!husk_json_is_array (layers) || n_layers == 0)
    {
      husk_error_set (err, 0, "oci layout \"%s\": manifest %s has no layers", dir, manifest_digest);
      goto out;
    }
  if (husk_strv_len (cfg.diff_ids) != n_layers)
    {
      husk_error_set (err, 0, "oci layout \"%s\": manifest has %zu layers but config has %zu diff_ids",
                      dir, n_layers, husk_strv_len (cfg.diff_ids));
      goto out;
    }
  if (cfg.os && strcmp (cfg.os, "linux") != 0)
    {
      husk_error_set (err, 0, "oci layout \"%s\": image is for \"%s\", not linux", dir, cfg.os);
      goto out;
    }

  /* Check every layer descriptor before touching the store.  */
  chain_ids = husk_xcalloc (n_layers + 1, sizeof (char *));
  for (size_t i = 0; i < n_layers; i++)
    {
      struct descriptor ld;
      char chain[HUSK_DIGEST_LEN + 1];

      if (parse_descriptor (husk_json_array_at (layers, i), &ld, err) < 0)
        {
          husk_error_wrap (err, "oci layout \"%s\": layer %zu", dir, i);
          goto out;
        }
      if (ld.media_type == NULL || !husk_layer_media_type_ok (ld.media_type))
        {
          husk_error_set (err, 0, "oci layout \"%s\": layer %s: unsupported media type \"%s\"",
                          dir, ld.digest, ld.media_type ? ld.media_type : "");
          goto out;
        }
      husk_chain_id (i ? chain_ids[i - 1] : NULL, cfg.diff_ids[i], chain);
      chain_ids[i] = husk_xstrdup (chain);
    }

  if (husk_store_lock (s, err) < 0)
    goto out;
  /* Every new layer is staged and verified before any is published: a pull that fails leaves
     the store as it was.  */
  staged = husk_xcalloc (n_layers + 1, sizeof (char *));
  for (size_t i = 0; i < n_layers; i++)
    {
      struct descriptor ld;
      struct husk_layer_desc d;
      struct husk_unpack_stats stats = { 0 };
      cleanup_close int bfd = -1;

      parse_descriptor (husk_json_array_at (layers, i), &ld, NULL);
      if (husk_store_has_layer (s, chain_ids[i]))
        {
          res.layers_shared++;
          if (progress)
            fprintf (progress, "Layer %.19s: already present\n", ld.digest);
          continue;
        }
      if (progress)
        fprintf (progress, "Layer %.19s: unpacking %jd bytes\n", ld.digest, (intmax_t) ld.size);
      bfd = open_blob (&l, ld.digest, err);
      if (bfd < 0)
        goto out_unlock;
      d = (struct husk_layer_desc){ .digest = ld.digest,
                                    .size = ld.size,
                                    .media_type = ld.media_type,
                                    .diff_id = cfg.diff_ids[i],
                                    .chain_id = chain_ids[i] };
      if (husk_layer_stage (s, bfd, &d, rootless, &stats, &staged[i], err) < 0)
        goto out_unlock;
      res.layers_new++;
      res.squashed_owners += stats.squashed_owners;
      res.skipped_devices += stats.skipped_devices;
    }
  for (size_t i = 0; i < n_layers; i++)
    {
      struct descriptor ld;
      struct husk_layer_desc d;

      if (staged[i] == NULL)
        continue;
      parse_descriptor (husk_json_array_at (layers, i), &ld, NULL);
      d = (struct husk_layer_desc){ .digest = ld.digest, .chain_id = chain_ids[i] };
      if (husk_layer_publish (s, staged[i], &d, err) < 0)
        goto out_unlock;
      free (staged[i]);
      staged[i] = NULL;
    }
  if (husk_store_put_blob (s, config_desc.digest, config_buf, config_len, err) < 0
      || husk_store_put_blob (s, manifest_digest, manifest_buf, manifest_len, err) < 0)
    goto out_unlock;

  memset (&img, 0, sizeof (img));
  memcpy (img.id, husk_digest_hex (config_desc.digest), HUSK_DIGEST_HEX_LEN + 1);
  res.name = image_name (dir, tag ? tag : ref_name_of (desc));
  img.names = husk_xcalloc (1, sizeof (char *));
  if (res.name)
    husk_strv_append (&img.names, res.name);
  img.manifest = manifest_digest;
  img.config = (char *) config_desc.digest;
  img.layers = chain_ids;
  img.created = cfg.created;
  img.size = 0;
  for (size_t i = 0; i < n_layers; i++)
    img.size += layer_size (s, chain_ids[i]);
  rc = husk_images_add (s, &img, err);
  husk_strv_free (img.names);
  if (rc == 0)
    {
      memcpy (res.id, img.id, sizeof (res.id));
      *ret = res;
      memset (&res, 0, sizeof (res));
    }

out_unlock:
  for (size_t i = 0; staged && i < n_layers; i++)
    if (staged[i])
      {
        husk_layer_discard (s, staged[i]);
        free (staged[i]);
      }
  husk_store_unlock (s);
out:
  if (rc < 0 && *err != NULL && !husk_str_has_prefix ((*err)->msg, "oci layout"))
    husk_error_wrap (err, "oci layout \"%s\"", dir);
  husk_pull_result_clear (&res);
  husk_image_config_clear (&cfg);
  return rc;
}
