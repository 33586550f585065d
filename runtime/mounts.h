/* The container's filesystem: the overlay, then /proc and /dev, then pivot_root.  */
#ifndef HUSK_MOUNTS_H
#define HUSK_MOUNTS_H

#include <stdbool.h>

#include "error.h"

/* Mount the overlay of LOWERDIRS (base first) with UPPER and WORK on TARGET.  ROOTLESS selects
   overlayfs's user.* xattrs.  */
int husk_mount_overlay (char *const *lowerdirs, const char *upper, const char *work,
                        const char *target, bool rootless, struct husk_error **err);

/* Everything from the overlay on TARGET to a process rooted in it: /proc, a minimal /dev and
   pivot_root.  Run in the container's mount namespace.  */
int husk_setup_rootfs (const char *target, struct husk_error **err);

/* "a,b:c" -> "a\,b\:c": overlayfs splits its option string on these.  */
char *husk_overlay_escape (const char *path);

#endif
