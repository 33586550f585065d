/* The run directory: RUNDIR/ID/ of a running container (its pid file, its attach socket).
   RUNDIR is $XDG_RUNTIME_DIR/husk, /run/husk for root, else /tmp/husk-run-UID.  */
#ifndef HUSK_RUNDIR_H
#define HUSK_RUNDIR_H

#include <stdbool.h>
#include "error.h"

struct husk_ctr;

/* RUNDIR, created 0700 when missing (and checked to be the caller's own).  */
int husk_rundir (char **ret, struct husk_error **err);

/* "RUNDIR/ID/NAME".  */
int husk_ctr_run_path (const struct husk_ctr *c, const char *name, char **ret,
                       struct husk_error **err);

/* RUNDIR/ID/pid from C's pid, monitor_pid and their start times (RUNDIR/ID created).  */
int husk_ctr_write_pidfile (const struct husk_ctr *c, struct husk_error **err);
/* RUNDIR/ID/pid's NUL-terminated BUF into C: false when it does not hold four numbers.  */
bool husk_ctr_parse_pidfile (struct husk_ctr *c, const char *buf);
/* The same, read from RUNDIR/ID/pid.  */
bool husk_ctr_read_pidfile (struct husk_ctr *c);
/* Remove RUNDIR/ID and, as root, the container's device cgroup (runtime/devices.h).  */
void husk_ctr_remove_rundir (const struct husk_ctr *c);

#endif
