/* Images husk made itself into the store (imagenew.h).  */
#include "config.h"

#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "imagenew.h"
#include "json.h"
#include "manifest.h"
#include "util.h"
#include "banned.h"

static void
descriptor (husk_jgen *g, const char *media_type, const char *digest, int64_t size)
{
  husk_jgen_map_open (g);
  husk_jgen_string (g, "mediaType");
  husk_jgen_string (g, media_type);
  husk_jgen_string (g, "digest");
  husk_jgen_string (g, digest);
  husk_jgen_string (g, "size");
  husk_jgen_int (g, size);
  husk_jgen_map_close (g);
}

int
husk_image_new (struct husk_store *s, const char *config, size_t len,
                const struct husk_new_layer *layers, size_t n, char *const *names,
                char ret_id[HUSK_DIGEST_HEX_LEN + 1], struct husk_error **err)
{
  husk_jgen *g = NULL;
  cleanup_strv char **chain = husk_xcalloc (1, sizeof (char *));
  struct husk_image_config cfg = { 0 };
  char config_digest[HUSK_DIGEST_LEN + 1], manifest_digest[HUSK_DIGEST_LEN + 1];
  struct husk_image img = { 0 };
  const char *mbuf;
  size_t mlen;
  int64_t size = 0;
  int r = -1;

  /* Only a config a container could start from is recorded.  */
  if (husk_image_config_parse (config, len, &cfg, err) < 0)
    return husk_error_wrap (err, "new image");
  for (size_t i = 0; i < n; i++)
    {
      if (!husk_store_has_layer (s, layers[i].chain_id))
        {
          husk_error_set (err, 0, "new image: layer %s: not in the store", layers[i].chain_id);
          goto out;
        }
      if (!husk_store_has_blob (s, layers[i].digest))
        {
          husk_error_set (err, 0, "new image: blob %s: not in the store", layers[i].digest);
          goto out;
        }
      husk_strv_append (&chain, layers[i].chain_id);
      size += husk_layer_size (s, layers[i].chain_id);
    }

  husk_sha256_buf (config, len, config_digest);
  g = husk_jgen_new (false);
  husk_jgen_map_open (g);
  husk_jgen_string (g, "schemaVersion");
  husk_jgen_int (g, 2);
  husk_jgen_string (g, "mediaType");
  husk_jgen_string (g, HUSK_MT_OCI_MANIFEST);
  husk_jgen_string (g, "config");
  descriptor (g, "application/vnd.oci.image.config.v1+json", config_digest, (int64_t) len);
  husk_jgen_string (g, "layers");
  husk_jgen_array_open (g);
  for (size_t i = 0; i < n; i++)
    descriptor (g, layers[i].media_type, layers[i].digest, layers[i].size);
  husk_jgen_array_close (g);
  husk_jgen_map_close (g);
  mbuf = husk_jgen_buf (g, &mlen);
  husk_sha256_buf (mbuf, mlen, manifest_digest);

  if (husk_store_lock (s, err) < 0)
    goto out;
  if (husk_store_put_blob (s, config_digest, config, len, err) < 0
      || husk_store_put_blob (s, manifest_digest, mbuf, mlen, err) < 0)
    {
      husk_store_unlock (s);
      husk_error_wrap (err, "new image");
      goto out;
    }
  memcpy (img.id, husk_digest_hex (config_digest), HUSK_DIGEST_HEX_LEN + 1);
  img.names = (char **) names;
  img.manifest = manifest_digest;
  img.config = config_digest;
  img.layers = chain;
  img.created = cfg.created;
  img.size = size;
  r = husk_images_add (s, &img, err);
  husk_store_unlock (s);
  if (r < 0)
    {
      husk_error_wrap (err, "new image");
      goto out;
    }
  memcpy (ret_id, img.id, HUSK_DIGEST_HEX_LEN + 1);
out:
  husk_jgen_free (g);
  husk_image_config_clear (&cfg);
  return r;
}
