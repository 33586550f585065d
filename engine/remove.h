/* Removing containers, and what interrupted commands left in containers/.  */
#ifndef HUSK_REMOVE_H
#define HUSK_REMOVE_H

#include "error.h"
#include "userns.h"

struct husk_store;
struct husk_ctr;

/* Removing a container: its directory (renamed out of sight first) and its name.  */
struct husk_ctr_rm
{
  struct husk_store *store;
  const char *id;
  const char *name; /* Or NULL.  */
};
/* Call as root of the container's user namespace (the upper layer holds every mapped id).  */
int husk_ctr_remove_files (struct husk_ctr_rm *job, struct husk_error **err);
/* The same from outside, through a user namespace with the caller's map; also RUNDIR/ID.  */
int husk_ctr_remove (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err);
/* Container ID's directory and NAME (or NULL) from outside, through a user namespace with MAP
   (NULL: husk runs as root), for a container that has no record to load yet.  */
int husk_ctr_remove_id (struct husk_store *s, const char *id, const char *name,
                        const struct husk_idmap *map, struct husk_error **err);

/* Remove what interrupted commands left in containers/ (with the caller's id map M).  */
int husk_ctr_sweep (struct husk_store *s, const struct husk_idmap *map, struct husk_error **err);

#endif
