/* Acting on a running container from another command (stop, kill, rm -f, restart, wait):
   through its pid file's pid and start time, never by talking to its monitor.  */
#ifndef HUSK_CONTROL_H
#define HUSK_CONTROL_H

#include "error.h"
#include "record.h"

/* Send SIG to C's pid 1, if it is still the process the record names.  */
int husk_ctr_kill (const struct husk_ctr *c, int sig, struct husk_error **err);

/* Wait up to TIMEOUT_MS (-1: for ever) for C's monitor to finish.  Returns 1 when it has,
   0 on timeout.  */
int husk_ctr_wait_monitor (const struct husk_ctr *c, int timeout_ms, struct husk_error **err);

/* docker stop: signal SIG (1..64; the caller picks it: husk stop -s, else the record's
   stop_signal, else SIGTERM), then SIGKILL after TIMEOUT seconds (-1: never); returns once
   the monitor has recorded the exit.  */
int husk_ctr_stop (const struct husk_ctr *c, int sig, int timeout, struct husk_error **err);

#endif
