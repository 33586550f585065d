/* A layer directory out as a new image layer: a container's overlay upper directory (a build's
   RUN step, husk commit) read once, in sorted order, into an OCI layer tar that is hashed,
   gzip-compressed and hashed again as it streams, and staged in the store beside the layer
   directory it describes, for husk_layer_publish (unpack.h).

   The tar follows the OCI image spec's layer format (image-spec layer.md, "Whiteouts"): a 0:0
   character device NAME (overlayfs's deletion) becomes the empty regular file ".wh.NAME" at
   NAME's place in the order, and a directory with "overlay.opaque" = "y" (trusted.* or user.*)
   is followed by ".wh..wh..opq" before anything else in it.  */
#ifndef HUSK_LAYEROUT_H
#define HUSK_LAYEROUT_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "store.h"

/* The media type of what husk_layer_write stages.  */
#define HUSK_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

/* The diff ID of a layer with no entries: sha256 of a tar that is only its end (1024 zero
   bytes).  Docker adds no layer for it (an empty commit or RUN step): see husk_layer_write.  */
#define HUSK_EMPTY_TAR_DIFF_ID                                                                     \
  "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

enum husk_layer_write_mode
{
  /* The directory lives on (husk commit of a container that keeps running): its files are
     copied into the staged layer directory in the same pass that reads them for the tar.  */
  HUSK_LAYER_WRITE_COPY,
  /* The directory is given up (a build's RUN step): once read it is renamed into the staged
     layer (it must be on the store's filesystem) and fixed up in place, so that it holds what
     unpacking the blob gives: times as the tar has them, no device nodes or sockets, only the
     store's opaque xattr of overlay's own.  */
  HUSK_LAYER_WRITE_MOVE,
};

struct husk_layer_write_opts
{
  enum husk_layer_write_mode mode;
  /* Which opaque xattr the staged layer gets (husk_whiteout_opaque_xattr): user.* for a
     rootless store, trusted.* for root's.  Both are read from the source.  */
  bool rootless;
  /* SOURCE_DATE_EPOCH's rule, in seconds since the epoch: a later mtime becomes this one.
     -1: none.  Times are written in whole seconds either way (as docker writes them).  */
  int64_t clamp_mtime;
  /* ISA-L's deflate level, 0 (fastest) to 3; 1 is what igzip -1 does.  */
  int gzip_level;
  /* The chain ID of the layer below ("sha256:HEX"), NULL for a base layer.  */
  const char *parent_chain_id;
};

struct husk_layer_written
{
  char diff_id[HUSK_DIGEST_LEN + 1];  /* sha256 of the uncompressed tar.  */
  char digest[HUSK_DIGEST_LEN + 1];   /* sha256 of the gzip blob ("" when nothing was staged).  */
  int64_t size;                       /* Of the blob, in bytes.  */
  char chain_id[HUSK_DIGEST_LEN + 1]; /* ChainID(parent, diff_id) ("" when nothing was staged).  */
  uint64_t entries;                   /* Tar entries, whiteouts and opaque markers included.  */
  uint64_t bytes;                     /* Regular file data, hard links counted once.  */
  uint64_t skipped_devices;           /* Char and block nodes: in the tar, never in the store.  */
  uint64_t skipped_sockets;           /* Not in the tar (tar has no type for them).  */
  uint64_t skipped_xattrs; /* Not set on the staged copy (EPERM, ENOTSUP): still in the tar.  */
};

/* Write the directory NAME in DIRFD (a container's upper directory, or a layer directory in the
   store's format) as a gzip OCI layer, staged under the store's tmp/ as husk_layer_stage leaves
   a pulled layer: STAGED/blob, STAGED/diff and STAGED/size, *RET_STAGED the path relative to the
   store; publish it with husk_layer_publish (a husk_layer_desc made of *RET) under the store
   lock, or drop it with husk_layer_discard.  The caller holds the store lock from before this
   call until then: taking it sweeps tmp/ (as husk_layer_stage's callers hold it).

   Every file is read once: regular file data goes to the tar and, in COPY mode, to the copy
   from the same buffer; the tar is hashed (diff ID), deflated and hashed again (digest) as it
   is written, with no uncompressed file and no second walk.  Names are written in byte-wise
   order.  Owners are written as the directory's stat gives them: run this where the owners are
   the container's ids (in the container's user namespace, husk_userns_run, when the files
   belong to subordinate ids).  Extended attributes are kept (security.capability among them)
   but overlay's own (trusted.overlay.*, user.overlay.*).  The directory itself is no entry.

   With no entry at all (nothing changed), nothing is staged: *RET has entries 0, the diff ID
   HUSK_EMPTY_TAR_DIFF_ID and no digest, *RET_STAGED is NULL, and in MOVE mode the directory
   stays where it was.  Docker then adds no layer (docker commit of an unchanged container
   gives a history entry marked empty_layer and the parent's rootfs), and so should callers.

   Errors name the entry, relative to the directory: "\"/etc/motd\": read: Input/output error";
   a directory overlay redirected or a file it copied up as metadata only (redirect_dir,
   metacopy: never on husk's mounts) is refused, since its content is not in the directory.
   On error nothing is left staged, and in MOVE mode the directory may have been fixed up in
   place but is not moved.  *RET and *RET_STAGED are set only on success.  */
int husk_layer_write (struct husk_store *s, int dirfd, const char *name,
                      const struct husk_layer_write_opts *o, struct husk_layer_written *ret,
                      char **ret_staged, struct husk_error **err);

/* Set up ZS (ISA-L's deflate state) to write one gzip stream at LEVEL (0 to 3, ISA-L's levels)
   with a fixed header (no name, mtime 0), as husk_layer_write's blobs have it: the same input
   gives the same bytes.  Returns the level buffer ZS uses, to be freed after the stream (NULL
   for level 0).  Never fails.  */
struct isal_zstream;
unsigned char *husk_gzip_deflate_init (struct isal_zstream *zs, int level);

/* Load, in this process, the libraries husk_layer_write uses (libarchive, and libcrypto with
   its SHA-256 ready): husk-full loads them on first use (overlay/lazylibs.c), and a child
   forked to write a layer would otherwise load them again, every time.  Call it before
   forking such children; it is cheap once done.  */
void husk_layer_write_preload (void);

#endif
