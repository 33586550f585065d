/* Progress events: what an import or a pull tells its caller as it goes.  The library only
   emits them; drawing (lines, a display redrawn in place) is the command's (cli/format.c).  */
#ifndef HUSK_PROGRESS_H
#define HUSK_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum husk_progress_kind
{
  HUSK_PROGRESS_PULL,          /* A registry pull begins: NAME says what is pulled.  */
  HUSK_PROGRESS_LAYER_QUEUED,  /* A layer the store lacks, waiting for its turn.  */
  HUSK_PROGRESS_LAYER_SKIPPED, /* A layer the store already has: nothing to fetch.  */
  HUSK_PROGRESS_LAYER_STARTED, /* Its blob is being opened and unpacked.  */
  HUSK_PROGRESS_LAYER_BYTES,   /* BYTES of its blob have arrived (registry pulls only).  */
  HUSK_PROGRESS_LAYER_DONE,    /* Unpacked and verified (published with the image); in a
                                  push, uploaded.  */
  /* A push.  It emits PUSH, then per layer LAYER_SKIPPED (the registry has it), LAYER_MOUNTED
     (mounted from another repository of the registry: NAME) or LAYER_UPLOADING, LAYER_BYTES
     (bytes sent) and LAYER_DONE.  */
  HUSK_PROGRESS_PUSH,            /* A push begins: NAME is the destination.  */
  HUSK_PROGRESS_LAYER_UPLOADING, /* Its blob is being uploaded.  */
  HUSK_PROGRESS_LAYER_MOUNTED,   /* The registry mounted it from the repository NAME.  */
};

struct husk_progress_event
{
  enum husk_progress_kind kind;
  const char *name;   /* PULL, PUSH: "DOMAIN/PATH:TAG" or "DOMAIN/PATH@DIGEST"; LAYER_MOUNTED:
                         "PATH", the repository it came from; else NULL.  */
  size_t index;       /* LAYER_*: the layer's position in its manifest, from 0.  */
  size_t n_layers;    /* LAYER_*: how many layers that manifest has.  */
  const char *digest; /* LAYER_*: the layer blob's "sha256:<hex>".  */
  int64_t size;       /* LAYER_*: the blob's size in bytes, as the manifest gives it.  */
  uint64_t bytes;     /* LAYER_BYTES: bytes received so far (a resumed download counts
                         what it had), or sent so far in a push.  */
};

/* EVENT is called synchronously, from whichever thread the work is on: several layers go at
   once, so it must be thread-safe, and quick (it runs inside the download's write path).
   The event and its strings live only for the call.  */
struct husk_progress
{
  void (*event) (void *arg, const struct husk_progress_event *ev);
  void *arg;
};

/* Send EV to P; P may be NULL (nobody listens).  */
static inline void
husk_progress_emit (const struct husk_progress *p, const struct husk_progress_event *ev)
{
  if (p && p->event)
    p->event (p->arg, ev);
}

#endif
