/* User namespaces: the id map of the calling user, and running work inside a namespace that
   has it.  The store is unpacked and every container runs under the same map, so an image file
   owned by uid N is owned by container uid N everywhere.  */
#ifndef HUSK_USERNS_H
#define HUSK_USERNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define HUSK_IDMAP_MAX 16

struct husk_idrange
{
  uint32_t container;
  uint32_t host;
  uint32_t size;
};

struct husk_idmap
{
  uid_t uid; /* The user on the host.  */
  gid_t gid;
  size_t n_uids, n_gids;
  struct husk_idrange uids[HUSK_IDMAP_MAX];
  struct husk_idrange gids[HUSK_IDMAP_MAX];
};

/* The map for the calling user: its own id as 0, then its /etc/subuid and /etc/subgid ranges
   (SUBUID and SUBGID name the files; NULL for the defaults).  */
int husk_idmap_for_user (uid_t uid, gid_t gid, const char *subuid, const char *subgid,
                         struct husk_idmap *ret, struct husk_error **err);

/* Whether the map has more than the user's own id.  */
bool husk_idmap_has_range (const struct husk_idmap *m);

/* Write the map of PID's user namespace: newuidmap/newgidmap when there are ranges, the
   kernel's single-id rule otherwise.  */
int husk_idmap_apply (const struct husk_idmap *m, pid_t pid, struct husk_error **err);

/* Run FN(ARG) as root of a new user namespace with map M, in a child; its error comes back.
   When M is NULL (husk runs as real root) FN runs in this process.  */
int husk_userns_run (const struct husk_idmap *m, int (*fn) (void *arg, struct husk_error **err),
                     void *arg, struct husk_error **err);

/* FN(ARG) in a forked child (killed if husk dies); its error comes back in *ERR.  */
int husk_child_run (int (*fn) (void *arg, struct husk_error **err), void *arg,
                    struct husk_error **err);

/* For a child between fork and exec: send ERR (or a plain failure) to FD.  */
void husk_child_report (int fd, int status, const struct husk_error *err);
/* Read what a child reported on FD until EOF; returns 1 with *ERR set when it reported.  */
int husk_child_collect (int fd, struct husk_error **err);

#endif
