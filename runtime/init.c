#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"
#include "banned.h"

static void __attribute__ ((noreturn)) init_loop (pid_t child, const sigset_t *all)
{
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (all, &si);

      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          kill (child, sig);
          continue;
        }
      for (;;)
        {
          int status;
          pid_t p = waitpid (-1, &status, WNOHANG);
          if (p <= 0)
            break;
          if (p == child)
            /* The other processes die with the pid namespace when pid 1 exits.  */
            _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
        }
    }
}

pid_t
husk_init_fork (void)
{
  sigset_t all, old;
  pid_t child;

  /* pid 1 runs husk's code for the container's lifetime: non-dumpable, the container's
     processes cannot open /proc/1/exe or /proc/1/mem (the CVE-2019-5736 class), because the
     process's memory belongs to the user namespace husk was started in.  */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, &old);
  child = fork ();
  if (child < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return -1;
    }
  if (child == 0)
    {
      /* The command leads its own process group, in the foreground of the container's
         terminal when it has one: a Ctrl-C typed there reaches the command's group alone, and
         pid 1 passes on only what husk sends it, so nothing arrives twice.  SIGTTOU is still
         blocked here, which lets tcsetpgrp work from the background.  */
      setpgid (0, 0);
      if (isatty (STDIN_FILENO))
        tcsetpgrp (STDIN_FILENO, getpid ());
      sigprocmask (SIG_SETMASK, &old, NULL);
      return 0;
    }
  /* Nothing but the reaping loop: no descriptor of the container's stays open in pid 1.  */
  for (int fd = 0; fd < 3; fd++)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0 && null != fd)
        {
          dup3 (null, fd, 0);
          close (null);
        }
    }
  close_range (3, ~0U, 0);
  init_loop (child, &all);
}
