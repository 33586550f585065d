/* Container locks.  */
#ifndef HUSK_LOCK_H
#define HUSK_LOCK_H

#include <stdbool.h>

#include "error.h"

struct husk_store;
struct husk_ctr;

/* Lock container ID against other commands that change whether it runs (start, restart, rm,
   and cp into a stopped one, which mounts its overlay): a descriptor to close to unlock.
   *RET (may be NULL) gets the record as it is once locked.  */
int husk_ctr_lock (struct husk_store *s, const char *id, struct husk_ctr **ret,
                   struct husk_error **err);

/* A restart of a running --rm container: under LOCK (from husk_ctr_lock), mark it so that its
   monitor, which decides under the same lock, records the exit instead of removing it.  The
   mark (containers/ID/restarting) names the restarting process by pid and start time.
   husk_ctr_restart_mark: 0, or -1 with *ERR ("container ID: mark for restart").
   husk_ctr_restart_take: whether a mark was there and its restart still runs (a killed
   restart's mark counts for nothing); the mark is gone afterwards either way.  LOCK may be -1
   (false).  */
int husk_ctr_restart_mark (int lock, const char *id, struct husk_error **err);
bool husk_ctr_restart_take (int lock);

#endif
