/* Copying trees between directory descriptors, keeping modes and times: husk cp.  */
#ifndef HUSK_COPY_H
#define HUSK_COPY_H

#include <stdbool.h>
#include <sys/stat.h>

#include "error.h"

struct husk_copy_opts
{
  bool chown_root; /* What is written belongs to uid 0 and gid 0 (copies into a container).  */
  bool keep_owner; /* Or to the source's owner (cp -a); an id not mapped here is left as is.  */
  bool keep_setid; /* Keep setuid and setgid bits (copies into a container, or cp -a).  */
};

/* Copy the entry NAME of SRCDIR (a symlink is copied as a symlink) to DSTNAME in DSTDIR:
   directories recurse, an existing directory there is merged into, anything else there is
   replaced.  Names are single components ("." for SRCDIR itself).

   Either side may be a directory that a running container can change while the copy runs
   (a volume), so nothing is ever looked up by a path of more than one component or through
   a symlink: every create, chmod, chown and utimes works on a descriptor or on one name in a
   directory descriptor with AT_SYMLINK_NOFOLLOW or O_NOFOLLOW, and a second name of a hard
   link is made from its first copy found again below DSTDIR with husk_open_in_root's
   HUSK_RESOLVE_NO_SYMLINKS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and checked to be the
   inode this copy wrote.  A file is read only after its descriptor shows the regular file
   that was listed, so a swap for a fifo or a device is an error, not a read.  Device nodes are
   never created: they are left out with a warning on stderr.  Sockets are left out.
   Directories on /proc and /sys file systems are created empty.  Errors: -1 with *ERR set;
   what was copied before stays.  */
int husk_copy_entry (int srcdir, const char *name, int dstdir, const char *dstname,
                     const struct husk_copy_opts *o, struct husk_error **err);

/* Copy what the directory SRCFD holds into the directory DSTFD (SRCFD's own mode and times
   are not applied to DSTFD).  */
int husk_copy_contents (int srcfd, int dstfd, const struct husk_copy_opts *o,
                        struct husk_error **err);

/* Write NAME in SRCDIR (recursively) to OUTFD as a tar stream, its entries named below
   ARCNAME; with ARCNAME "" NAME must be a directory and the entries are what it holds.
   Owners and times are recorded as they are; hard links within stay links.  Unless ARCHIVE
   (cp -a), setuid and setgid bits are left out of the modes and device nodes out of the
   stream (with a warning on stderr), as for a copy to the host.  Files are read as
   husk_copy_entry reads them.  */
int husk_copy_to_tar (int srcdir, const char *name, const char *arcname, bool archive, int outfd,
                      struct husk_error **err);

/* What the directory ROOTFD holds as a tar stream to OUTFD, for husk export: as
   husk_copy_to_tar with ARCNAME "" and ARCHIVE, and each regular file's and directory's
   extended attributes (security.capability among them) as pax records, but overlayfs's own
   (trusted.overlay.*, user.overlay.*) and those this process may not read.  */
int husk_copy_to_tar_export (int rootfd, int outfd, struct husk_error **err);

/* Extract the tar stream (plain or gzip) read from INFD into the directory DSTFD.  No entry
   can leave it: ".." is refused, absolute names are taken from DSTFD, symlinks on the way are
   resolved as if DSTFD were "/", hard links must name what is below DSTFD without a symlink.
   Owners come from the stream (CHOWN_ROOT: uid and gid 0 instead; an id not mapped here
   leaves the file to the caller), and modes and times.  As in husk_copy_entry, what is
   created is changed only through its descriptor or with AT_SYMLINK_NOFOLLOW (a fifo is
   opened O_NONBLOCK | O_NOFOLLOW to set its mode), and device entries are left out with a
   warning on stderr.  */
int husk_copy_from_tar (int infd, int dstfd, bool chown_root, struct husk_error **err);

/* Shared with copytar.c.  NAME in DIRFD opened for reading (O_NOFOLLOW | O_NONBLOCK |
   O_NOCTTY) if it is still the regular file ST describes (same device and inode), else -1
   with *ERR set (REL names it): what a container swapped in after the lstat is not read.  */
int husk_copy_open_regular (int dirfd, const char *name, const struct stat *st, const char *rel,
                            struct husk_error **err);
/* The one-line warning on stderr for a device node left out of a copy.  */
void husk_copy_warn_device (const char *rel);

#endif
