/* Signal names and numbers, as the docker and podman command lines take them.  */
#ifndef HUSK_SIGNAME_H
#define HUSK_SIGNAME_H

#include <stddef.h>

#include "error.h"

/* The real-time signals by docker's numbering on Linux (moby/sys signal_linux.go, podman's
   pkg/signal): SIGRTMIN is 34, not the kernel's 32, because glibc keeps 32 and 33 for its
   threads and its own SIGRTMIN is 34.  SIGRTMAX is 64.  */
#define HUSK_SIGRTMIN 34
#define HUSK_SIGRTMAX 64

/* The signal SPEC names, as docker's ParseSignal reads it: a decimal number from 1 to 64, or a
   name with or without "SIG" in any case ("SIGTERM", "term", "SigUsr1"), including "RTMIN",
   "RTMIN+N" (34+N) and "RTMAX-N" (64-N) for every N that stays within 34..64 (docker stops at
   RTMIN+15 and RTMAX-14; the rest are the same numbers, as bash's kill takes them).  Returns
   the number (1..64), or -1 with *ERR set to 'signal "SPEC": unknown (...)'.  */
int husk_signal_parse (const char *spec, struct husk_error **err);

#endif
