/* Pushing an image from the store to a registry (the OCI distribution spec's "Push" section):
   every layer blob and the config checked with HEAD and sent only when the registry lacks it
   (mounted from another repository of the same registry when one there has it), several
   layers at once, then the manifest.  The manifest goes last, and only once every blob it
   names is in the registry, so the registry never holds a manifest whose blobs are missing.
   The store is only read, but for the repository digest the push records (image.h) and the
   blobs it compressed anew (recompress.h).  */
#ifndef HUSK_PUSH_H
#define HUSK_PUSH_H

#include <stdbool.h>

#include "digest.h"
#include "error.h"
#include "image.h"
#include "newimage.h"
#include "progress.h"
#include "recompress.h"
#include "store.h"

/* The manifest format a push sends.  */
enum husk_push_format
{
  HUSK_PUSH_FORMAT_KEEP = 0, /* The image's own manifest, byte for byte (its digest kept).  */
  HUSK_PUSH_FORMAT_OCI,      /* An OCI image manifest.  */
  HUSK_PUSH_FORMAT_DOCKER,   /* Docker's image manifest v2, schema 2 ("v2s2").  */
};

struct husk_push_options
{
  bool tls_verify;
  enum husk_push_format format;
  /* HUSK_COMPRESSION_NONE (the default): layers go as the store keeps them, a plain tar
     gzip-compressed.  GZIP or ZSTD: every layer in that compression, a layer stored in
     another one compressed anew (husk_layer_recompress: once, then cached).  */
  enum husk_compression compression;
  int compression_level; /* For layers compressed anew: husk_layer_recompress's LEVEL.  */
  /* Hears PUSH and the layer events (progress.h), from several threads; may be NULL.  */
  const struct husk_progress *progress;
};

struct husk_push_result
{
  char digest[HUSK_DIGEST_LEN + 1]; /* The manifest's, "sha256:HEX", as the registry has it.  */
  char *repository;                 /* "DOMAIN/PATH" pushed to (the caller frees it).  */
  unsigned layers_present;          /* Blobs the registry had already.  */
  unsigned layers_mounted;          /* Mounted from another repository of the registry.  */
  unsigned layers_uploaded;
  unsigned layers_compressed; /* Compressed anew for this push (not found in the cache).  */
};

/* Push the image IMG of the store S (found by the caller: husk_images_lookup) to DEST, a
   registry reference "[DOMAIN/]PATH[:TAG][@DIGEST]" (Docker's normalization: no domain is
   docker.io, no tag is latest; with a digest and no tag the manifest is put by digest, which
   must then be the manifest's).  LIST: the store's images, where layers to mount are looked
   for: a layer blob that an image of the same registry's other repository has (by its
   names) is mounted from there.  *RET on success.  Errors are wrapped "push \"DEST\": ...":
   a layer blob missing from the store, a registry error of a blob or of the manifest (with
   its HTTP status and message), a format the layers cannot take (zstd layers in a Docker
   manifest), a registry that stored another digest than the one sent.  Once the manifest is
   in, the image gets the repository digest DOMAIN/PATH@DIGEST (husk_images_add_repo_digest).  */
int husk_registry_push (struct husk_store *s, const struct husk_image_list *list,
                        const struct husk_image *img, const char *dest,
                        const struct husk_push_options *o, struct husk_push_result *ret,
                        struct husk_error **err);

/* Push the manifest list L (overlay/manifestlist.h) to DEST as one multi-platform image: each
   entry's local image pushed by digest to DEST's repository as it is (its manifest must still
   be the entry's: O's format and compression are not applied), an entry that came from a
   repository of the same registry mounted from there with its manifest put by digest, then
   the index, by DEST's tag (or digest).  LIST: the store's images.  *RET: the index's digest
   and the layers' counts over all entries.  Errors are wrapped "push \"DEST\": ...": an
   entry whose image is gone or has another manifest, an entry from another registry, and
   husk_registry_push's.  */
struct husk_manifest_list;
int husk_registry_push_list (struct husk_store *s, const struct husk_image_list *list,
                             const struct husk_manifest_list *l, const char *dest,
                             const struct husk_push_options *o, struct husk_push_result *ret,
                             struct husk_error **err);

void husk_push_result_clear (struct husk_push_result *r);

#endif
