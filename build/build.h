/* husk build: a Dockerfile and its context to an image in the store, as docker build does
   (the Dockerfile reference; BuildKit's behaviour where the reference is silent), rootless.

   Each stage the target needs is built in order.  A RUN step is a husk container made by the
   engine's create path on the layers so far (husk_create_from_layers); its overlay upper
   directory, once it exits, is the new layer (overlay/layerout.h, moved, not copied).  A COPY
   step writes through an overlay of the image so far into a new layer (copyin.h).  Every step
   has a content-addressed cache key: the key before it, the instruction after expansion, the
   build arguments a RUN sees and, for COPY, the hash of what it copies (context.h); a step
   whose key has a layer in the store's build cache is not run again.  */
#ifndef HUSK_BUILD_H
#define HUSK_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "defaults.h"
#include "digest.h"
#include "error.h"
#include "newimage.h"

struct husk_store;
struct husk_idmap;

/* When a FROM or COPY --from image is pulled (--pull).  */
enum husk_build_pull
{
  HUSK_BUILD_PULL_MISSING, /* When the store does not have it (docker build's default).  */
  HUSK_BUILD_PULL_ALWAYS,  /* Every time, for the newest.  */
  HUSK_BUILD_PULL_NEVER,   /* Never: a missing image is an error.  */
};

struct husk_build_opts
{
  const char *context;          /* The context directory.  */
  const char *dockerfile;       /* Its path; NULL: CONTEXT/Dockerfile; "-": read from stdin.  */
  char *const *tags;            /* -t NAME, NULL-terminated (may be NULL): full references
                                   (husk_image_name_for_tag).  */
  char *const *build_args;      /* --build-arg "NAME=VALUE" (or "NAME": the value from husk's
                                   environment, unset when it has none), in order; a later NAME
                                   wins.  May be NULL.  */
  char *const *labels;          /* --label "KEY=VALUE", set on the final image.  May be NULL.  */
  const char *target;           /* --target STAGE, or NULL: the last stage.  */
  bool no_cache;                /* --no-cache: every step runs (and is cached anew).  */
  bool cache_explain;           /* --cache-explain: a line on PROGRESS for every RUN, COPY or
                                   ADD step that missed the cache, saying why.  */
  enum husk_network network;    /* RUN steps' network (--network); a RUN --network wins.  */
  int64_t timestamp;            /* --timestamp or SOURCE_DATE_EPOCH, in seconds since the epoch:
                                   every created time, and file times clamped to it; -1: none.  */
  char *const *secrets;         /* --secret, "id=ID,src=PATH" or "id=ID,env=VAR" (src= also as
                                   source=; a bare "id=ID" reads the variable ID), for RUN
                                   --mount=type=secret.  May be NULL.  */
  const struct husk_idmap *map; /* The store's id map; NULL when husk is real root.  */
  enum husk_build_pull pull;
  enum husk_image_format format; /* --format: the image's manifest (OCI's by default).  */
  /* Pull REF into the store (the CLI's pull, with its user namespace and progress); NULL:
     never.  */
  int (*pull_fn) (void *arg, const char *ref, struct husk_error **err);
  void *pull_arg;
  /* Called before the first container a step runs (a RUN that missed the cache): the CLI
     makes sure husk runs from its sealed copy (runtime/selfexe.h), which re-executes the
     whole command when it does not yet.  The build that starts again finds the steps before
     it cached and prints only what the first one had not (husk_build reads how far it got
     from the environment).  NULL: nothing to do.  */
  int (*before_run) (void *arg, struct husk_error **err);
  void *before_run_arg;
  FILE *progress; /* Where the steps are told (STEP n/N: ..., cache hits, the
                     image), or NULL (-q).  RUN steps' output goes to husk's
                     stdout and stderr, or nowhere with -q.  */
};

/* Build the image O describes into S and record it under O->tags.  *RET_ID (71 bytes) gets
   "sha256:HEX", the image ID.  Errors (one line): the Dockerfile as the parser reports it
   ("Dockerfile:3: COPY: ..."), a step that failed, named by its line and instruction
   ("Dockerfile:5: RUN false: exited with status 1"), a base image not in the store, a
   feature this build does not have yet ("RUN --mount: not supported yet").  The store keeps
   the layers and cache entries of the steps that succeeded, and no image.  */
int husk_build (struct husk_store *s, const struct husk_build_opts *o,
                char ret_id[HUSK_DIGEST_LEN + 1], struct husk_error **err);

#endif
