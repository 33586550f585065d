/* Copying trees between directory descriptors, keeping modes and times: husk cp.  */
#ifndef HUSK_COPY_H
#define HUSK_COPY_H

#include <stdbool.h>

#include "error.h"

struct husk_copy_opts
{
  bool chown_root; /* What is written belongs to uid 0 and gid 0 (copies into a container).  */
};

/* Copy the entry NAME of SRCDIR (a symlink is copied as a symlink) to DSTNAME in DSTDIR:
   directories recurse, an existing directory there is merged into, anything else there is
   replaced.  Names are single components ("." for SRCDIR itself); nothing is ever followed,
   so neither side can lead the copy out of the directories it was given.  Directories on
   /proc and /sys file systems are created empty.  Hard links within the copy stay links.  */
int husk_copy_entry (int srcdir, const char *name, int dstdir, const char *dstname,
                     const struct husk_copy_opts *o, struct husk_error **err);

/* Copy what the directory SRCFD holds into the directory DSTFD (SRCFD's own mode and times
   are not applied to DSTFD).  */
int husk_copy_contents (int srcfd, int dstfd, const struct husk_copy_opts *o,
                        struct husk_error **err);

/* Write NAME in SRCDIR (recursively) to OUTFD as a tar stream, its entries named below
   ARCNAME; with ARCNAME "" NAME must be a directory and the entries are what it holds.
   Owners, modes and times are recorded as they are; hard links within stay links.  */
int husk_copy_to_tar (int srcdir, const char *name, const char *arcname, int outfd,
                      struct husk_error **err);

/* Extract the tar stream (plain or gzip) read from INFD into the directory DSTFD.  No entry
   can leave it: ".." is refused, absolute names are taken from DSTFD, symlinks on the way are
   resolved as if DSTFD were "/", hard links must name what is below DSTFD without a symlink.
   Owners come from the stream (CHOWN_ROOT: uid and gid 0 instead; an id not mapped here
   leaves the file to the caller), and modes and times.  */
int husk_copy_from_tar (int infd, int dstfd, bool chown_root, struct husk_error **err);

#endif
