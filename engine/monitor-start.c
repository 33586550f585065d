/* Starting a detached container's monitor: the fork, the container's start inside it, and
   its re-execution into a fresh husk that runs only the loop (monitor.c), with the named
   arguments of monitor-args.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "logfile.h"
#include "monitor-args.h"
#include "monitor-loop.h"
#include "monitor.h"
#include "net.h"
#include "netns.h"
#include "proc.h"
#include "record.h"
#include "rundir.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "banned.h"

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
remove_placeholder (void *arg, struct husk_error **err)
{
  (void) arg;
  (void) err;
  return 0;
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
monitor_exec (struct husk_monitor *m, pid_t pid, int userns)
{
  const struct husk_ctr *c = m->ctr;
  struct husk_monitor_args a;
  char **argv;

  if (getenv ("HUSK_MONITOR_NO_EXEC"))
    return;
  husk_monitor_args_init (&a);
  a.store = m->root;
  a.id = c->id;
  a.name = c->name;
  a.started_at = c->started_at;
  a.auto_remove = c->auto_remove;
  a.tty = c->spec.tty;
  a.idmap = c->spec.idmap != NULL;
  a.pid = pid;
  a.dir_fd = m->dirfd;
  a.listen_fd = m->listen;
  a.out_fd = m->out;
  a.err_fd = m->errfd;
  a.in_fd = m->in;
  a.userns_fd = userns;
  a.n_clients = m->n_clients;
  memcpy (a.clients, m->clients, m->n_clients * sizeof (m->clients[0]));
  argv = husk_monitor_args_encode (&a);
  keep_on_exec (m->dirfd);
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
  husk_logw_open_at (m->dirfd, "ctr.log", &m->log, NULL);
}

int
husk_monitor_exec_main (int argc, char **argv, struct husk_error **err)
{
  static struct husk_idmap some_map; /* Only tells husk_container_after there is a userns.  */
  static struct husk_ctr c;
  struct husk_monitor m;
  struct husk_monitor_args a;

  if (husk_monitor_args_decode (argc, argv, &a, err) < 0)
    return -1;
  husk_monitor_init (&m);
  m.ctr = &c;
  m.root = a.store;
  m.dirfd = a.dir_fd;
  snprintf (c.id, sizeof (c.id), "%s", a.id);
  c.name = (char *) a.name;
  c.started_at = a.started_at ? husk_xstrdup (a.started_at) : NULL;
  c.auto_remove = a.auto_remove;
  c.spec.tty = a.tty;
  c.spec.idmap = a.idmap ? &some_map : NULL;
  m.out = a.out_fd;
  m.errfd = a.err_fd;
  m.in = a.in_fd;
  m.listen = a.listen_fd;
  m.n_clients = a.n_clients;
  memcpy (m.clients, a.clients, a.n_clients * sizeof (a.clients[0]));
  c.status = HUSK_CTR_RUNNING;
  m.buf = husk_xmalloc (HUSK_ATTACH_MAX_FRAME);
  husk_logw_open_at (m.dirfd, "ctr.log", &m.log, NULL);
  husk_monitor_loop (&m, a.pid, a.userns_fd);
}

/* The monitor's life after the fork.  READY gets an error report or is closed once the
   container runs.  S is the caller's store: only its root's name is used once the
   descriptors are closed.  */
static void __attribute__ ((noreturn))
monitor_main (struct husk_store *s, struct husk_ctr *c, int attach_fd, int ready)
{
  struct husk_monitor m;
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *logpath = husk_ctr_log_path (s, c);
  cleanup_free char *dir = husk_strdup_printf ("containers/%s", c->id);
  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
  int stdio[3] = { -1, -1, -1 };
  struct husk_container_proc proc;
  int null, dir_errno;
  char startup_error[512] = "";

  husk_monitor_init (&m);
  /* The re-executed monitor takes the store by an absolute path (monitor-args.h): a relative
     --root is made one here, before anything changes directory.  */
  m.root = husk_store_root (s);
  if (m.root[0] != '/')
    {
      char *abs = realpath (m.root, NULL);
      if (abs)
        m.root = abs; /* The monitor's until it exits.  */
    }
  m.ctr = c;
  setsid ();
  /* The user's network namespace is kept up for as long as this monitor runs, no longer for
     as long as the command that started it.  */
  if (c->network == HUSK_NETWORK_BRIDGE && husk_netns_claim (s, c->id, &err) < 0)
    {
      m.dirfd = -1;
      husk_error_wrap (&err, "network");
      goto fail;
    }
  m.dirfd = openat (husk_store_rootfd (s), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  dir_errno = errno;
  {
    /* Whatever the caller had open (a test harness's pipes, a terminal, the store and its
       locks) is not ours to hold for the container's lifetime: only its own directory is.  */
    int keep[] = { ready, attach_fd, m.dirfd, c->net_maker > 0 ? c->net_hold : -1 };
    husk_close_fds_except (keep, sizeof (keep) / sizeof (keep[0]));
  }
  s = NULL;
  if (m.dirfd < 0)
    {
      husk_error_set (&err, dir_errno, "monitor: open \"%s\"", dir);
      goto fail;
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
      husk_monitor_client_add (&m, attach_fd);
      husk_monitor_client_input (&m, 0);
    }

  if (c->auto_remove)
    {
      /* Only so that the spawn keeps the user namespace for the removal: the loop sets
         the real job.  */
      c->spec.after_fn = remove_placeholder;
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

  c->pid = proc.pid;
  c->pid_start = husk_proc_start_time (proc.pid);
  if (husk_ctr_set_running (c, NULL, &err) < 0 || husk_ctr_write_pidfile (c, &err) < 0
      || husk_ctr_save_state_at (m.dirfd, c, &err) < 0)
    {
      kill (proc.pid, SIGKILL);
      waitpid (proc.pid, NULL, 0);
      goto fail;
    }
  close (ready);
  ready = -1;
  monitor_exec (&m, proc.pid, proc.userns);
  husk_monitor_loop (&m, proc.pid, proc.userns);

fail:
  snprintf (startup_error, sizeof (startup_error), "%s", err ? err->msg : "failed to start");
  /* A container that could not start ends as exited, with the status Docker would give.  */
  husk_monitor_record_exit (&m, husk_error_status (err, 125), startup_error);
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

  /* A second monitor would take over the first's pid file and socket, and run the container
     twice on one upper directory.  */
  if (!husk_ctr_transition_ok (c->status, HUSK_CTR_RUNNING))
    return husk_error_set (err, 0, "container %.12s is already running", c->id);
  if (husk_net_prepare (s, c, err) < 0)
    return -1;
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
      husk_net_bridge_release (c);
      waitpid (pid, NULL, 0);
      return -1;
    }
  /* The monitor's copy is what keeps the container's network namespace's helper now.  */
  husk_net_bridge_release (c);
  return 0;
}
