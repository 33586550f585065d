/* A container's status, and the one place it changes.

     created --start--> running --exit--> exited --start--> running ...
     created --start failed--> exited   exited --start failed--> exited

   A container never goes back to "created", and a running one is never started again.  The
   transitions set the times state.json keeps (started_at, finished_at, RFC 3339 UTC with
   nanoseconds), the exit code and the error; the caller writes state.json
   (husk_ctr_save_state) and the pid file, which are not the state machine's business.  */
#ifndef HUSK_STATE_H
#define HUSK_STATE_H

#include <stdbool.h>

#include "error.h"
#include "record.h"

/* Whether FROM may become TO (the diagram above).  */
bool husk_ctr_transition_ok (enum husk_ctr_status from, enum husk_ctr_status to);

/* C starts running: status "running", started_at NOW (NULL: the current time), no
   finished_at, exit code 0, no error.  From "created" or "exited"; else -1 with *ERR
   "container ID: cannot go from running to running".  */
int husk_ctr_set_running (struct husk_ctr *c, const char *now, struct husk_error **err);

/* C has ended with EXIT_CODE (0..255, or 128+N for signal N), ERROR (or NULL) saying why
   when husk knows better than the code: status "exited", finished_at NOW (NULL: the current
   time); started_at is kept.  From "running" (it ran and exited), "created" or "exited" (a
   start that failed); else -1 with *ERR naming both states.  */
int husk_ctr_set_exited (struct husk_ctr *c, int exit_code, const char *error, const char *now,
                         struct husk_error **err);

#endif
