/* docker-archive: what "docker save" writes and "docker load" reads.

   Two layouts are read: the classic one (manifest.json, CONFIG.json, ID/layer.tar, duplicate
   layers as symlinks) and that of Docker 25 and later (manifest.json beside an OCI layout:
   blobs/sha256/HEX, layers possibly compressed).  manifest.json lists each image's Config,
   RepoTags and Layers; every layer streams from the archive into the usual verified unpack.
   The classic layout is written, with uncompressed layers whose digests are their diff_ids.  */
#ifndef HUSK_DOCKERARCHIVE_H
#define HUSK_DOCKERARCHIVE_H

#include <stdbool.h>

#include "error.h"
#include "image.h"
#include "imagegc.h"
#include "import.h"
#include "progress.h"
#include "store.h"

struct husk_archive_loaded
{
  struct husk_pull_result res;
  char **names; /* Full references, possibly empty.  */
};

/* Import every image of the docker-archive PATH.  *RET_LOADED gets *RET_N results.  PROGRESS
   (may be NULL) hears each image's layer events in turn (progress.h).  When a later image
   fails, the ones this call added are removed again with their layers and blobs, except what
   a container created meanwhile uses (IN_USE lists that, under the images-in-use lock).  */
int husk_archive_load (struct husk_store *s, const char *path, bool rootless,
                       const struct husk_progress *progress, husk_images_in_use_fn in_use,
                       struct husk_archive_loaded **ret_loaded, size_t *ret_n,
                       struct husk_error **err);
void husk_archive_loaded_free (struct husk_archive_loaded *l, size_t n);

/* Write the images IMGS (with the names each should carry) as a classic docker-archive to
   OUTFD.  Stored layers are decompressed on the way out and checked against their diff_ids.  */
int husk_archive_save (struct husk_store *s, const struct husk_image *const *imgs,
                       char **const *names, size_t n, int outfd, struct husk_error **err);

#endif
