/* A build cancelled by SIGINT, SIGTERM or SIGHUP (a Ctrl-C, a kill, a closed terminal): the
   signal is remembered, a RUN step's container is killed (runtime/forward.h's kill mode,
   which calls the handler here too), the parallel stages' children are sent the same signal
   (they inherited its handling), and the build fails at the next step with "interrupted", as
   any failed step does: its container removed, no image recorded, the cache entries of the
   steps that completed kept.  A SIGHUP that husk started with ignored (nohup) stays ignored.
   docker build, cancelled, fails the same way (status 1).  */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "build-internal.h"
#include "banned.h"

static const int interrupt_signals[BLD_N_INTERRUPT] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t caught;
/* prebuild_parallel's children still running (0: a slot whose child was reaped).  */
static volatile pid_t *workers;
static volatile sig_atomic_t n_workers;

static void
on_interrupt (int sig)
{
  int saved = errno;

  caught = sig;
  for (sig_atomic_t i = 0; i < n_workers; i++)
    if (workers[i] > 0)
      kill (workers[i], sig);
  errno = saved;
}

void
bld_interrupt_begin (struct bld_interrupt *saved)
{
  struct sigaction sa;

  caught = 0;
  n_workers = 0;
  workers = NULL;
  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = on_interrupt;
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < BLD_N_INTERRUPT; i++)
    sigaddset (&sa.sa_mask, interrupt_signals[i]);
  sa.sa_flags = SA_RESTART;
  /* A SIGHUP ignored from the start stays so: nohup's.  SIGINT and SIGTERM are caught even
     then (a background job of a shell without job control starts with SIGINT ignored), as
     docker's and podman's builds catch them, and as husk run passes them on.  */
  for (size_t i = 0; i < BLD_N_INTERRUPT; i++)
    if (sigaction (interrupt_signals[i], NULL, &saved->old[i]) == 0
        && (interrupt_signals[i] != SIGHUP || saved->old[i].sa_handler != SIG_IGN))
      sigaction (interrupt_signals[i], &sa, NULL);
}

void
bld_interrupt_end (const struct bld_interrupt *saved)
{
  n_workers = 0;
  workers = NULL;
  for (size_t i = 0; i < BLD_N_INTERRUPT; i++)
    sigaction (interrupt_signals[i], &saved->old[i], NULL);
}

int
bld_interrupted (void)
{
  return caught;
}

int
bld_interrupt_check (struct husk_error **err)
{
  int sig = caught;

  if (sig == 0)
    return 0;
  return husk_error_set (err, 0, "interrupted by %s",
                         sig == SIGINT    ? "SIGINT"
                         : sig == SIGTERM ? "SIGTERM"
                                          : "SIGHUP");
}

void
bld_interrupt_block (sigset_t *ret_old)
{
  sigset_t set;

  sigemptyset (&set);
  for (size_t i = 0; i < BLD_N_INTERRUPT; i++)
    sigaddset (&set, interrupt_signals[i]);
  sigprocmask (SIG_BLOCK, &set, ret_old);
}

void
bld_interrupt_unblock (const sigset_t *old)
{
  sigprocmask (SIG_SETMASK, old, NULL);
}

void
bld_interrupt_workers (volatile pid_t *pids, size_t n)
{
  n_workers = 0;
  workers = pids;
  n_workers = (sig_atomic_t) n;
}
