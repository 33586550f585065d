/* The build cache: what a build step made, by the step's key, kept in the store's build-cache/
   directory (build/build.c makes the keys and the entries).

   A key is sha256 over the key before it and a text that says everything the step's result
   depends on (the instruction after expansion, the build arguments a RUN sees, the hash of
   what a COPY copies); after a step that made a layer, the key also takes in that layer's
   chain ID (build.c), so a step that ran again and made something else has every later step
   run again; a stage starts from the key of its base (the base image's ID, the
   stage it names, or scratch).  Only steps that make a layer have an entry: the others are
   applied again, which costs nothing.

   An entry pins the layers and blobs of its whole stack (its own and those below it): the
   store's GC (husk_images_gc) keeps them, so husk rmi leaves the cache as it was.  husk image
   prune and husk builder prune drop the entries first (husk_build_cache_clear), and the GC
   then takes what no image uses.  An entry whose layers or blobs are gone anyway is a miss.  */
#ifndef HUSK_BUILDCACHE_H
#define HUSK_BUILDCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

struct husk_store;

/* What a step that made a layer left: its blob and its layer directory.  */
struct husk_build_cached
{
  char chain_id[HUSK_DIGEST_LEN + 1];
  char diff_id[HUSK_DIGEST_LEN + 1];
  char digest[HUSK_DIGEST_LEN + 1];
  int64_t size;
  char media_type[64];
  bool empty;       /* The step changed nothing: no layer (history empty_layer).  */
  char created[64]; /* RFC 3339: when the step ran; "" when not known.  */
};

/* The layers below the cached one, base first (chain IDs and their blobs' digests, N of
   each): what the entry pins besides its own.  */
struct husk_build_stack
{
  char *const *chain_ids;
  char *const *digests;
  size_t n;
};

/* The entry of KEY, when there is one whose layer and blob are still in S.  */
bool husk_build_cache_get (struct husk_store *s, const char *key, struct husk_build_cached *ret);

/* Record C, made on STACK (may be NULL: none below), under KEY (replacing any entry).
   Errors: the store's writes.  */
int husk_build_cache_put (struct husk_store *s, const char *key, const struct husk_build_cached *c,
                          const struct husk_build_stack *stack, struct husk_error **err);

/* Append to *LAYERS the chain IDs ("sha256:HEX") and to *BLOBS the digests every entry pins
   (NULL-terminated vectors, grown with husk_strv_append).  Entries that cannot be read are
   skipped.  */
void husk_build_cache_pins (struct husk_store *s, char ***layers, char ***blobs);

/* Drop every entry, the build contexts' stat caches, the RUN cache mounts and the steps'
   probes (build/explain.c) (build-cache/ whole), so that the GC that follows takes the layers
   only they kept.  Adds to *FREED (may be NULL) the bytes that gave back, as du counts them
   (husk_rm_rf_at_freed, lib/util.h).  Run where the mounts' owners are mapped (the user
   namespace).  The caller holds the store lock.  Errors: the removal's.  */
int husk_build_cache_clear (struct husk_store *s, uint64_t *freed, struct husk_error **err);

#endif
