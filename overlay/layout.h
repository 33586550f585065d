/* OCI image layouts (image-spec's image-layout.md): import from a layout directory (skopeo,
   umoci, buildah, docker save >= 25), and write images out as one, in a directory or a tar
   (podman save --format oci-dir / oci-archive).  */
#ifndef HUSK_LAYOUT_H
#define HUSK_LAYOUT_H

#include <stdbool.h>

#include "error.h"
#include "image.h"
#include "import.h"
#include "progress.h"
#include "store.h"

/* Split "DIR[:TAG]" (the part after "oci:").  */
int husk_layout_split (const char *spec, char **ret_dir, char **ret_tag, struct husk_error **err);

/* Import the image TAG (or the only one, when TAG is NULL) of the layout at DIR.  *RET_NAME
   gets the name the image was given, or NULL.  PROGRESS (may be NULL) hears the layer events
   (progress.h).  */
int husk_layout_pull (struct husk_store *s, const char *dir, const char *tag, bool rootless,
                      const struct husk_progress *progress, struct husk_pull_result *ret,
                      char **ret_name, struct husk_error **err);

/* Write the images IMGS (with the names each should carry, NAMES[i] NULL-terminated or NULL)
   as an OCI image layout: oci-layout, index.json with one manifest descriptor per name (its
   org.opencontainers.image.ref.name annotation the full reference, as podman save writes it;
   one descriptor without the annotation for an image without names) and blobs/sha256/HEX.
   Manifests, configs and layers are copied as stored, byte for byte (layers stay compressed as
   pulled), each checked against its digest on the way, so digests stay the image's.
   husk_layout_save_archive writes the layout as a tar to OUTFD; husk_layout_save_dir writes
   it into the empty directory DIRFD (LABEL names it in errors), files and directories
   fsynced.  Errors name the image and the blob.  */
int husk_layout_save_archive (struct husk_store *s, const struct husk_image *const *imgs,
                              char **const *names, size_t n, int outfd, struct husk_error **err);
/* Add the image IMG to the OCI image layout that already is at DIRFD (LABEL names it in
   errors), as skopeo and podman push to oci:DIR:TAG do: the blobs it lacks (copied as stored,
   each checked against its digest, under a temporary name renamed into place), then
   index.json, written anew with one more descriptor, annotated NAME
   (org.opencontainers.image.ref.name; NULL: none), in place of the one NAME named before;
   the other descriptors and members as they were.  Errors: no oci-layout file, an index.json
   that does not parse, the store's blobs, the writes.  */
int husk_layout_add_dir (struct husk_store *s, const struct husk_image *img, const char *name,
                         int dirfd, const char *label, struct husk_error **err);
int husk_layout_save_dir (struct husk_store *s, const struct husk_image *const *imgs,
                          char **const *names, size_t n, int dirfd, const char *label,
                          struct husk_error **err);

#endif
