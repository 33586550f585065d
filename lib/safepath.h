/* Resolving paths that come from images: never outside the root they belong to.  */
#ifndef HUSK_SAFEPATH_H
#define HUSK_SAFEPATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum husk_resolve
{
  /* Symlinks are followed, but resolved as if ROOTFD were "/" (".." stops at the root and
     absolute targets restart from it): a container's view of its own filesystem.  */
  HUSK_RESOLVE_IN_ROOT,
  /* No symlink anywhere in the path, and nothing above ROOTFD: what a tar entry may name.
     With O_NOFOLLOW in FLAGS a trailing symlink is opened itself (O_PATH).  */
  HUSK_RESOLVE_NO_SYMLINKS,
};

/* openat(ROOTFD, PATH, FLAGS, MODE) kept inside ROOTFD.  Uses openat2 where the kernel has it,
   an O_NOFOLLOW walk of the components otherwise.  Returns the fd or -errno; ELOOP/EXDEV mean
   the path tried to leave the root or go through a symlink.  O_CREAT is honoured only for the
   last component.  */
int husk_open_in_root (int rootfd, const char *path, int flags, mode_t mode, enum husk_resolve how);

/* Open the directory PATH inside ROOTFD, creating missing components with MODE.  Only the
   components PATH names are made, never what a symlink on the way points at: through a
   dangling symlink it is ENOENT.  Returns an O_DIRECTORY fd or -errno.  */
int husk_mkdirs_in_root (int rootfd, const char *path, mode_t mode, enum husk_resolve how);

/* What husk_mkpath_in_root makes of a missing last component.  */
enum husk_mkpath
{
  HUSK_MKPATH_NONE, /* Nothing: ENOENT, and no directory on the way is made either.  */
  HUSK_MKPATH_DIR,  /* A directory (0755).  */
  HUSK_MKPATH_FILE, /* An empty regular file (0644).  */
};

/* PATH inside ROOTFD as an O_PATH descriptor of what it names, with every symlink followed,
   the last component's too, as if ROOTFD were "/": an absolute target restarts at ROOTFD and
   ".." stops there.  One component is opened at a time with O_NOFOLLOW and the walk holds
   each directory it went through, so nothing swapped in between two steps is followed by
   the kernel, and what is returned is what the walk checked (CVE-2021-30465).  Missing
   directories on the way are made (0755) and a missing last component as CREATE says.  With
   NO_PROCFS, stepping onto a procfs is refused with EXDEV: its links lead to descriptors and
   roots, and a mount there would cover the kernel's own files (CVE-2019-19921).  Returns the
   fd, or -errno: ELOOP after 40 symlinks (a loop), ENOTDIR, ENOENT.  */
int husk_mkpath_in_root (int rootfd, const char *path, enum husk_mkpath create, bool no_procfs);

/* Read the regular file PATH inside ROOTFD (resolved as HOW) into a NUL-terminated buffer of
   at most MAX_SIZE bytes.  The file is opened non-blocking and must be a regular file: a FIFO,
   device or socket an image or container planted there is refused (EINVAL), never waited on.
   Returns 0, or -errno (ENOENT when it is missing, EFBIG when larger than MAX_SIZE).  */
int husk_read_in_root (int rootfd, const char *path, size_t max_size, enum husk_resolve how,
                       char **ret_buf, size_t *ret_len);

/* Set the mode of NAME (one component) in DIRFD without following a symlink there, as
   chmod(2) would on anything else: for what has no descriptor worth opening (a fifo just made
   by mknodat).  Uses fchmodat2 (Linux 6.6) with AT_SYMLINK_NOFOLLOW; on an older kernel, opens
   NAME O_RDONLY | O_NONBLOCK | O_NOFOLLOW and requires a fifo there.  Never goes through
   /proc, which may be a container's.  Returns 0 or -errno: ELOOP or EOPNOTSUPP for a symlink,
   ENXIO (fallback) for anything but a fifo.  */
int husk_chmod_at_nofollow (int dirfd, const char *name, mode_t mode);

/* Tests force the fallback walk, as on a kernel without openat2.  */
void husk_safepath_force_fallback (bool on);
/* And the fallback of husk_chmod_at_nofollow.  */
void husk_safepath_force_chmod_fallback (bool on);

#endif
