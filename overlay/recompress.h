/* A layer's blob in another compression, for a push that asks for one: the stored blob
   decompressed, checked against its diff ID, compressed again (gzip with ISA-L's deflate,
   zstd with libzstd) and kept in the store, found again by its diff ID and compression so
   that the next push, to any registry, compresses nothing:
     ROOT/blob-cache/gzip/HEX, ROOT/blob-cache/zstd/HEX   "sha256:BLOBHEX SIZE\n" for the
                                                            layer of diff ID sha256:HEX, then
                                                            "pushed DOMAIN/PATH\n" for each
                                                            repository it went to
   The blob itself is an ordinary blob (blobs/sha256/BLOBHEX).  Image GC removes such blobs
   like any blob no image's manifest names; an entry whose blob is gone is made again.  */
#ifndef HUSK_RECOMPRESS_H
#define HUSK_RECOMPRESS_H

#include <stdbool.h>

#include "error.h"
#include "manifest.h"
#include "store.h"

enum husk_compression
{
  HUSK_COMPRESSION_NONE, /* A plain tar.  */
  HUSK_COMPRESSION_GZIP,
  HUSK_COMPRESSION_ZSTD,
};

/* The compression a layer MEDIA_TYPE names (OCI's or Docker's names; NULL, as Docker's older
   documents leave it, is gzip).  */
enum husk_compression husk_layer_compression (const char *media_type);

/* The layer SRC (a blob of the store whose uncompressed content has the diff ID DIFF_ID) as a
   blob compressed with TO (gzip or zstd) at LEVEL (gzip: ISA-L's 0 to 3; zstd: 1 to 19; -1:
   the default, gzip 1, as igzip -1, and zstd 3).  *RET: its OCI media type, digest and size
   (free it with husk_descriptor_clear); *RET_CACHED: it was in the cache (LEVEL is not part of
   the cache's key).  The stored blob's content must hash to DIFF_ID.  Takes the store lock to
   publish.  Errors: "layer DIGEST: ..." (the blob missing or unreadable, its content is not
   DIFF_ID, a write that failed).  */
int husk_layer_recompress (struct husk_store *s, const struct husk_descriptor *src,
                           const char *diff_id, enum husk_compression to, int level,
                           struct husk_descriptor *ret, bool *ret_cached, struct husk_error **err);

/* The repositories ("DOMAIN/PATH") the cached blob of DIFF_ID in TO was pushed to, oldest
   first (NULL-terminated, never NULL; empty when none or no entry): a later push mounts it
   from one of them.  */
char **husk_blob_cache_repos (struct husk_store *s, const char *diff_id, enum husk_compression to);

/* Record that the cached blob of DIFF_ID in TO is in the repository REPO ("DOMAIN/PATH"), a
   "pushed REPO" line of its entry (once per repository; the 64 latest are kept).  Takes the
   store lock.  Errors: the entry is missing or cannot be written.  */
int husk_blob_cache_add_repo (struct husk_store *s, const char *diff_id, enum husk_compression to,
                              const char *repo, struct husk_error **err);

#endif
