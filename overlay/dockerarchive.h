/* docker-archive: what "docker save" writes and "docker load" reads; and what husk load reads
   besides: an OCI image layout in a tar (oci-archive) or a directory.

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

/* Import every image of the docker-archive PATH, or unless DOCKER_ONLY of the OCI image layout
   PATH is, as a tar (oci-archive) or a directory: the format is told from the content (a
   directory is a layout; a tar with manifest.json a docker-archive; one with index.json and
   oci-layout an oci-archive).  A layout's images are every manifest its index.json lists
   (an index down to this machine's manifest), each named by its entries'
   org.opencontainers.image.ref.name annotations as podman load names them (a reference with a
   registry as it is, anything else under localhost/: "latest" is localhost/latest:latest);
   the manifest and config are stored byte for byte, so the image keeps their digests.
   Errors name the archive as LABEL (PATH when NULL).  *RET_LOADED gets *RET_N results.
   PROGRESS
   (may be NULL) hears each image's layer events in turn (progress.h).  When a later image
   fails, the ones this call added are removed again with their layers and blobs, except what
   a container created meanwhile uses (IN_USE lists that, under the images-in-use lock).  */
int husk_archive_load (struct husk_store *s, const char *path, const char *label, bool docker_only,
                       bool rootless, const struct husk_progress *progress,
                       husk_images_in_use_fn in_use, struct husk_archive_loaded **ret_loaded,
                       size_t *ret_n, struct husk_error **err);
void husk_archive_loaded_free (struct husk_archive_loaded *l, size_t n);

/* Copy the archive coming on FD (standard input, a pipe: the readers go over an archive more
   than once) to an unlinked file under the store's tmp/ (never seen by its sweep, gone with
   its last descriptor); returns that file's descriptor (close-on-exec), to be read as
   /proc/self/fd/N.  Errors: "read standard input", or name the store.  */
int husk_archive_spool (struct husk_store *s, int fd, struct husk_error **err);

/* Write the images IMGS (with the names each should carry) as a classic docker-archive to
   OUTFD.  Stored layers are decompressed on the way out and checked against their diff_ids.  */
int husk_archive_save (struct husk_store *s, const struct husk_image *const *imgs,
                       char **const *names, size_t n, int outfd, struct husk_error **err);

#endif
