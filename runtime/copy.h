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

#endif
