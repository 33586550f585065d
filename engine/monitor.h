/* The monitor of a detached container: starting it (monitor-start.c) and its loop
   (monitor.c).  Its command line is in monitor-args.h; stopping and killing from other
   commands in control.h.  */
#ifndef HUSK_MONITOR_H
#define HUSK_MONITOR_H

#include "error.h"
#include "monitor-args.h"
#include "record.h"

struct husk_store;

/* Fork C's monitor, which starts the container and outlives the caller; return once the
   container runs (or failed to start, with *ERR set).  ATTACH_FD, unless -1, is one end of a
   connected socket the monitor serves as its first attach client (husk start -a): it is
   closed here.  The monitor keeps none of S's descriptors or locks.  */
int husk_monitor_start (struct husk_store *s, struct husk_ctr *c, int attach_fd,
                        struct husk_error **err);

/* A monitor re-executed by itself (husk HUSK_MONITOR_ARG ..., monitor-args.h): main() hands
   it its ARGC and ARGV.  Does not return, except with -1 and *ERR when ARGV is not a command
   line this husk writes (another protocol version, a malformed argument).  */
int husk_monitor_exec_main (int argc, char **argv, struct husk_error **err);

#endif
