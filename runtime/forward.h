/* Passing on the signals sent to husk to a container's process.  */
#ifndef HUSK_FORWARD_H
#define HUSK_FORWARD_H

#include <signal.h>
#include <sys/types.h>

/* SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to husk go on to the process
   named by husk_forward_to, between begin and end (which restores the old handlers).  A child
   forked in between calls husk_forward_child_reset.  */
#define HUSK_N_FORWARDED 6
struct husk_forward
{
  struct sigaction old[HUSK_N_FORWARDED];
};
void husk_forward_begin (struct husk_forward *f);
void husk_forward_to (pid_t pid);
void husk_forward_end (struct husk_forward *f);
void husk_forward_child_reset (void);

/* Kill mode, for a container that an interrupt cancels (a build's RUN step): as
   husk_forward_begin, except that SIGINT, SIGTERM and SIGHUP send SIGKILL to the process
   named by husk_forward_to (none yet: nothing), are remembered (husk_forward_caught) and
   then go on to the handler that was in place before begin, when it is a function, so that
   the caller's own interrupt handling sees them too; one of the three that was ignored
   before begin stays ignored.  husk_forward_end leaves it.  */
void husk_forward_begin_kill (struct husk_forward *f);
/* The last of SIGINT, SIGTERM and SIGHUP that kill mode caught since it began, else 0.  */
int husk_forward_caught (void);

#endif
