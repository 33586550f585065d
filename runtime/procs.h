/* The processes of a running container, as the host sees them: husk top.  */
#ifndef HUSK_PROCS_H
#define HUSK_PROCS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct husk_proc
{
  pid_t pid, ppid;      /* On the host.  */
  uid_t euid;           /* On the host.  */
  uint64_t start_ticks; /* Since boot, in clock ticks (/proc/PID/stat field 22).  */
  uint64_t cpu_ticks;   /* User and system time.  */
  unsigned tty_nr;      /* 0: none.  */
  char *cmd;            /* The command line, spaces between arguments; "[comm]" without one.  */
};

/* Every process in the PID namespace of PID, PID itself included, by pid.  Processes that
   exit meanwhile are left out.  */
int husk_procs_in_pidns (pid_t pid, struct husk_proc **ret, size_t *ret_n, struct husk_error **err);

void husk_procs_free (struct husk_proc *v, size_t n);

/* "pts/3", "tty1", or "?" for TTY_NR.  */
void husk_proc_tty_name (unsigned tty_nr, char *buf, size_t size);

#endif
