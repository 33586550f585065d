/* Committing an image to the store, whatever it came from (a layout, a registry, an archive):
   the config is verified against the manifest, every new layer is staged and verified, then
   all are published and the image is recorded.  A failure leaves the store as it was.  */
#ifndef HUSK_IMPORT_H
#define HUSK_IMPORT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "digest.h"
#include "error.h"
#include "manifest.h"
#include "progress.h"
#include "store.h"
#include "unpack.h"

struct husk_pull_result
{
  char id[HUSK_DIGEST_HEX_LEN + 1];
  unsigned layers_new;
  unsigned layers_shared;
  struct husk_unmapped_ids unmapped; /* Owners a rootless unpack could not map (unpack.h).  */
  uint64_t skipped_devices;
};

struct husk_import_source
{
  /* Open the layer blob D for reading: an fd, or -1 with *ERR set.  */
  int (*open_blob) (void *arg, const struct husk_descriptor *d, struct husk_error **err);
  /* Optional: called after the fd open_blob gave is closed.  A failure of the source itself
     (a download that broke) is reported here, and wins over what the reader made of the
     short stream.  */
  int (*close_blob) (void *arg, const struct husk_descriptor *d, struct husk_error **err);
  void *arg;
  unsigned parallel;    /* Layers staged at once; 0 or 1: one after the other.  */
  _Atomic bool *cancel; /* Optional: set when a layer fails, so the others stop early.  */
};

struct husk_import
{
  const char *manifest; /* The manifest's bytes, as its digest covers them.  */
  size_t manifest_len;
  const char *config; /* The config's bytes (verified here against the manifest).  */
  size_t config_len;
  char **names;                         /* Full references to give the image; may be NULL.  */
  bool rootless;                        /* Unpacking in a user namespace: no device nodes.  */
  const struct husk_progress *progress; /* Layer events (progress.h), or NULL.  */
  /* Its repo digests, "domain/path@sha256:HEX" (image.h); may be NULL.  */
  char **repo_digests;
};

/* Commit the image IM to S, its new layers read through SRC.  Emits LAYER_QUEUED or
   LAYER_SKIPPED for every layer of the manifest first, then LAYER_STARTED and LAYER_DONE for
   each new one, to IM->progress.  *RET on success; on failure the store is left as it was.  */
int husk_image_commit (struct husk_store *s, const struct husk_import *im,
                       const struct husk_import_source *src, struct husk_pull_result *ret,
                       struct husk_error **err);

#endif
