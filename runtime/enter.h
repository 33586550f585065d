/* Work on a container's filesystem from outside it: in a child that sees its "/".  */
#ifndef HUSK_ENTER_H
#define HUSK_ENTER_H

#include <sys/types.h>

#include "container.h"
#include "error.h"

/* Run FN (ROOTFD, ARG) in a child process, ROOTFD an O_PATH descriptor of the container's
   "/"; FN's error comes back in *ERR.  With PID > 0 (the container runs, PID its first
   process on the host) the child joins the container's user namespace (when SPEC->idmap) and
   mount namespace, so the overlay is never mounted twice and the container's own mounts are
   seen.  With PID == 0 the child mounts SPEC's overlay on SPEC->rootfs in a mount namespace
   of its own, as root of a new user namespace with SPEC->idmap.  Either way the child is
   root there: files it creates belong to the container's root, and on the host to the
   caller.  It inherits the caller's descriptors, which is how it reaches host files.  */
int husk_rootfs_run (const struct husk_container_spec *spec, pid_t pid,
                     int (*fn) (int rootfd, void *arg, struct husk_error **err), void *arg,
                     struct husk_error **err);

#endif
