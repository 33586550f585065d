/* husk logs's reader: a container's log file (engine/logfile.h) printed back as the lines the
   container wrote, each to husk's stdout or stderr as it was written, as docker logs does.  */
#ifndef HUSK_LOGREAD_H
#define HUSK_LOGREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "record.h"

struct husk_logs_opts
{
  bool follow;     /* Keep printing while the container runs (docker logs -f).  */
  bool timestamps; /* The time of each line's first piece before it (RFC 3339, nanoseconds).  */
  bool has_tail;   /* Only the last TAIL lines of each stream's output together.  */
  uint64_t tail;
  bool has_since, has_until; /* Only lines whose first piece is at or after SINCE, before
                                UNTIL (CLOCK_REALTIME); with FOLLOW, stop at UNTIL.  */
  struct timespec since, until;
};

/* Print container C's output from its log file to file descriptors 1 (its stdout) and 2 (its
   stderr), as OPTS says; with OPTS->follow and C running, until the container stops (its
   monitor exits), its last output included.  A missing log file is no output.  A line of the
   file that is no entry (a torn write) is skipped.  Errors: opening, reading or watching the
   file, writing the output ("write to stdout: EPIPE"), loading C's record again.  */
int husk_logs_print (struct husk_store *store, const struct husk_ctr *c,
                     const struct husk_logs_opts *opts, struct husk_error **err);

#endif
