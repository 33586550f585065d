/* husk import: a tarball as a one-layer image, as docker import makes it.  */
#ifndef HUSK_TARIMPORT_H
#define HUSK_TARIMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "unpack.h"

struct husk_store;

struct husk_tar_import_opts
{
  const char *name;     /* The image's name as the user wrote it ("app:1"); NULL: none.  */
  const char *message;  /* -m, the history entry's comment; NULL: "Imported from SOURCE".  */
  char *const *changes; /* -c, Dockerfile instructions, in order (NULL-terminated, or NULL).  */
  const char *source;   /* What the tarball came from, for the history: "-" or its path.  */
  bool rootless;        /* Unpacking in a user namespace: no device nodes.  */
};

struct husk_tar_import_result
{
  char id[HUSK_DIGEST_LEN + 1];      /* "sha256:HEX".  */
  struct husk_unmapped_ids unmapped; /* Owners a rootless unpack could not give (unpack.h).  */
  uint64_t skipped_devices;          /* Device nodes in the tarball, not in the store.  */
};

/* Check O before any work: the name (husk_image_name_for_tag) and each -c instruction (as
   husk_commit_check does).  Errors: "name \"NAME\": ...", "-c \"TEXT\": REASON".  */
int husk_tar_import_check (const struct husk_tar_import_opts *o, struct husk_error **err);

/* Make the tar stream read from INFD (uncompressed, or gzip, zstd, xz or bzip2 compressed:
   whatever the first bytes say) an image in S with that one layer, as docker import does.
   The stream is unpacked under the store's tmp/ (husk_unpack_archive_fd: no entry leaves the
   directory, whiteouts apply) and the directory written out again as the layer
   (husk_layer_write, MOVE: a gzip blob made with ISA-L, its diff ID, the layer directory
   itself), so the blob is what husk writes, not the bytes read.  The config: this machine's
   os and architecture (Go's names), a "config" made by the -c instructions alone (as
   husk_commit_apply_changes applies them to an empty one), rootfs.diff_ids with the layer's
   diff ID, created now, and one history entry whose comment is O->message or "Imported from
   SOURCE".  The image is published with an OCI manifest and its record, named O->name when
   given (husk_image_publish_new: all or nothing), *RET set.

   The caller runs this where the store's owners are mapped (as root of the user's namespace,
   like a pull).  The store lock is held throughout.  A stream that is not a tar, is damaged
   or holds no entry is an error and leaves nothing in the store: "\"SOURCE\": REASON".  */
int husk_tar_import (struct husk_store *s, int infd, const struct husk_tar_import_opts *o,
                     struct husk_tar_import_result *ret, struct husk_error **err);

#endif
