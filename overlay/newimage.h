/* An image made here (husk commit, a build) into the store: its new layer, staged by
   husk_layer_write, published with its config, its manifest and its record, all or nothing.  */
#ifndef HUSK_NEWIMAGE_H
#define HUSK_NEWIMAGE_H

#include <stddef.h>

#include "digest.h"
#include "error.h"
#include "layerout.h"
#include "manifest.h"
#include "store.h"

/* The manifest an image made here gets.  */
enum husk_image_format
{
  HUSK_IMAGE_FORMAT_OCI = 0, /* OCI's image manifest (image-spec manifest.md).  */
  HUSK_IMAGE_FORMAT_DOCKER,  /* Docker's image manifest v2, schema 2 (distribution's
                                manifest-v2-2.md), as docker build and buildah
                                --format docker write it.  */
};

/* The manifest, in FORMAT, of the config CONFIG_DIGEST (CONFIG_SIZE bytes) and LAYERS, each
   layer's media type given in FORMAT's name for the same bytes (a NULL one is a gzip layer):
   Docker's "rootfs.diff.tar.gzip" is OCI's "layer.v1.tar+gzip", "rootfs.diff.tar" is
   "layer.v1.tar", "rootfs.diff.tar.zstd" is "layer.v1.tar+zstd", the foreign layer is the
   nondistributable one; an unknown type is kept.  Compact JSON, members in the order the
   specs list them; *RET_LEN its length.  Never fails.  */
char *husk_manifest_make (enum husk_image_format format, const char *config_digest,
                          int64_t config_size, const struct husk_descriptor *layers,
                          size_t n_layers, size_t *ret_len);

struct husk_new_image
{
  const char *config; /* The config's JSON, exactly the bytes its digest is of.  */
  size_t config_len;
  /* The parent's layers: their manifest descriptors and chain IDs, base first.  */
  const struct husk_descriptor *layers;
  char *const *chain_ids;
  size_t n_layers;
  /* The new layer: husk_layer_write's staged directory and result; NULL STAGED: none (an
     empty change).  */
  const char *staged;
  const struct husk_layer_written *layer;
  char *const *names;  /* Full names (husk_image_name_for_tag) to give it; NULL: none.  */
  const char *created; /* RFC 3339, for the record (the config's "created").  */
  /* Its manifest's format; the config is the same either way.  */
  enum husk_image_format format;
};

/* Write the image N: its manifest (N->format's: the config, the parent's layer descriptors
   and the new layer, each layer's media type given in that format's names, which name the
   same bytes: docker's "rootfs.diff.tar.gzip" is OCI's "layer.v1.tar+gzip"), then, under the
   store lock, the config and manifest blobs, the new layer published (husk_layer_publish) and
   the image's record (husk_images_add, which moves NAMES from any image that had them).
   *RET_ID: the image ID, "sha256:HEX" of the config.  A parent layer missing from the store,
   a failed write or a failed record leaves the store as it was: what this call added is
   removed again and the staged layer discarded.  Runs where the store's layers' owners are
   mapped (as a pull does).  Errors: "layer sha256:...: not in the store", and those of the
   writes.  */
int husk_image_publish_new (struct husk_store *s, const struct husk_new_image *n,
                            char ret_id[HUSK_DIGEST_LEN + 1], struct husk_error **err);

#endif
