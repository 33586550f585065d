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

/* The process title: what ps shows for a process of husk's that outlives the command that
   forked it (the network namespace's keeper and holder, a port forwarder, a pasta watcher),
   which would otherwise show that command's line.  husk_proc_title_init records main's ARGV
   (ARGC strings, contiguous in memory as the kernel lays them out); husk_proc_set_title then
   writes TITLE over them (cut to their length, the rest zeroed: /proc/PID/cmdline) and sets the
   thread's name (prctl PR_SET_NAME, 15 bytes: ps -o comm).  Nothing happens before init.  */
void husk_proc_title_init (int argc, char **argv);
void husk_proc_set_title (const char *title);

#endif
