/* husk's own binary as the processes that enter a container see it (CVE-2019-5736).  */
#ifndef HUSK_SELFEXE_H
#define HUSK_SELFEXE_H

#include "error.h"

/* Make sure this process runs from a sealed in-memory copy of its binary, so that
   /proc/PID/exe of every process it forks into a container names that copy and never the
   binary on the host's disk: a container that execs "/proc/self/exe" through a "#!" line, or
   ptraces a process of husk's and opens its /proc/PID/exe, reaches a memfd that is sealed
   against writing, growing and shrinking (memfd_create(2), fcntl(2) F_ADD_SEALS), and cannot
   rewrite husk for later users.  This is how runc and crun close CVE-2019-5736.

   When the running binary is such a copy already, returns 0 at once.  Otherwise copies
   /proc/self/exe into a memfd, seals it and re-executes it with ARGV and the current
   environment; the new image records the binary's path in HUSK_SELF_EXE_ENV first (read with
   husk_self_exe_path).  Returns only on failure, with the errno of the step that failed.  */
int husk_self_exe_seal (char **argv, struct husk_error **err);

/* The path of husk's binary on disk: the one a sealed copy was made from, else
   /proc/self/exe's target.  Returns a new string or NULL (errno set).  */
char *husk_self_exe_path (void);

/* Called first in main: takes (and removes from the environment) the path a sealed copy was
   made from, so that it reaches neither containers nor the programs husk runs.  */
void husk_self_exe_init (void);

#define HUSK_SELF_EXE_ENV "_HUSK_SEALED_FROM"

#endif
