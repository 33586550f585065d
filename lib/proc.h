/* Processes named by pid and start time, so that a reused pid is never mistaken for them.  */
#ifndef HUSK_PROC_H
#define HUSK_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat; 0 when PID does not exist.  */
uint64_t husk_proc_start_time (pid_t pid);
/* Whether PID is still the process that started at START.  */
bool husk_proc_alive (pid_t pid, uint64_t start);

/* A pidfd for PID if it is still the process that started at START (checked after opening,
   so a match stays true); -1 with errno ESRCH when it is gone.  */
int husk_proc_pidfd (pid_t pid, uint64_t start);

#endif
