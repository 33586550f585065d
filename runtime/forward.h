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

#endif
