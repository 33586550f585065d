/* Signals sent to husk passed on to a container's first process (husk run in the foreground,
   husk exec): what docker run's --sig-proxy does by default.  */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "forward.h"
#include "banned.h"

static volatile sig_atomic_t forward_pid;
static volatile sig_atomic_t forward_caught;
/* Kill mode's handlers before begin, called on: set before the handlers are installed.  */
static struct sigaction kill_old[3];
static const int kill_signals[3] = { SIGINT, SIGTERM, SIGHUP };

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

static void
kill_signal (int sig)
{
  int saved = errno;

  forward_caught = sig;
  if (forward_pid > 0)
    kill ((pid_t) forward_pid, SIGKILL);
  for (size_t i = 0; i < 3; i++)
    if (kill_signals[i] == sig && !(kill_old[i].sa_flags & SA_SIGINFO)
        && kill_old[i].sa_handler != SIG_DFL && kill_old[i].sa_handler != SIG_IGN)
      kill_old[i].sa_handler (sig);
  errno = saved;
}

void
husk_forward_begin_kill (struct husk_forward *f)
{
  struct sigaction sa;

  husk_forward_begin (f);
  forward_caught = 0;
  for (size_t i = 0; i < 3; i++)
    for (size_t k = 0; k < HUSK_N_FORWARDED; k++)
      if (forwarded_signals[k] == kill_signals[i])
        kill_old[i] = f->old[k];
  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = kill_signal;
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < 3; i++)
    sigaddset (&sa.sa_mask, kill_signals[i]);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < 3; i++)
    sigaction (kill_signals[i], kill_old[i].sa_handler == SIG_IGN ? &kill_old[i] : &sa, NULL);
}

int
husk_forward_caught (void)
{
  return forward_caught;
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
