/* Acting on a running container from another command: see control.h.  */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "control.h"
#include "proc.h"
#include "record.h"
#include "banned.h"

int
husk_ctr_kill (const struct husk_ctr *c, int sig, struct husk_error **err)
{
  cleanup_close int fd = -1;

  if (c->status != HUSK_CTR_RUNNING || (fd = husk_proc_pidfd (c->pid, c->pid_start)) < 0)
    return husk_error_set (err, 0, "container %.12s is not running", c->id);
  if (syscall (SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
    return husk_error_set (err, errno, "container %.12s: send signal %d", c->id, sig);
  return 0;
}

int
husk_ctr_wait_monitor (const struct husk_ctr *c, int timeout_ms, struct husk_error **err)
{
  cleanup_close int fd = husk_proc_pidfd (c->monitor_pid, c->monitor_start);
  struct pollfd p;
  int r;

  if (fd < 0)
    return 1;
  p = (struct pollfd){ .fd = fd, .events = POLLIN };
  while ((r = poll (&p, 1, timeout_ms)) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "container %.12s: wait", c->id);
  if (r > 0)
    return 1;
  /* A monitor that has exited but not been reaped (our own child) is a zombie: done too.  */
  return husk_proc_start_time (c->monitor_pid) != c->monitor_start ? 1 : 0;
}

int
husk_ctr_stop (const struct husk_ctr *c, int sig, int timeout, struct husk_error **err)
{
  cleanup_error struct husk_error *e = NULL;
  int r;

  if (c->status != HUSK_CTR_RUNNING)
    return 0;
  if (husk_ctr_kill (c, sig, &e) == 0)
    {
      r = husk_ctr_wait_monitor (c, timeout < 0 ? -1 : timeout * 1000, err);
      if (r != 0)
        return r < 0 ? -1 : 0;
      husk_ctr_kill (c, SIGKILL, NULL);
    }
  r = husk_ctr_wait_monitor (c, 30000, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return husk_error_set (err, 0, "container %.12s: did not stop after SIGKILL", c->id);
  return 0;
}
