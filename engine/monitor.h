/* The monitor of a detached container.  */
#ifndef HUSK_MONITOR_H
#define HUSK_MONITOR_H

#include "error.h"
#include "record.h"

struct husk_store;

/* Fork C's monitor, which starts the container and outlives the caller; return once the
   container runs (or failed to start, with *ERR set).  ATTACH_FD, unless -1, is one end of a
   connected socket the monitor serves as its first attach client (husk start -a): it is
   closed here.  */
int husk_monitor_start (struct husk_store *s, struct husk_ctr *c, int attach_fd,
                        struct husk_error **err);

/* The hidden command line a monitor re-executes itself with (husk HUSK_MONITOR_ARG ...):
   main() hands it to husk_monitor_exec_main.  */
#define HUSK_MONITOR_ARG "__monitor"
int husk_monitor_exec_main (int argc, char **argv);

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
