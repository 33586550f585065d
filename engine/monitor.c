/* The monitor: a husk process per detached container that holds its stdio, writes its log,
   serves attach clients, reaps it and records how it ended.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "lock.h"
#include "logfile.h"
#include "monitor.h"
#include "proc.h"
#include "record.h"
#include "remove.h"
#include "rundir.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "banned.h"

#define MAX_CLIENTS 32

struct client
{
  int fd;
  unsigned flags;
  bool hello;
};

struct monitor
{
  struct husk_store *store;
  struct husk_ctr *ctr;
  struct husk_logw *log;
  int out, errfd, in; /* Our ends: container output (the pty master with -t), its stdin.  */
  int listen;
  struct client clients[MAX_CLIENTS];
  size_t n_clients;
  char *buf;
};

static void
client_drop (struct monitor *m, size_t i)
{
  close (m->clients[i].fd);
  m->clients[i] = m->clients[--m->n_clients];
}

static void
client_add (struct monitor *m, int fd)
{
  struct timeval tv = { .tv_sec = 2 };

  if (m->n_clients == MAX_CLIENTS)
    {
      close (fd);
      return;
    }
  /* A client that stops reading or writing mid-frame cannot stall the container's output
     for long.  */
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof (tv));
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv));
  m->clients[m->n_clients++] = (struct client){ .fd = fd };
}

static void
broadcast (struct monitor *m, int type, const char *buf, size_t len)
{
  for (size_t i = 0; i < m->n_clients;)
    {
      struct client *c = &m->clients[i];
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
pump_output (struct monitor *m, int fd, int stream)
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
close_stdin (struct monitor *m)
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

static void
client_input (struct monitor *m, size_t i)
{
  struct client *c = &m->clients[i];
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
listen_socket (const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *path = NULL;
  struct sockaddr_un sa;
  cleanup_close int fd = -1, dirfd = -1;

  if (husk_ctr_run_path (c, "attach.sock", &path, err) < 0
      || husk_unix_address (path, &sa, &dirfd, err) < 0)
    return -1;
  unlink (path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0 || listen (fd, 16) < 0)
    return husk_error_set (err, errno, "attach socket \"%s\"", path);
  return TAKE_FD (fd);
}

static int
remove_after (void *arg, struct husk_error **err)
{
  return husk_ctr_remove_files (arg, err);
}

static void
record_exit (struct monitor *m, int status, const char *error)
{
  struct husk_ctr *c = m->ctr;

  /* Every status may end as exited (a start that failed ends a created or exited one).  */
  husk_ctr_set_exited (c, status, error, NULL, NULL);
  husk_ctr_save_state (m->store, c, NULL);
}

/* Past this point the monitor only pumps output, serves clients and records the end.  */
static void __attribute__ ((noreturn))
monitor_loop (struct monitor *m, pid_t pid, int userns)
{
  struct husk_ctr *c = m->ctr;
  struct husk_ctr_rm rm_job = { .store = m->store, .id = c->id, .name = c->name };
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
      struct pollfd p[4 + MAX_CLIENTS];
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
            client_add (m, fd);
        }
      /* Clients last, from the end: dropping one moves the last into its place.  */
      for (size_t i = n - base; i-- > 0;)
        if (p[base + i].revents && i < m->n_clients)
          client_input (m, i);
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  status = husk_wait_status (status);
  husk_logw_flush (m->log, NULL);
  if (!c->auto_remove)
    record_exit (m, status, NULL);
  {
    unsigned char b[4] = { (unsigned char) (status >> 24), (unsigned char) (status >> 16),
                           (unsigned char) (status >> 8), (unsigned char) status };
    for (size_t i = 0; i < m->n_clients; i++)
      if (m->clients[i].hello)
        husk_attach_send (m->clients[i].fd, HUSK_ATTACH_EXIT, b, sizeof (b));
  }
  close (m->listen);
  husk_ctr_remove_rundir (c);
  if (c->auto_remove)
    {
      /* Under the container's lock: a copy into it once it has stopped (husk cp) holds the
         same lock while its overlay is mounted, so the two never overlap.  */
      cleanup_error struct husk_error *lerr = NULL;
      cleanup_close int lock = husk_ctr_lock (m->store, c->id, NULL, &lerr);

      /* Without the lock (removed meanwhile, or an I/O error) removing is still right: the
         files are this container's alone.  A restart asked to keep it.  */
      if (husk_ctr_restart_take (lock))
        record_exit (m, status, NULL);
      else
        {
          husk_logw_close (m->log);
          m->log = NULL;
          husk_container_after (&c->spec, userns, &rmerr);
        }
    }
  for (size_t i = 0; i < m->n_clients; i++)
    close (m->clients[i].fd);
  _exit (0);
}

static void
keep_on_exec (int fd)
{
  if (fd >= 0)
    fcntl (fd, F_SETFD, 0);
}

/* Replace the monitor's image with a fresh husk that runs only the loop: nothing of the
   command that started it (its heap, the compiled filter, parsed JSON) stays resident for
   the container's lifetime.  Returns only when the exec failed; the loop then runs here.  */
static void
monitor_exec (struct monitor *m, pid_t pid, int userns)
{
  const struct husk_ctr *c = m->ctr;
  char **argv = NULL;
  char num[32];

  if (getenv ("HUSK_MONITOR_NO_EXEC"))
    return;
#define ARG_INT(v)                                                                             \
  do                                                                                           \
    {                                                                                          \
      snprintf (num, sizeof (num), "%d", (int) (v));                                           \
      husk_strv_append (&argv, num);                                                           \
    }                                                                                          \
  while (0)
  husk_strv_append (&argv, "husk-monitor");
  husk_strv_append (&argv, HUSK_MONITOR_ARG);
  husk_strv_append (&argv, m->store->root);
  husk_strv_append (&argv, c->id);
  husk_strv_append (&argv, c->name ? c->name : "");
  husk_strv_append (&argv, c->started_at ? c->started_at : "");
  ARG_INT ((c->auto_remove ? 1 : 0) | (c->spec.tty ? 2 : 0) | (c->spec.idmap ? 4 : 0));
  ARG_INT (pid);
  ARG_INT (m->out);
  ARG_INT (m->errfd);
  ARG_INT (m->in);
  ARG_INT (m->listen);
  ARG_INT (userns);
  for (size_t i = 0; i < m->n_clients; i++)
    {
      ARG_INT (m->clients[i].fd);
      ARG_INT (m->clients[i].hello ? (int) m->clients[i].flags : -1);
    }
#undef ARG_INT
  keep_on_exec (m->out);
  keep_on_exec (m->errfd);
  keep_on_exec (m->in);
  keep_on_exec (m->listen);
  keep_on_exec (userns);
  for (size_t i = 0; i < m->n_clients; i++)
    keep_on_exec (m->clients[i].fd);
  husk_logw_close (m->log);
  m->log = NULL;
  execv ("/proc/self/exe", argv);
  /* Still here: go on in this image, with the log reopened.  */
  husk_strv_free (argv);
  {
    cleanup_free char *logpath = husk_ctr_log_path (m->store, c);
    husk_logw_open (logpath, &m->log, NULL);
  }
}

static int
arg_int (const char *s)
{
  return (int) strtol (s, NULL, 10);
}

int
husk_monitor_exec_main (int argc, char **argv)
{
  static struct husk_idmap some_map; /* Only tells husk_container_after there is a userns.  */
  struct husk_store *s = NULL;
  struct husk_ctr c;
  struct monitor m = { .ctr = &c, .out = -1, .errfd = -1, .in = -1, .listen = -1 };
  int flags, userns;
  pid_t pid;

  if (argc < 13)
    return 125;
  memset (&c, 0, sizeof (c));
  if (husk_store_open (argv[2], &s, NULL) < 0)
    return 125;
  m.store = s;
  snprintf (c.id, sizeof (c.id), "%s", argv[3]);
  c.name = argv[4][0] ? argv[4] : NULL;
  c.started_at = argv[5][0] ? husk_xstrdup (argv[5]) : NULL;
  flags = arg_int (argv[6]);
  c.auto_remove = flags & 1;
  c.spec.tty = flags & 2;
  c.spec.idmap = flags & 4 ? &some_map : NULL;
  pid = arg_int (argv[7]);
  m.out = arg_int (argv[8]);
  m.errfd = arg_int (argv[9]);
  m.in = arg_int (argv[10]);
  m.listen = arg_int (argv[11]);
  userns = arg_int (argv[12]);
  for (int i = 13; i + 1 < argc && m.n_clients < MAX_CLIENTS; i += 2)
    {
      int fl = arg_int (argv[i + 1]);
      m.clients[m.n_clients++] = (struct client){ .fd = arg_int (argv[i]),
                                                  .flags = fl < 0 ? 0 : (unsigned) fl,
                                                  .hello = fl >= 0 };
    }
  c.status = HUSK_CTR_RUNNING;
  m.buf = husk_xmalloc (HUSK_ATTACH_MAX_FRAME);
  {
    cleanup_free char *logpath = husk_ctr_log_path (s, &c);
    husk_logw_open (logpath, &m.log, NULL);
  }
  monitor_loop (&m, pid, userns);
}

/* The monitor's life after the fork.  READY gets an error report or is closed once the
   container runs.  */
static void __attribute__ ((noreturn))
monitor_main (struct husk_store *s, struct husk_ctr *c, int attach_fd, int ready)
{
  struct monitor m = { .store = s, .ctr = c, .out = -1, .errfd = -1, .in = -1, .listen = -1 };
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *logpath = husk_ctr_log_path (s, c);
  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
  int stdio[3] = { -1, -1, -1 };
  struct husk_container_proc proc;
  int null;
  char startup_error[512] = "";

  setsid ();
  {
    /* Whatever the caller had open (a test harness's pipes, a terminal) is not ours to
       hold for the container's lifetime.  */
    int keep[] = { ready, attach_fd, s->rootfd, s->lockfd, s->gclockfd };
    husk_close_fds_except (keep, sizeof (keep) / sizeof (keep[0]));
  }
  signal (SIGPIPE, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  /* Nothing of the caller's terminal stays open here.  */
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
    {
      husk_error_set (&err, errno, "monitor: open \"/dev/null\"");
      goto fail;
    }
  close (null);
  m.buf = husk_xmalloc (HUSK_ATTACH_MAX_FRAME);

  if (husk_logw_open (logpath, &m.log, &err) < 0)
    goto fail;
  if (!c->spec.tty)
    {
      if (pipe2 (outp, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0
          || (c->spec.interactive && pipe2 (inp, O_CLOEXEC) < 0))
        {
          husk_error_set (&err, errno, "monitor: pipe");
          goto fail;
        }
      stdio[0] = inp[0];
      stdio[1] = outp[1];
      stdio[2] = errp[1];
    }
  {
    /* RUNDIR/ID first: the socket lives there.  */
    c->pid = 0;
    c->monitor_pid = getpid ();
    c->monitor_start = husk_proc_start_time (c->monitor_pid);
    if (husk_ctr_write_pidfile (c, &err) < 0)
      goto fail;
  }
  m.listen = listen_socket (c, &err);
  if (m.listen < 0)
    goto fail;
  if (attach_fd >= 0)
    {
      /* Its hello is already waiting: read it now, so no early output misses it.  */
      client_add (&m, attach_fd);
      client_input (&m, 0);
    }

  if (c->auto_remove)
    {
      /* Only so that the spawn keeps the user namespace for the removal: the loop sets
         the real job.  */
      c->spec.after_fn = remove_after;
    }
  if (husk_container_spawn (&c->spec, stdio, &proc, &err) < 0)
    goto fail;
  if (outp[1] >= 0)
    close (outp[1]);
  if (errp[1] >= 0)
    close (errp[1]);
  if (inp[0] >= 0)
    close (inp[0]);
  if (c->spec.tty)
    {
      m.out = proc.master;
      if (c->spec.interactive)
        m.in = proc.master;
      {
        struct winsize ws = { .ws_row = 24, .ws_col = 80 };
        ioctl (m.out, TIOCSWINSZ, &ws);
      }
    }
  else
    {
      m.out = outp[0];
      m.errfd = errp[0];
      m.in = inp[1];
    }

  {
    c->pid = proc.pid;
    c->pid_start = husk_proc_start_time (proc.pid);
    if (husk_ctr_set_running (c, NULL, &err) < 0 || husk_ctr_write_pidfile (c, &err) < 0
        || husk_ctr_save_state (s, c, &err) < 0)
      {
        kill (proc.pid, SIGKILL);
        waitpid (proc.pid, NULL, 0);
        goto fail;
      }
  }
  close (ready);
  ready = -1;
  monitor_exec (&m, proc.pid, proc.userns);
  monitor_loop (&m, proc.pid, proc.userns);

fail:
  snprintf (startup_error, sizeof (startup_error), "%s", err ? err->msg : "failed to start");
  /* A container that could not start ends as exited, with the status Docker would give.  */
  record_exit (&m, husk_error_status (err, 125), startup_error);
  husk_ctr_remove_rundir (c);
  if (ready >= 0)
    husk_child_report (ready, husk_error_status (err, 125), err);
  _exit (husk_error_status (err, 125));
}

int
husk_monitor_start (struct husk_store *s, struct husk_ctr *c, int attach_fd,
                    struct husk_error **err)
{
  int ready[2];
  cleanup_close int ready_r = -1;
  pid_t pid;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  ready_r = ready[0];
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      close (ready[1]);
      return husk_error_set (err, errno, "start the container's monitor");
    }
  if (pid == 0)
    {
      close (ready[0]);
      monitor_main (s, c, attach_fd, ready[1]);
    }
  close (ready[1]);
  if (attach_fd >= 0)
    close (attach_fd);
  if (husk_child_collect (ready_r, err) > 0)
    {
      waitpid (pid, NULL, 0);
      return -1;
    }
  return 0;
}

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
