/* A new image in the store from parts husk made itself (a build, a commit): its config, its
   layers' descriptors and chain IDs.  The OCI image manifest is written here (image-spec
   manifest.md: schemaVersion 2, mediaType, config and layers descriptors).  */
#ifndef HUSK_IMAGENEW_H
#define HUSK_IMAGENEW_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "store.h"

/* One layer of the new image: its blob's descriptor and its chain ID.  */
struct husk_new_layer
{
  const char *media_type; /* Of the blob as stored ("...tar+gzip", "...tar").  */
  const char *digest;     /* Of the blob.  */
  int64_t size;           /* Of the blob, bytes.  */
  const char *chain_id;   /* layers/HEX in the store.  */
};

/* Record an image made of CONFIG (LEN bytes, the exact bytes its ID is the digest of) and
   LAYERS (N, base first; each blob and layer directory already in the store) under NAMES
   (full references, husk_image_name_for_tag; may be NULL), taking those names from any other
   image.  The config and the manifest are put in the store as blobs.  Takes the store lock.
   *RET_ID gets the image ID (the config's digest's hex).  Errors: a layer or blob missing
   from the store ("layer sha256:...: not in the store"), the store's writes.  Adding an image
   that is there already (the same config) only adds the names.  */
int husk_image_new (struct husk_store *s, const char *config, size_t len,
                    const struct husk_new_layer *layers, size_t n, char *const *names,
                    char ret_id[HUSK_DIGEST_HEX_LEN + 1], struct husk_error **err);

#endif
