#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "relay.h"
#include "util.h"
#include "banned.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* FD moved above stdio (a caller that started with fd 0, 1 or 2 closed would otherwise get
   one of them from pipe2, and the dup2s in the child would overwrite each other).  */
static int
above_stdio (int *fd)
{
  int nfd;

  if (*fd > 2)
    return 0;
  nfd = fcntl (*fd, F_DUPFD_CLOEXEC, 3);
  if (nfd < 0)
    return -1;
  close (*fd);
  *fd = nfd;
  return 0;
}

int
husk_relay_open (struct husk_relay *r, bool interactive, struct husk_error **err)
{
  for (int i = 0; i < 3; i++)
    {
      int p[2];

      if (i == 0 && !interactive)
        continue;
      /* The one question asked on the fast path: isatty is one ioctl.  */
      if (!isatty (i))
        continue;
      if (pipe2 (p, O_CLOEXEC) < 0)
        goto fail;
      /* stdin: the container reads p[0]; stdout, stderr: it writes p[1].  */
      r->child[i] = i == 0 ? p[0] : p[1];
      r->mine[i] = i == 0 ? p[1] : p[0];
      if (above_stdio (&r->child[i]) < 0 || above_stdio (&r->mine[i]) < 0
          || fcntl (r->mine[i], F_SETFL, O_NONBLOCK) < 0)
        goto fail;
    }
  return 0;

fail:
  {
    int e = errno;
    husk_relay_close (r);
    return husk_error_set (err, e, "relay the terminal: pipe");
  }
}

bool
husk_relay_active (const struct husk_relay *r)
{
  return r->mine[0] >= 0 || r->mine[1] >= 0 || r->mine[2] >= 0;
}

void
husk_relay_close_child (struct husk_relay *r)
{
  for (int i = 0; i < 3; i++)
    close_fd (&r->child[i]);
}

void
husk_relay_close (struct husk_relay *r)
{
  for (int i = 0; i < 3; i++)
    {
      close_fd (&r->child[i]);
      close_fd (&r->mine[i]);
    }
}

int
husk_relay_child_stdio (const int stdio[3], struct husk_error **err)
{
  for (int i = 0; i < 3; i++)
    if (stdio[i] >= 0 && dup2 (stdio[i], i) < 0)
      return husk_error_set (err, errno, "set up stdio");
  return 0;
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Without pidfd_open (before Linux 5.3): ask without reaping.  */
static bool
has_exited (pid_t pid)
{
  siginfo_t si;

  memset (&si, 0, sizeof (si));
  if (waitid (P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
    return errno != EINTR; /* ECHILD: nothing left to wait for.  */
  return si.si_pid != 0;
}

/* One read from the container's output pipe FD, written to OUT.  False at its end.  */
static bool
pump (int fd, int out, bool *out_ok, char *buf, size_t size)
{
  ssize_t n = read (fd, buf, size);

  if (n < 0)
    return errno == EINTR || errno == EAGAIN;
  if (n == 0)
    return false;
  if (*out_ok && husk_write_all (out, buf, (size_t) n) < 0)
    *out_ok = false; /* The caller's terminal is gone: keep draining, drop the rest.  */
  return true;
}

int
husk_relay_run (struct husk_relay *r, pid_t pid, struct husk_error **err)
{
  struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe;
  cleanup_close int pidfd = -1;
  bool exited = false, in_eof = false, out_ok[3] = { true, true, true };
  char inbuf[4096], outbuf[16384];
  size_t in_len = 0, in_off = 0;
  int64_t deadline = 0;
  int ret = 0;

  pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  /* A write to a pipe the container closed fails with EPIPE instead of killing husk.  */
  sigaction (SIGPIPE, &ign, &oldpipe);

  while (!exited || r->mine[1] >= 0 || r->mine[2] >= 0)
    {
      struct pollfd p[5];
      int timeout = -1, k;

      if (exited)
        {
          int64_t left = deadline - now_ms ();
          if (left <= 0)
            break;
          timeout = (int) left;
        }
      else if (pidfd < 0)
        timeout = 50;
      p[0] = (struct pollfd){ .fd = exited ? -1 : pidfd, .events = POLLIN };
      /* The caller's stdin is read only when the last piece went out: a container that does
         not read leaves what the user typed in the terminal, not in husk.  */
      p[1] = (struct pollfd){ .fd = !exited && !in_eof && in_len == 0 && r->mine[0] >= 0
                                        ? STDIN_FILENO
                                        : -1,
                              .events = POLLIN };
      p[2] = (struct pollfd){ .fd = in_len > 0 ? r->mine[0] : -1, .events = POLLOUT };
      p[3] = (struct pollfd){ .fd = r->mine[1], .events = POLLIN };
      p[4] = (struct pollfd){ .fd = r->mine[2], .events = POLLIN };

      k = poll (p, 5, timeout);
      if (k < 0)
        {
          if (errno == EINTR)
            continue; /* A forwarded signal.  */
          ret = husk_error_set (err, errno, "relay the terminal: poll");
          break;
        }

      if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (STDIN_FILENO, inbuf, sizeof (inbuf));
          if (n > 0)
            {
              in_len = (size_t) n;
              in_off = 0;
            }
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            in_eof = true;
        }
      if (p[2].revents & (POLLOUT | POLLERR | POLLHUP))
        {
          ssize_t n = write (r->mine[0], inbuf + in_off, in_len - in_off);
          if (n > 0)
            {
              in_off += (size_t) n;
              if (in_off == in_len)
                in_len = in_off = 0;
            }
          else if (n < 0 && errno != EINTR && errno != EAGAIN)
            {
              /* EPIPE: the container closed its stdin; what is left is not wanted.  */
              in_len = in_off = 0;
              in_eof = true;
            }
        }
      /* The end of the caller's stdin, once what came before it went out, is the end of the
         container's.  */
      if (in_eof && in_len == 0)
        close_fd (&r->mine[0]);

      if (p[3].revents && !pump (r->mine[1], STDOUT_FILENO, &out_ok[1], outbuf, sizeof (outbuf)))
        close_fd (&r->mine[1]);
      if (p[4].revents && !pump (r->mine[2], STDERR_FILENO, &out_ok[2], outbuf, sizeof (outbuf)))
        close_fd (&r->mine[2]);

      if (!exited && (pidfd >= 0 ? (p[0].revents & POLLIN) != 0 : has_exited (pid)))
        {
          exited = true;
          deadline = now_ms () + HUSK_RELAY_DRAIN_MS;
          /* Nothing more reaches it: what the user types next is the shell's.  */
          close_fd (&r->mine[0]);
          in_len = in_off = 0;
        }
    }
  husk_relay_close (r);
  sigaction (SIGPIPE, &oldpipe, NULL);
  return ret;
}
