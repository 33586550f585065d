/* COPY and ADD's local part: what a selection of the build context (context.h) becomes in a new
   layer.  The files are written through an overlay of the image's layers with the new layer as
   its upper directory, in a mount namespace (and, rootless, the user namespace of the store's
   id map), so the destination resolves as it would inside the container (an existing /bin that
   is a symlink to usr/bin is followed, never shadowed) and overlayfs itself records what the
   copy replaced.  The upper directory is then the layer (layerout.h).

   Docker's rules, from the Dockerfile reference (COPY): a relative destination is relative to
   WORKDIR; a destination ending in "/" (or ".", "..") is a directory; with more than one
   source written the destination must end in "/"; a source directory's contents are copied,
   not the directory itself; a file copied to an existing directory goes inside it (BuildKit);
   new files and directories are owned by 0:0 unless --chown says otherwise (COPY --from keeps
   the owners the stage or image gives them, as BuildKit does), and --chown's user
   without a group uses the same number for the group; --chmod sets the mode of what is copied;
   symbolic links are copied as links; file times are kept.  With --parents (a selection with
   KEEP, context.h) the destination is always a directory, and each source lands at
   DEST/KEEP, the directories on the way made like the destination's missing ones.  */
#ifndef HUSK_BUILD_COPYIN_H
#define HUSK_BUILD_COPYIN_H

#include <stdbool.h>

#include "context.h"
#include "error.h"

struct husk_idmap;

/* A file a COPY or ADD heredoc makes ("COPY <<EOF /etc/motd"): the Dockerfile reference's
   here-documents, as BuildKit writes them.  */
struct husk_build_inline
{
  const char *name;    /* The delimiter: the file's name when the destination is a
                          directory.  No "/" in it.  */
  const char *content; /* What the file holds (expanded already when it was to be).  */
  size_t len;
};

struct husk_build_copy
{
  const struct husk_ctx *ctx;           /* The context the selection was made from.  */
  const struct husk_ctx_selection *sel; /* What to copy.  */
  /* COPY --from: instead of CTX and SEL, the root made of these layers (base first, absolute;
     an empty list is an empty root), mounted read-only in the child on FROM_MOUNTPOINT (an
     empty directory) with FROM_UPPER and FROM_WORK (empty directories, never written), and
     the sources FROM_SOURCES (N_WRITTEN of them) selected there, as husk_ctx_select does.  */
  /* ADD: for each of SEL's sources, whether it is a local archive to extract into the
     destination (a directory then) rather than copy; NULL for COPY.  The archive is read by
     the layer unpacker (overlay/unpack.h), with its rules for hostile archives: nothing lands
     outside the destination, links are checked, owners kept as the archive gives them.  */
  const bool *extract;
  char *const *from_lowerdirs;
  char *const *from_sources;
  const char *from_upper, *from_work, *from_mountpoint;
  const char *from_name; /* What the messages call it: "stage \"build\"", "image \"x\"".  */
  /* --exclude and --parents for the FROM_SOURCES selection (may be NULL); from the context,
     SEL was selected with them already.  */
  const struct husk_ctx_select_opts *from_opts;
  /* Heredocs: files written after the sources (BuildKit's order), mode 0644 unless --chmod,
     owned by 0:0 or --chown's owner, each at DEST when it is a file, else DEST/NAME.  */
  const struct husk_build_inline *inline_files;
  size_t n_inline;
  size_t n_written;             /* How many sources the instruction wrote (Docker's
                                   rule for the destination counts these).  */
  char *const *lowerdirs;       /* The image so far, base first (absolute paths);
                                   NULL or empty for FROM scratch.  */
  const char *upper;            /* Absolute: an empty directory, the new layer.  */
  const char *work;             /* Absolute: overlayfs's work directory, empty, on the
                                   same filesystem as UPPER.  */
  const char *mountpoint;       /* Absolute: an empty directory to mount on.  */
  const struct husk_idmap *map; /* The store's id map; NULL when husk is real root.  */
  const char *dest;             /* As written, after variable expansion.  */
  const char *workdir;          /* The stage's WORKDIR (absolute; NULL: "/").  */
  const char *chown;            /* --chown "USER[:GROUP]" (names resolved in the
                                   image's /etc/passwd and /etc/group), or NULL.  */
  int chmod;                    /* --chmod as a mode (0 to 07777), or -1.  */
  bool make_dest;               /* WORKDIR: DEST is a directory, made with its missing
                                   parents (0755, owned by 0:0 or --chown's owner) when the
                                   image lacks it; SEL is empty.  */
  /* Optional: called in the same namespaces once the copy is done and the overlay unmounted
     (UPPER is then a plain directory again): where a build writes the layer out, as root of
     the user namespace that owns the files.  It runs in a child: what it returns to the
     caller goes through memory the caller shares with it (mmap MAP_SHARED).  */
  int (*after) (void *arg, struct husk_error **err);
  void *after_arg;
};

/* Copy C->sel into the new layer C->upper as the rules above say.  Runs in a child (in a new
   mount namespace, and a user namespace with C->map when it is not NULL); nothing of the
   calling process changes.  Errors (one line): "destination \"D\": ..." (more than one source
   and no trailing "/", a file over a directory), "--chown \"S\": ..." (no such user or group,
   or an id the id map does not have: a store without a subordinate range has only id 0),
   the overlay mount, and any file that cannot be read or written, named by its context path.
   On failure the upper directory holds part of the copy: the caller discards it.  */
int husk_build_copy_run (const struct husk_build_copy *c, struct husk_error **err);

#endif
