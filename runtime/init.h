/* husk's own init (--init): pid 1 that reaps zombies, forwards signals to the main process and
   exits with its status.  */
#ifndef HUSK_INIT_H
#define HUSK_INIT_H

#include <signal.h>
#include <sys/types.h>

/* Fork the main process: returns 0 in it (its signal mask restored), and never returns in pid 1.
   Returns -1 when fork fails.  */
pid_t husk_init_fork (void);

#endif
