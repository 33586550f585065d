#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "newimage.h"
#include "unpack.h"
#include "util.h"
#include "store-struct.h"
#include "banned.h"

#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Docker's layer media types and the OCI ones for the same bytes.  */
static const char *const layer_names[][2] = {
  { "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.layer.v1.tar+gzip" },
  { "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar" },
  { "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.oci.image.layer.v1.tar+zstd" },
  { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" },
};

/* MEDIA_TYPE (NULL: a gzip layer, as Docker's older documents leave it) in FORMAT's name.  */
static const char *
layer_type (enum husk_image_format format, const char *media_type)
{
  int from = format == HUSK_IMAGE_FORMAT_DOCKER ? 1 : 0;

  if (media_type == NULL)
    return format == HUSK_IMAGE_FORMAT_DOCKER ? MT_DOCKER_LAYER_GZIP : HUSK_MT_OCI_LAYER_GZIP;
  for (size_t i = 0; i < sizeof (layer_names) / sizeof (layer_names[0]); i++)
    if (strcmp (media_type, layer_names[i][from]) == 0)
      return layer_names[i][1 - from];
  return media_type;
}

static void
gen_descriptor (husk_jgen *g, const char *media_type, const char *digest, int64_t size)
{
  husk_jgen_map_open (g);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, media_type);
  husk_jgen_key (g, "digest");
  husk_jgen_string (g, digest);
  husk_jgen_key (g, "size");
  husk_jgen_int (g, size);
  husk_jgen_map_close (g);
}

char *
husk_manifest_make (enum husk_image_format format, const char *config_digest, int64_t config_size,
                    const struct husk_descriptor *layers, size_t n_layers, size_t *ret_len)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  bool docker = format == HUSK_IMAGE_FORMAT_DOCKER;
  const char *buf;
  char *out;

  husk_jgen_map_open (g);
  husk_jgen_key (g, "schemaVersion");
  husk_jgen_int (g, 2);
  husk_jgen_key (g, "mediaType");
  husk_jgen_string (g, docker ? HUSK_MT_DOCKER_MANIFEST : HUSK_MT_OCI_MANIFEST);
  husk_jgen_key (g, "config");
  gen_descriptor (g, docker ? MT_DOCKER_CONFIG : MT_OCI_CONFIG, config_digest, config_size);
  husk_jgen_key (g, "layers");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < n_layers; i++)
    gen_descriptor (g, layer_type (format, layers[i].media_type), layers[i].digest, layers[i].size);
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, ret_len);
  out = husk_xmalloc (*ret_len + 1);
  memcpy (out, buf, *ret_len);
  out[*ret_len] = '\0';
  return out;
}

static char *
make_manifest (const struct husk_new_image *n, const char *config_digest, size_t *ret_len)
{
  cleanup_free struct husk_descriptor *all
      = husk_xcalloc (n->n_layers + 1, sizeof (struct husk_descriptor));
  size_t k = n->n_layers;

  if (n->n_layers > 0) /* A base image (husk import) has no parent layers, and LAYERS NULL.  */
    memcpy (all, n->layers, n->n_layers * sizeof (*all));
  if (n->staged)
    {
      /* Only the fields husk_manifest_make reads; nothing here is freed.  */
      all[k].media_type = NULL;
      all[k].digest = (char *) n->layer->digest;
      all[k].size = n->layer->size;
      k++;
    }
  return husk_manifest_make (n->format, config_digest, (int64_t) n->config_len, all, k, ret_len);
}

/* Take back what this publish added: a blob, or a layer directory (moved under tmp/ first, as
   the GC does, so a kill leaves nothing half-removed in place).  */
static void
unpublish_blob (struct husk_store *s, const char *digest)
{
  cleanup_free char *p = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
  unlinkat (s->rootfd, p, 0);
}

static void
unpublish_layer (struct husk_store *s, const char *chain_id)
{
  cleanup_free char *p = husk_strdup_printf ("layers/%s", husk_digest_hex (chain_id));
  cleanup_free char *tmp = NULL;

  if (husk_store_mkdtemp (s, "unpublish", &tmp, NULL) < 0)
    return;
  {
    cleanup_free char *dst = husk_strdup_printf ("%s/layer", tmp);
    if (renameat (s->rootfd, p, s->rootfd, dst) < 0)
      husk_rm_rf_at (s->rootfd, p, NULL);
  }
  husk_rm_rf_at (s->rootfd, tmp, NULL);
}

int
husk_image_publish_new (struct husk_store *s, const struct husk_new_image *n,
                        char ret_id[HUSK_DIGEST_LEN + 1], struct husk_error **err)
{
  char config_digest[HUSK_DIGEST_LEN + 1], manifest_digest[HUSK_DIGEST_LEN + 1];
  cleanup_free char *manifest = NULL;
  cleanup_strv char **chains = husk_xcalloc (1, sizeof (char *));
  size_t manifest_len;
  bool new_config = false, new_manifest = false, new_layer = false, new_blob = false;
  bool locked = false;
  struct husk_image img = { 0 };
  int rc = -1;

  husk_sha256_buf (n->config, n->config_len, config_digest);
  manifest = make_manifest (n, config_digest, &manifest_len);
  husk_sha256_buf (manifest, manifest_len, manifest_digest);
  for (size_t i = 0; i < n->n_layers; i++)
    husk_strv_append (&chains, n->chain_ids[i]);
  if (n->staged)
    husk_strv_append (&chains, n->layer->chain_id);

  if (husk_store_lock (s, err) < 0)
    goto out;
  locked = true;
  for (size_t i = 0; i < n->n_layers; i++)
    if (!husk_store_has_layer (s, n->chain_ids[i]))
      {
        husk_error_set (err, 0, "layer %s: not in the store", n->chain_ids[i]);
        goto out;
      }
  new_config = !husk_store_has_blob (s, config_digest);
  if (husk_store_put_blob (s, config_digest, n->config, n->config_len, err) < 0)
    goto out;
  new_manifest = !husk_store_has_blob (s, manifest_digest);
  if (husk_store_put_blob (s, manifest_digest, manifest, manifest_len, err) < 0)
    goto out;
  if (n->staged)
    {
      struct husk_layer_desc d = { .digest = n->layer->digest,
                                   .size = n->layer->size,
                                   .media_type = HUSK_MT_OCI_LAYER_GZIP,
                                   .diff_id = n->layer->diff_id,
                                   .chain_id = n->layer->chain_id };
      new_layer = !husk_store_has_layer (s, n->layer->chain_id);
      new_blob = !husk_store_has_blob (s, n->layer->digest);
      if (husk_layer_publish (s, n->staged, &d, err) < 0)
        goto out;
    }

  memcpy (img.id, husk_digest_hex (config_digest), HUSK_DIGEST_HEX_LEN + 1);
  img.names = (char **) n->names;
  img.manifest = manifest_digest;
  img.config = config_digest;
  img.layers = chains;
  img.created = (char *) n->created;
  for (size_t i = 0; chains[i]; i++)
    img.size += husk_layer_size (s, chains[i]);
  if (husk_images_add (s, &img, err) < 0)
    goto out;
  memcpy (ret_id, config_digest, HUSK_DIGEST_LEN + 1);
  rc = 0;

out:
  if (rc < 0)
    {
      /* Under the lock still: nothing else published these meanwhile.  */
      if (new_layer)
        unpublish_layer (s, n->layer->chain_id);
      if (new_blob)
        unpublish_blob (s, n->layer->digest);
      if (new_manifest)
        unpublish_blob (s, manifest_digest);
      if (new_config)
        unpublish_blob (s, config_digest);
      if (n->staged)
        husk_layer_discard (s, n->staged);
    }
  if (locked)
    husk_store_unlock (s);
  return rc;
}
