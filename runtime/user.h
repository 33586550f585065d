/* USER[:GROUP] as Docker reads it, resolved against the container's own /etc/passwd and
   /etc/group (run after pivot_root, never through the host's NSS).  */
#ifndef HUSK_USER_H
#define HUSK_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define HUSK_USER_MAX_GROUPS 64

struct husk_user
{
  uid_t uid;
  gid_t gid;
  size_t n_groups; /* Supplementary groups, from /etc/group.  */
  gid_t groups[HUSK_USER_MAX_GROUPS];
  char home[256]; /* From passwd; "/" when the user has no entry.  */
};

/* Resolve SPEC ("name", "1000", "name:group", "1000:1000"; NULL or "" is root) with the
   container's /etc/passwd and /etc/group, resolved inside ROOTFD (an O_PATH descriptor of the
   container's "/": symlinks stay inside it, magic links are refused).  Each file is read only
   when it is a regular file of at most 16 MiB, without blocking; a missing file counts as
   empty.  Errors: no such user or group, or the file could not be read (its errno; 0 with
   "not a regular file" for a FIFO, device or socket).  */
int husk_user_resolve (const char *spec, int rootfd, struct husk_user *ret,
                       struct husk_error **err);

#endif
