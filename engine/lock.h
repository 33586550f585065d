/* Container locks.  */
#ifndef HUSK_LOCK_H
#define HUSK_LOCK_H

#include "error.h"

struct husk_store;
struct husk_ctr;

/* Lock container ID against other commands that change whether it runs (start, restart, rm,
   and cp into a stopped one, which mounts its overlay): a descriptor to close to unlock.
   *RET (may be NULL) gets the record as it is once locked.  */
int husk_ctr_lock (struct husk_store *s, const char *id, struct husk_ctr **ret,
                   struct husk_error **err);

#endif
