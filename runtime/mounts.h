/* The container's filesystem: the overlay, then /proc and /dev, then pivot_root.  */
#ifndef HUSK_MOUNTS_H
#define HUSK_MOUNTS_H

#include <stdbool.h>

#include "error.h"

/* Mount the overlay of LOWERDIRS (base first) with UPPER and WORK on TARGET, nodev (no node
   in an image or the upper layer opens a device).  ROOTLESS selects overlayfs's user.*
   xattrs.  UPPER NULL (WORK is then ignored): a read-only overlay of LOWERDIRS alone, which
   needs at least two of them; it may share them with another mount (husk export of a running
   container stacks its upper directory on top as a lower one, which overlayfs allows where
   a second mount of the same upper directory is refused).  */
int husk_mount_overlay (char *const *lowerdirs, const char *upper, const char *work,
                        const char *target, bool rootless, struct husk_error **err);

struct husk_container_spec;

/* Everything from the overlay on SPEC->rootfs to a process rooted in it: /proc, /sys read-only,
   a minimal /dev, pivot_root, SPEC's masked and read-only paths (OCI linux.maskedPaths and
   linux.readonlyPaths: exactly those the spec lists), then the volumes and tmpfs mounts.  Run
   in the container's mount namespace.  Errors name the path: "mask \"/proc/kcore\"", or
   "masked path \"proc\": not an absolute path".  */
int husk_setup_rootfs (const struct husk_container_spec *spec, struct husk_error **err);

/* --read-only: the container's "/" (only that mount) becomes read-only.  */
int husk_rootfs_readonly (struct husk_error **err);

/* "a,b:c" -> "a\,b\:c": overlayfs splits its option string on these.  */
char *husk_overlay_escape (const char *path);

#endif
