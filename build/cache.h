/* The build cache: step keys and what a step made, kept in the store's build-cache/ directory.

   A key is sha256 over the key before it and a text that says everything the step's result
   depends on (the instruction after expansion, the build arguments a RUN sees, the hash of
   what a COPY copies); after a step that made a layer, the key also takes in that layer's
   chain ID (build.c), so a step that ran again and made something else has every later step
   run again; a stage starts from the key of its base (the base image's ID, the
   stage it names, or scratch).  Only steps that make a layer have an entry: the others are
   applied again, which costs nothing.  An entry whose layer or blob has gone from the store
   (husk image prune, rmi) is a miss.  */
#ifndef HUSK_BUILD_CACHE_H
#define HUSK_BUILD_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

struct husk_store;

/* KEY = sha256("husk build step v1" | PREV | TEXT), each part length-prefixed; PREV may be
   "" for a stage's first key.  */
void husk_build_key (const char *prev, const char *text, char key[HUSK_DIGEST_LEN + 1]);

/* What a step that made a layer left: its blob and its layer directory.  */
struct husk_build_cached
{
  char chain_id[HUSK_DIGEST_LEN + 1];
  char diff_id[HUSK_DIGEST_LEN + 1];
  char digest[HUSK_DIGEST_LEN + 1];
  int64_t size;
  char media_type[64];
  bool empty; /* The step changed nothing: no layer (history empty_layer).  */
};

/* The entry of KEY, when there is one whose layer and blob are still in S.  */
bool husk_build_cache_get (struct husk_store *s, const char *key, struct husk_build_cached *ret);

/* Record C under KEY (replacing any entry).  Errors: the store's writes.  */
int husk_build_cache_put (struct husk_store *s, const char *key, const struct husk_build_cached *c,
                          struct husk_error **err);

#endif
