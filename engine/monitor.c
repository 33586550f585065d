/* The monitor's loop: a husk process per detached container that holds its stdio, writes its
   log, serves attach clients, reaps it and records how it ended.  Starting it is
   monitor-start.c.  */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "lock.h"
#include "logfile.h"
#include "monitor-loop.h"
#include "record.h"
#include "remove.h"
#include "rundir.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "banned.h"

void
husk_monitor_init (struct husk_monitor *m)
{
  memset (m, 0, sizeof (*m));
  m->dirfd = m->out = m->errfd = m->in = m->listen = -1;
}

static void
client_drop (struct husk_monitor *m, size_t i)
{
  close (m->clients[i].fd);
  m->clients[i] = m->clients[--m->n_clients];
}

void
husk_monitor_client_add (struct husk_monitor *m, int fd)
{
  struct timeval tv = { .tv_sec = 2 };

  if (m->n_clients == HUSK_MONITOR_MAX_CLIENTS)
    {
      close (fd);
      return;
    }
  /* A client that stops reading or writing mid-frame cannot stall the container's output
     for long.  */
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof (tv));
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
  m->clients[m->n_clients++] = (struct husk_monitor_client){ .fd = fd };
}

static void
broadcast (struct husk_monitor *m, int type, const char *buf, size_t len)
{
  for (size_t i = 0; i < m->n_clients;)
    {
      struct husk_monitor_client *c = &m->clients[i];
      if (c->hello && (c->flags & HUSK_ATTACH_WANT_OUTPUT)
          && husk_attach_send (c->fd, type, buf, len) < 0)
        {
          client_drop (m, i);
          continue;
        }
      i++;
    }
}

/* Container output on FD (stream 1 or 2): into the log and to attached clients.  Returns
   false at its end.  */
static bool
pump_output (struct husk_monitor *m, int fd, int stream)
{
  ssize_t n = read (fd, m->buf, HUSK_ATTACH_MAX_FRAME);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false; /* EOF, or EIO from a pty whose every slave is closed.  */
  husk_logw_write (m->log, stream, m->buf, (size_t) n, NULL);
  broadcast (m, stream == 2 ? HUSK_ATTACH_STDERR : HUSK_ATTACH_STDOUT, m->buf, (size_t) n);
  return true;
}

static void
close_stdin (struct husk_monitor *m)
{
  if (m->in < 0)
    return;
  if (m->ctr->spec.tty)
    {
      struct termios t;
      char eof = 4;
      if (tcgetattr (m->in, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
        eof = (char) t.c_cc[VEOF];
      husk_write_all (m->in, &eof, 1);
      return; /* The master is also the output: keep it.  */
    }
  close (m->in);
  m->in = -1;
}

void
husk_monitor_client_input (struct husk_monitor *m, size_t i)
{
  struct husk_monitor_client *c = &m->clients[i];
  int type;
  size_t len;
  int k = husk_attach_recv (c->fd, &type, m->buf, &len);

  if (k <= 0)
    {
      client_drop (m, i);
      return;
    }
  if (!c->hello)
    {
      unsigned char *b = (unsigned char *) m->buf;
      if (type != HUSK_ATTACH_HELLO || len != 4)
        {
          client_drop (m, i);
          return;
        }
      c->flags = ((unsigned) b[0] << 24) | ((unsigned) b[1] << 16) | ((unsigned) b[2] << 8) | b[3];
      c->hello = true;
      return;
    }
  if (!(c->flags & HUSK_ATTACH_WANT_STDIN))
    return;
  switch (type)
    {
    case HUSK_ATTACH_STDIN:
      if (m->in >= 0)
        husk_write_all (m->in, m->buf, len);
      break;
    case HUSK_ATTACH_CLOSE_STDIN:
      close_stdin (m);
      break;
    case HUSK_ATTACH_RESIZE:
      if (m->ctr->spec.tty && len == 4)
        {
          unsigned char *b = (unsigned char *) m->buf;
          struct winsize ws = { .ws_row = (unsigned short) ((b[0] << 8) | b[1]),
                                .ws_col = (unsigned short) ((b[2] << 8) | b[3]) };
          ioctl (m->out, TIOCSWINSZ, &ws);
        }
      break;
    default:
      break;
    }
}

static int
remove_after (void *arg, struct husk_error **err)
{
  return husk_ctr_remove_files (arg, err);
}

void
husk_monitor_record_exit (struct husk_monitor *m, int status, const char *error)
{
  struct husk_ctr *c = m->ctr;

  /* Every status may end as exited (a start that failed ends a created or exited one).  */
  husk_ctr_set_exited (c, status, error, NULL, NULL);
  husk_ctr_save_state_at (m->dirfd, c, NULL);
}

void
husk_monitor_loop (struct husk_monitor *m, pid_t pid, int userns)
{
  struct husk_ctr *c = m->ctr;
  /* The store is opened only at the end, to remove an --rm container: nothing of it is held
     while the container runs, so image removal never waits for a monitor.  */
  struct husk_ctr_rm rm_job = { .store = NULL, .id = c->id, .name = c->name };
  cleanup_error struct husk_error *rmerr = NULL;
  int pidfd, status = 0;
  bool out_open, err_open;

  prctl (PR_SET_NAME, "husk-monitor", 0, 0, 0);
  if (c->auto_remove)
    {
      c->spec.after_fn = remove_after;
      c->spec.after_arg = &rm_job;
      c->spec.after_err = &rmerr;
    }
  pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  out_open = m->out >= 0;
  err_open = m->errfd >= 0;
  for (bool exited = false; !exited || out_open || err_open;)
    {
      struct pollfd p[4 + HUSK_MONITOR_MAX_CLIENTS];
      size_t n = 0, base;
      int k;

      p[n++] = (struct pollfd){ .fd = exited ? -1 : pidfd, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = out_open ? m->out : -1, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = err_open ? m->errfd : -1, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = exited ? -1 : m->listen, .events = POLLIN };
      base = n;
      for (size_t i = 0; i < m->n_clients; i++)
        p[n++] = (struct pollfd){ .fd = m->clients[i].fd, .events = POLLIN };
      /* Once it has exited, only what it wrote is left: give that a moment, no more (a
         descriptor passed elsewhere could keep a pipe open).  */
      k = poll (p, n, exited ? 2000 : -1);
      if (k < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (k == 0)
        break;
      if (p[0].revents)
        exited = true;
      if (p[1].revents && !pump_output (m, m->out, 1))
        out_open = false;
      if (p[2].revents && !pump_output (m, m->errfd, 2))
        err_open = false;
      if (p[3].revents & POLLIN)
        {
          int fd = accept4 (m->listen, NULL, NULL, SOCK_CLOEXEC);
          if (fd >= 0)
            husk_monitor_client_add (m, fd);
        }
      /* Clients last, from the end: dropping one moves the last into its place.  */
      for (size_t i = n - base; i-- > 0;)
        if (p[base + i].revents && i < m->n_clients)
          husk_monitor_client_input (m, i);
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  status = husk_wait_status (status);
  husk_logw_flush (m->log, NULL);
  if (!c->auto_remove)
    husk_monitor_record_exit (m, status, NULL);
  {
    unsigned char b[4] = { (unsigned char) (status >> 24), (unsigned char) (status >> 16),
                           (unsigned char) (status >> 8), (unsigned char) status };
    for (size_t i = 0; i < m->n_clients; i++)
      if (m->clients[i].hello)
        husk_attach_send (m->clients[i].fd, HUSK_ATTACH_EXIT, b, sizeof (b));
  }
  close (m->listen);
  if (!c->auto_remove)
    husk_ctr_remove_rundir (c);
  else
    {
      /* Under the container's lock: a copy into it once it has stopped (husk cp) holds the
         same lock while its overlay is mounted, so the two never overlap.  The pid file goes
         only under the lock too: until then the record still reads as running, so that a
         start or restart waiting for the lock never finds it "exited" (its monitor gone) and
         starts it again while this monitor is about to remove it.  */
      cleanup_error struct husk_error *lerr = NULL;
      cleanup_store struct husk_store *s = NULL;
      cleanup_close int lock = -1;

      if (husk_store_open (m->root, &s, &lerr) == 0)
        lock = husk_ctr_lock (s, c->id, NULL, &lerr);
      /* Without the lock (removed meanwhile, or an I/O error) removing is still right: the
         files are this container's alone.  A restart asked to keep it.  */
      bool keep = husk_ctr_restart_take (lock);

      /* Kept, or a store that cannot be opened again: at least the exit is recorded, and
         container prune removes it later.  */
      if (keep || s == NULL)
        husk_monitor_record_exit (m, status, NULL);
      husk_ctr_remove_rundir (c);
      if (!keep && s)
        {
          rm_job.store = s;
          husk_logw_close (m->log);
          m->log = NULL;
          husk_container_after (&c->spec, userns, &rmerr);
        }
    }
  for (size_t i = 0; i < m->n_clients; i++)
    close (m->clients[i].fd);
  _exit (0);
}
