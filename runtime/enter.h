/* Work on a container's filesystem from outside it: in a child that sees its "/".  */
#ifndef HUSK_ENTER_H
#define HUSK_ENTER_H

#include <sys/types.h>

#include "container.h"
#include "error.h"

/* Run FN (ROOTFD, ARG) in a child process, ROOTFD an O_PATH descriptor of the container's
   "/"; FN's error comes back in *ERR.  With PIDFD >= 0 (the container runs; PIDFD a pidfd of
   its first process, taken with husk_proc_pidfd while the record named it) the child joins
   the container's user namespace (when SPEC->idmap) and mount namespace, so the overlay is
   never mounted twice and the container's own mounts are seen; if that process has exited by
   then, the error's errnum is ESRCH and FN has not run, so the caller may retry on the
   stopped container.  With PIDFD == -1 the child mounts SPEC's overlay on SPEC->rootfs in a mount
   namespace of its own, as root of a new user namespace with SPEC->idmap.  Either way the child is
   root there: files it creates belong to the container's root, and on the host to the
   caller.  It inherits the caller's descriptors, which is how it reaches host files.  */
int husk_rootfs_run (const struct husk_container_spec *spec, int pidfd,
                     int (*fn) (int rootfd, void *arg, struct husk_error **err), void *arg,
                     struct husk_error **err);

#endif
