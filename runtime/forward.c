/* Signals sent to husk passed on to a container's first process (husk run in the foreground,
   husk exec): what docker run's --sig-proxy does by default.  */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "forward.h"
#include "banned.h"

static volatile sig_atomic_t forward_pid;

static void
forward_signal (int sig)
{
  if (forward_pid > 0)
    kill ((pid_t) forward_pid, sig);
}

static const int forwarded_signals[HUSK_N_FORWARDED]
    = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

void
husk_forward_begin (struct husk_forward *f)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = forward_signal;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < HUSK_N_FORWARDED; i++)
    sigaction (forwarded_signals[i], &sa, &f->old[i]);
}

void
husk_forward_to (pid_t pid)
{
  forward_pid = pid;
}

void
husk_forward_end (struct husk_forward *f)
{
  forward_pid = 0;
  for (size_t i = 0; i < HUSK_N_FORWARDED; i++)
    sigaction (forwarded_signals[i], &f->old[i], NULL);
}

void
husk_forward_child_reset (void)
{
  for (size_t i = 0; i < HUSK_N_FORWARDED; i++)
    signal (forwarded_signals[i], SIG_DFL);
}
