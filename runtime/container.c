#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "caps.h"
#include "hooks.h"
#include "init.h"
#include "mounts.h"
#include "namespaces.h"
#include "network.h"
#include "relay.h"
#include "safepath.h"
#include "seccomp-filter.h"
#include "tty.h"
#include "user.h"
#include "util.h"
#include "banned.h"

extern char **environ;

struct child_ctx
{
  const struct husk_container_spec *spec;
  const struct husk_seccomp_prog *seccomp; /* NULL: unconfined.  */
  int go, report, ttysock;
  int ready;          /* With a start gate: one byte once set up and waiting; else -1.  */
  int stdio[3];       /* -1: keep husk's.  */
  bool late_cgroupns; /* Its cgroup namespace once the parent has placed it (devices,
                         resources).  */
};

/* Become USER: groups first, while still allowed to set them.  */
static int
switch_user (const struct husk_container_spec *spec, const struct husk_user *u,
             struct husk_error **err)
{
  const char *name = spec->user && *spec->user ? spec->user : "root";

  if (setgroups (u->n_groups, u->groups) < 0)
    {
      /* A single-id namespace denies setgroups; with no groups to set that is no loss.  */
      if (!(errno == EPERM && u->n_groups == 0))
        return husk_error_set (err, errno, "user \"%s\": set supplementary groups%s", name,
                               errno == EPERM ? " (no subordinate gid range)" : "");
    }
  if (setresgid (u->gid, u->gid, u->gid) < 0)
    return husk_error_set (
        err, errno == EINVAL ? 0 : errno, "user \"%s\": gid %u%s", name, (unsigned) u->gid,
        errno == EINVAL ? " is not mapped in the container's user namespace" : "");
  if (setresuid (u->uid, u->uid, u->uid) < 0)
    return husk_error_set (
        err, errno == EINVAL ? 0 : errno, "user \"%s\": uid %u%s", name, (unsigned) u->uid,
        errno == EINVAL ? " is not mapped in the container's user namespace" : "");
  return 0;
}

int
husk_container_become_root (struct husk_error **err)
{
  if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    return husk_error_set (err, errno, "become root in the user namespace");
  /* Denied in a single-id namespace; otherwise the host's groups must not come along.  */
  if (setgroups (0, NULL) < 0 && errno != EPERM)
    return husk_error_set (err, errno, "setgroups");
  return 0;
}

int
husk_process_prepare (const struct husk_container_spec *spec, int rootfd,
                      struct husk_process_prep *ret, struct husk_error **err)
{
  char **env = NULL;

  if (husk_user_resolve (spec->user, rootfd, &ret->user, err) < 0)
    return -1;
  for (size_t i = 0; spec->env && spec->env[i]; i++)
    husk_strv_append (&env, spec->env[i]);
  if (!husk_env_has (env, "HOME"))
    {
      cleanup_free char *home = husk_strdup_printf ("HOME=%s", ret->user.home);
      husk_strv_append (&env, home);
    }
  if (env == NULL)
    env = husk_xcalloc (1, sizeof (char *));
  ret->env = env;
  return 0;
}

void
husk_process_prep_clear (struct husk_process_prep *prep)
{
  husk_strv_free (prep->env);
  prep->env = NULL;
}

int
husk_process_drop_privileges (const struct husk_container_spec *spec, const struct husk_user *user,
                              const struct husk_seccomp_prog *seccomp, struct husk_error **err)
{
  for (size_t i = 0; i < spec->n_rlimits; i++)
    {
      struct rlimit rl = { .rlim_cur = spec->rlimits[i].soft, .rlim_max = spec->rlimits[i].hard };
      if (setrlimit (spec->rlimits[i].resource, &rl) < 0)
        return husk_error_set (err, errno, "ulimit %d: set to %llu:%llu", spec->rlimits[i].resource,
                               (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max);
    }

  /* The bounding set needs CAP_SETPCAP, and a filter loaded without no_new_privs needs
     CAP_SYS_ADMIN: both before the user switch drops them.  */
  if (husk_caps_bound (spec->caps, err) < 0)
    return -1;
  if (seccomp && !spec->no_new_privs && husk_seccomp_load (seccomp, err) < 0)
    return -1;
  if (switch_user (spec, user, err) < 0 || husk_caps_set (spec->caps, user->uid == 0, err) < 0)
    return -1;
  if (spec->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return husk_error_set (err, errno, "set no_new_privs");
  if (seccomp && spec->no_new_privs && husk_seccomp_load (seccomp, err) < 0)
    return -1;
  return 0;
}

int
husk_chdir_in_root (const char *cwd, bool create, struct husk_error **err)
{
  cleanup_close int rootfd = -1, fd = -1;
  char buf[4096];

  if (cwd == NULL || *cwd == '\0')
    cwd = "/";
  if (*cwd != '/')
    return husk_error_set (err, 0, "working directory \"%s\": not an absolute path", cwd);
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return husk_error_set (err, errno, "working directory: open \"/\"");
  /* Resolved as the container sees its tree: symlinks stay below "/", and a magic link
     (/proc/self/fd/N, /proc/self/cwd, /proc/self/root) is refused, never followed to whatever
     a descriptor points at (CVE-2024-21626).  */
  fd = husk_open_in_root (rootfd, cwd, O_PATH | O_DIRECTORY, 0, HUSK_RESOLVE_IN_ROOT);
  if (fd == -ENOENT && create)
    {
      int d = husk_mkdirs_in_root (rootfd, cwd, 0755, HUSK_RESOLVE_IN_ROOT);
      if (d >= 0)
        close (d);
      fd = d < 0 ? d
                 : husk_open_in_root (rootfd, cwd, O_PATH | O_DIRECTORY, 0, HUSK_RESOLVE_IN_ROOT);
    }
  if (fd < 0)
    {
      if (fd == -ELOOP || fd == -EXDEV)
        return husk_error_set (err, 0,
                               "working directory \"%s\": refused: it resolves "
                               "through a magic link (/proc/*/fd, cwd, root) or a "
                               "symlink loop",
                               cwd);
      return husk_error_set (err, -fd, "working directory \"%s\"", cwd);
    }
  if (fchdir (fd) < 0)
    return husk_error_set (err, errno, "working directory \"%s\"", cwd);
  /* Whatever the path went through, the result must be below the container's root: the
     kernel names a directory outside it "(unreachable)", which getcwd reports as ENOENT.  */
  if (getcwd (buf, sizeof (buf)) == NULL ? errno != ERANGE : buf[0] != '/')
    return husk_error_set (err, 0, "working directory \"%s\": outside the container's root", cwd);
  return 0;
}

void
husk_process_exec (const struct husk_container_spec *spec, char **env, int report, int fail_status)
{
  struct husk_error *err = NULL;
  const char *argv0 = spec->args[0];
  int status = fail_status;

  environ = env;
  /* Again for husk exec, whose process comes here without passing container_child.  */
  umask (HUSK_PROCESS_UMASK);
  /* Nothing of husk's reaches the container: every descriptor above stdio closes on exec.  */
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 3; fd < 1024; fd++)
      fcntl (fd, F_SETFD, FD_CLOEXEC);

  execvp (argv0, spec->args);

  if (errno == ENOENT && strchr (argv0, '/') == NULL)
    {
      status = 127;
      husk_error_set (&err, 0, "exec \"%s\": executable file not found in $PATH", argv0);
    }
  else if (errno == ENOENT)
    {
      status = 127;
      husk_error_set (&err, 0, "exec \"%s\": no such file or directory", argv0);
    }
  else
    {
      status = 126;
      husk_error_set (&err, errno, "exec \"%s\"", argv0);
    }
  husk_child_report (report, husk_error_status (err, status), err);
  _exit (husk_error_status (err, status));
}

/* The start gate (container.h: start_fifo, husk_container_start_gate).  The container's
   process opens the caller's FIFO read-write while it still sees the host's tree (before
   pivot_root), does all of its set-up, looks its command up, says it is ready and blocks in
   read until a start writes one byte.  Read-write, because a FIFO opened only for reading
   reads end-of-file at once while no writer is there; Linux opens a FIFO read-write without
   waiting for a peer (fifo(7)).  And because the waiting process is the FIFO's only reader,
   a start can tell whether anyone waits: its O_WRONLY | O_NONBLOCK open fails with ENXIO
   when no process holds it, which is how a container that died while created is told from
   one waiting.  runc has the same two steps around its exec.fifo, with the roles the other
   way round (its process blocks opening the FIFO for writing).

   It is the one descriptor of the host's tree the process keeps through pivot_root, and it
   reaches nothing else there: a FIFO is no directory, so no *at call, openat2 or fchdir
   walks from it, and reopening it through /proc/self/fd gives the same FIFO and no path
   around it (the CVE-2024-21626 class needs a directory).  At worst a process that reached
   it could open the gate early.  It is closed after the wait, before husk's init forks and
   before exec, and is O_CLOEXEC besides: the command never holds it.

   The wait comes after the seccomp filter is loaded, right before exec: the process that
   waits, perhaps for a long time, is exactly as confined as the command it becomes, so a
   process joining the created container gets nothing by reaching it.  The price is that the
   filter must allow read and close, which Docker's default profile does and any profile
   that lets a dynamically linked program start must.  The FIFO is opened long before the
   filter, so open is not needed after it.  */

/* In the child, as root of its user namespace, before pivot_root: the gate, at fd 3 or
   above (stdio is installed over 0-2 later), blocking for reads.  */
static int
gate_open (const char *fifo, struct husk_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;
  int flags, moved;

  if (fifo[0] != '/')
    return husk_error_set (err, 0, "start gate \"%s\": not an absolute path", fifo);
  /* O_NONBLOCK for the open only: a path that is not a FIFO never blocks it.  */
  fd = open (fifo, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_set (err, errno, "start gate \"%s\"", fifo);
  if (fstat (fd, &st) < 0)
    return husk_error_set (err, errno, "start gate \"%s\"", fifo);
  if (!S_ISFIFO (st.st_mode))
    return husk_error_set (err, 0, "start gate \"%s\": not a FIFO", fifo);
  flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
    return husk_error_set (err, errno, "start gate \"%s\"", fifo);
  moved = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0)
    return husk_error_set (err, errno, "start gate \"%s\"", fifo);
  return moved;
}

/* Whether execvp would find ARGV0 with ENV's PATH (glibc's default without one): with a gate,
   "not found" is create's error (127), not an exit status seen after start; runc looks the
   command up before its exec.fifo for the same reason.  Only "nothing there" fails here;
   whatever else exec would refuse (126) it still refuses after start.  */
static int
command_lookup (const char *argv0, char *const *env, struct husk_error **err)
{
  const char *path = "/bin:/usr/bin";
  struct stat st;

  if (strchr (argv0, '/'))
    {
      if (stat (argv0, &st) < 0 && (errno == ENOENT || errno == ENOTDIR))
        goto not_found;
      return 0;
    }
  for (size_t i = 0; env && env[i]; i++)
    if (husk_str_has_prefix (env[i], "PATH="))
      {
        path = env[i] + strlen ("PATH=");
        break;
      }
  for (const char *p = path;;)
    {
      const char *end = strchrnul (p, ':');
      /* An empty entry is the working directory, as in execvp.  */
      cleanup_free char *file = end == p
                                    ? husk_xstrdup (argv0)
                                    : husk_strdup_printf ("%.*s/%s", (int) (end - p), p, argv0);
      if (stat (file, &st) == 0 || (errno != ENOENT && errno != ENOTDIR))
        return 0;
      if (*end == '\0')
        break;
      p = end + 1;
    }

not_found:
  husk_error_set (err, 0,
                  strchr (argv0, '/') ? "exec \"%s\": no such file or directory"
                                      : "exec \"%s\": executable file not found in $PATH",
                  argv0);
  (*err)->status = 127;
  return -1;
}

/* In the child, set up and confined: say so on READY, close *REPORT (husk_container_spawn
   returns), and wait for the byte a start writes into GATE, which is then closed.  A
   failure from here on is only the process's exit status: no one reads *REPORT any more.  */
static int
gate_wait (const struct husk_container_spec *spec, char *const *env, int gate, int ready,
           int *report, struct husk_error **err)
{
  ssize_t n;
  char c;

  if (command_lookup (spec->args[0], env, err) < 0)
    return -1;
  if (write (ready, "r", 1) != 1)
    return husk_error_set (err, errno, "start gate: tell husk the container is ready");
  close (ready);
  close (*report);
  *report = -1;
  do
    n = read (gate, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    return husk_error_set (err, n < 0 ? errno : 0, "start gate \"%s\": wait", spec->start_fifo);
  close (gate);
  return 0;
}

/* write(2) of one byte into a FIFO whose reader may be gone: EPIPE, without the SIGPIPE that
   would end the caller.  The signal is thread-directed, so blocking it in this thread is
   enough; one this write raised is taken back, one already pending is left alone.  */
static ssize_t
write_no_sigpipe (int fd, const void *buf, size_t len)
{
  sigset_t pipe_set, old, pending;
  bool was_pending;
  ssize_t n;
  int e;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  sigpending (&pending);
  was_pending = sigismember (&pending, SIGPIPE);
  sigprocmask (SIG_BLOCK, &pipe_set, &old);
  n = write (fd, buf, len);
  e = errno;
  if (n < 0 && e == EPIPE && !was_pending)
    {
      const struct timespec zero = { 0, 0 };
      sigtimedwait (&pipe_set, NULL, &zero);
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  errno = e;
  return n;
}

static int
gate_error (struct husk_error **err, int errnum, const char *fifo, const char *why)
{
  husk_error_set (err, 0, "start gate \"%s\": %s", fifo, why);
  (*err)->errnum = errnum;
  return -1;
}

int
husk_container_start_gate (const char *fifo, struct husk_error **err)
{
  cleanup_close int fd = -1;
  struct stat st, now;

  /* Non-blocking: with no process waiting (none was ever there, or it has gone), the open
     fails with ENXIO instead of waiting for a reader that will never come.  */
  fd = open (fifo, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return gate_error (err, ENOENT, fifo,
                       "no such gate: none was made there, or the container was already "
                       "started (a gate opens once)");
  if (fd < 0 && errno == ENXIO)
    return gate_error (err, ESRCH, fifo,
                       "the container is gone: its process ended before it was started");
  if (fd < 0)
    return husk_error_set (err, errno, "start gate \"%s\"", fifo);
  if (fstat (fd, &st) < 0)
    return husk_error_set (err, errno, "start gate \"%s\"", fifo);
  if (!S_ISFIFO (st.st_mode))
    return gate_error (err, EINVAL, fifo, "not a FIFO");
  /* The unlink claims the gate: of two starts at once, one removes it and the other is told
     the container is started, so the command is started once (runtime.md: starting a
     started container "MUST have no effect on the container and MUST generate an error").
     The name must still be this FIFO: never remove what replaced it.  */
  if (stat (fifo, &now) < 0)
    {
      if (errno == ENOENT)
        return gate_error (err, EALREADY, fifo, "the container was already started");
      return husk_error_set (err, errno, "start gate \"%s\"", fifo);
    }
  if (now.st_dev != st.st_dev || now.st_ino != st.st_ino)
    return gate_error (err, EALREADY, fifo, "the container was already started");
  if (unlink (fifo) < 0)
    {
      if (errno == ENOENT)
        return gate_error (err, EALREADY, fifo, "the container was already started");
      return husk_error_set (err, errno, "start gate \"%s\": remove", fifo);
    }
  if (write_no_sigpipe (fd, "s", 1) != 1)
    {
      if (errno == EPIPE)
        return gate_error (err, ESRCH, fifo,
                           "the container is gone: its process ended before it was started");
      return husk_error_set (err, errno, "start gate \"%s\": write", fifo);
    }
  return 0;
}

/* The container's first process: everything between clone and exec.  It cannot return to a
   caller, so every failure goes to REPORT and ends in _exit.  */
static void __attribute__ ((noreturn)) container_child (const struct child_ctx *ctx)
{
  const struct husk_container_spec *spec = ctx->spec;
  struct husk_error *err = NULL;
  int report = ctx->report;
  int gate = -1;
  pid_t hook_pid = 0;
  int hook_out = STDERR_FILENO;
  char c;

  {
    /* Before any path is resolved: no descriptor of husk's or of its caller's (the store, the
       caller's directories) may stay open for a path through /proc/self/fd to reach
       (CVE-2024-21626).  Only the pipes to husk and the stdio to be installed are kept.  */
    const int keep[] = { ctx->go,       report,        ctx->ttysock, ctx->ready,
                         ctx->stdio[0], ctx->stdio[1], ctx->stdio[2] };
    husk_close_fds_except (keep, sizeof (keep) / sizeof (keep[0]));
  }
  if (read (ctx->go, &c, 1) != 1)
    _exit (125); /* The parent is gone.  */
  close (ctx->go);
  /* Mountpoints, the -w directory and the process: whatever the caller's umask.  */
  umask (HUSK_PROCESS_UMASK);
  /* Now that it is in its device or resource cgroup, that cgroup becomes the root of its
     namespace.  */
  if (ctx->late_cgroupns && unshare (CLONE_NEWCGROUP) < 0)
    {
      husk_error_set (&err, errno, "create the cgroup namespace");
      goto fail;
    }

  if (husk_container_in_userns (spec) && husk_container_become_root (&err) < 0)
    goto fail;
  /* A host path: opened while the host's tree is still in view, as the caller's user (root of
     the new user namespace is the caller's uid), before any of the image's files is read.  */
  if (spec->start_fifo && (gate = gate_open (spec->start_fifo, &err)) < 0)
    goto fail;
  if (spec->hostname && *spec->hostname
      && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    {
      husk_error_set (&err, errno, "set hostname");
      goto fail;
    }
  /* Only a namespace made for it: a joined one's interfaces are its owner's business.  */
  if (husk_ns_is_new (spec->namespaces, spec->n_namespaces, HUSK_NS_NET)
      && husk_network_lo_up (&err) < 0)
    goto fail;
  /* Nothing mounted here may propagate back to the host.  */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      husk_error_set (&err, errno, "make mounts private");
      goto fail;
    }
  if (husk_mount_overlay (spec->lowerdirs, spec->upperdir, spec->workdir, spec->rootfs,
                          husk_container_in_userns (spec), &err)
      < 0)
    goto fail;
  /* OCI hooks in the container's namespaces (hooks.h): createContainer here, before
     pivot_root, where the host's /proc still names this process by its pid in husk's pid
     namespace; startContainer after pivot_root, its output still on husk's stderr.  */
  if (husk_container_has_hooks (spec, HUSK_HOOK_CREATE_CONTAINER)
      || husk_container_has_hooks (spec, HUSK_HOOK_START_CONTAINER))
    hook_pid = husk_hooks_proc_self_pid ();
  if (husk_container_hooks (spec, HUSK_HOOK_CREATE_CONTAINER, hook_pid, STDERR_FILENO, &err) < 0)
    goto fail;
  if (husk_container_has_hooks (spec, HUSK_HOOK_START_CONTAINER))
    {
      hook_out = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
      if (hook_out < 0)
        {
          husk_error_set (&err, errno, "startContainer hooks: duplicate stderr");
          goto fail;
        }
    }
  if (husk_setup_rootfs (spec, &err) < 0)
    goto fail;

  /* Its own session: the caller's terminal can never become its controlling terminal, so
     TIOCSTI on an inherited descriptor fails (CVE-2017-5226).  */
  setsid ();
  if (husk_relay_child_stdio (ctx->stdio, &err) < 0)
    goto fail;
  if (spec->tty)
    {
      if (husk_tty_child (ctx->ttysock, &err) < 0)
        goto fail;
      close (ctx->ttysock);
    }
  else if (!spec->interactive && ctx->stdio[0] < 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0 || dup2 (null, STDIN_FILENO) < 0)
        {
          husk_error_set (&err, errno, "open \"/dev/null\" as stdin");
          goto fail;
        }
      close (null);
    }

  if (husk_chdir_in_root (spec->cwd, true, &err) < 0)
    goto fail;
  if (spec->readonly_rootfs && husk_rootfs_readonly (&err) < 0)
    goto fail;
  {
    struct husk_process_prep prep = { 0 };
    int rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
      {
        husk_error_set (&err, errno, "open \"/\"");
        goto fail;
      }
    if (husk_process_prepare (spec, rootfd, &prep, &err) < 0)
      goto fail;
    close (rootfd);
    if (husk_container_hooks (spec, HUSK_HOOK_START_CONTAINER, hook_pid, hook_out, &err) < 0)
      goto fail;
    if (hook_out != STDERR_FILENO)
      close (hook_out);
    if (husk_process_drop_privileges (spec, &prep.user, ctx->seccomp, &err) < 0)
      goto fail;
    if (gate >= 0 && gate_wait (spec, prep.env, gate, ctx->ready, &report, &err) < 0)
      goto fail;
    if (spec->init && husk_init_fork () < 0)
      {
        husk_error_set (&err, errno, "init: fork");
        goto fail;
      }
    husk_process_exec (spec, prep.env, report, 125);
  }

fail:
  husk_child_report (report, husk_error_status (err, 125), err);
  _exit (husk_error_status (err, 125));
}

struct after_job
{
  const struct husk_container_spec *spec;
  int userns;
};

/* In the child: join the container's user namespace, which outlives its processes while the
   descriptor holds it; its owner has every capability in it.  */
static int
after_in_userns (void *arg, struct husk_error **err)
{
  struct after_job *job = arg;

  if (setns (job->userns, CLONE_NEWUSER) < 0)
    return husk_error_set (err, errno, "join the container's user namespace");
  return job->spec->after_fn (job->spec->after_arg, err);
}

/* SPEC->after_fn in a child that joins USERNS (-1: husk's own namespace, husk is root).  */
static int
run_after (const struct husk_container_spec *spec, int userns, struct husk_error **err)
{
  struct after_job job = { .spec = spec, .userns = userns };

  if (userns < 0)
    return spec->after_fn (spec->after_arg, err);
  return husk_child_run (after_in_userns, &job, err);
}

static void
kill_and_reap (pid_t pid)
{
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

bool
husk_container_in_userns (const struct husk_container_spec *spec)
{
  return husk_ns_find (spec->namespaces, spec->n_namespaces, HUSK_NS_USER) != NULL;
}

static int
clone_failed (int e, struct husk_error **err)
{
  if (e == EPERM || e == ENOSPC || e == EUSERS)
    return husk_error_set (err, e,
                           "create namespaces (are unprivileged user namespaces "
                           "enabled? see user.max_user_namespaces)");
  return husk_error_set (err, e, "create namespaces");
}

/* The container's first process, just born: drop husk's ends of the pipes, then set up.  */
static void __attribute__ ((noreturn))
child_start (const struct child_ctx *ctx, int go_w, int report_r, int tty_r)
{
  husk_forward_child_reset ();
  signal (SIGPIPE, SIG_DFL);
  close (go_w);
  close (report_r);
  if (tty_r >= 0)
    close (tty_r);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  container_child (ctx);
}

/* The joiner, when the spec joins namespaces by path: a child of husk that joins them
   (husk_ns_join: all opened before, in the order that function gives), then clones the
   container's first process with FLAGS (its new namespaces, made after every join) and
   CLONE_PARENT, so that the process is husk's own child, as without a joiner, and is born in
   a pid namespace joined here (setns for a pid namespace applies to children only).  It sends
   the pid on PIDPIPE and exits.  Non-dumpable from the start, which its child keeps until its
   exec: once in another's user or pid namespace, that namespace's processes must not ptrace
   it or read its /proc files while it holds husk's state (runc's CVE-2016-9962).  */
static void __attribute__ ((noreturn))
joiner_main (const struct child_ctx *ctx, struct husk_ns_files *files, unsigned long flags,
             int go_w, int report_r, int tty_r, int pidpipe)
{
  const struct husk_container_spec *spec = ctx->spec;
  struct husk_error *err = NULL;
  int32_t child;

  husk_forward_child_reset ();
  close (go_w);
  close (report_r);
  if (tty_r >= 0)
    close (tty_r);
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      husk_error_set (&err, errno, "make the process non-dumpable");
      goto fail;
    }
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  {
    const int keep[] = {
      ctx->go,       ctx->report,   ctx->ttysock,  ctx->stdio[0], ctx->stdio[1],
      ctx->stdio[2], pidpipe,       files->fds[0], files->fds[1], files->fds[2],
      files->fds[3], files->fds[4], files->fds[5], files->fds[6],
    };
    husk_close_fds_except (keep, sizeof (keep) / sizeof (keep[0]));
  }
  if (husk_ns_join (spec->namespaces, spec->n_namespaces, files, &err) < 0)
    goto fail;
  husk_ns_files_close (files);

  fflush (NULL);
  child = (int32_t) syscall (SYS_clone, flags | CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (child < 0)
    {
      clone_failed (errno, &err);
      goto fail;
    }
  if (child == 0)
    {
      close (pidpipe);
      child_start (ctx, -1, -1, -1);
    }
  if (husk_write_all (pidpipe, &child, sizeof (child)) < 0)
    {
      kill (child, SIGKILL);
      _exit (125);
    }
  _exit (0);

fail:
  husk_child_report (ctx->report, husk_error_status (err, 125), err);
  _exit (husk_error_status (err, 125));
}

/* Start the container's first process through a joiner (joiner_main).  Returns its pid, or
   -1: with *ERR set when husk itself failed, else the joiner's report on CTX's pipe says
   why.  */
static pid_t
spawn_joined (const struct child_ctx *ctx, struct husk_ns_files *files, unsigned long flags,
              int go_w, int report_r, int tty_r, struct husk_error **err)
{
  int pidpipe[2];
  int32_t child;
  pid_t joiner;
  ssize_t n;

  if (pipe2 (pidpipe, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  joiner = fork ();
  if (joiner == 0)
    {
      close (pidpipe[0]);
      joiner_main (ctx, files, flags, go_w, report_r, tty_r, pidpipe[1]);
    }
  close (pidpipe[1]);
  if (joiner < 0)
    {
      close (pidpipe[0]);
      return husk_error_set (err, errno, "fork");
    }
  do
    n = read (pidpipe[0], &child, sizeof (child));
  while (n < 0 && errno == EINTR);
  close (pidpipe[0]);
  while (waitpid (joiner, NULL, 0) < 0 && errno == EINTR)
    ;
  if (n == (ssize_t) sizeof (child) && child > 0)
    return (pid_t) child;
  /* The joiner failed before its child existed: its report says why, once every writer
     (the joiner, now gone) has closed.  */
  return -1;
}

int
husk_container_spawn (const struct husk_container_spec *spec, const int stdio[3],
                      struct husk_container_proc *ret, struct husk_error **err)
{
  int go[2], report[2], tsock[2] = { -1, -1 };
  cleanup_close int go_w = -1, report_r = -1, tty_r = -1, master = -1, userns = -1;
  cleanup_close int ready_r = -1, ready_w = -1;
  struct husk_seccomp_prog prog = { 0 };
  struct child_ctx ctx = { .spec = spec, .ready = -1, .stdio = { -1, -1, -1 } };
  struct husk_ns_files files = HUSK_NS_FILES_INIT;
  unsigned long flags;
  bool joining;
  bool with_resources;
  pid_t pid;

  ret->pid = -1;
  ret->master = -1;
  ret->userns = -1;
  if (spec->args == NULL || spec->args[0] == NULL || *spec->args[0] == '\0')
    return husk_error_set (err, 0, "no command to run: the image has no Entrypoint or Cmd");
  if (husk_ns_check (spec->namespaces, spec->n_namespaces, spec->idmap != NULL,
                     spec->hostname && *spec->hostname, err)
      < 0)
    return -1;
  with_resources = husk_resources_set (&spec->resources);
  if (with_resources && husk_cgroups_check (spec->resources_cgroup, &spec->resources, err) < 0)
    return -1;
  flags = husk_ns_flags (spec->namespaces, spec->n_namespaces, true);
  ctx.late_cgroupns
      = ((!husk_container_in_userns (spec) && spec->device_cgroup != NULL) || with_resources)
        && (flags & CLONE_NEWCGROUP);
  if (ctx.late_cgroupns)
    flags &= ~(unsigned long) CLONE_NEWCGROUP;
  if (stdio)
    memcpy (ctx.stdio, stdio, sizeof (ctx.stdio));

  /* Every path is opened and its type checked here, before anything is joined or made.  */
  if (husk_ns_files_open (spec->namespaces, spec->n_namespaces, &files, err) < 0)
    return -1;
  joining = husk_ns_files_any (&files);

  /* Compiled once, here; the container only loads it.  */
  if (spec->seccomp == HUSK_SECCOMP_DEFAULT
      && husk_seccomp_build_default (spec->caps, &prog, err) < 0)
    {
      husk_ns_files_close (&files);
      return -1;
    }
  if (spec->seccomp == HUSK_SECCOMP_PROFILE
      && husk_seccomp_build_profile (spec->seccomp_profile, strlen (spec->seccomp_profile),
                                     spec->caps, &prog, err)
             < 0)
    {
      husk_ns_files_close (&files);
      return -1;
    }
  if (prog.filter)
    ctx.seccomp = &prog;

  /* With a start gate: the child's word that it is set up and waiting (gate_wait).  */
  if (spec->start_fifo)
    {
      int ready[2];
      if (pipe2 (ready, O_CLOEXEC) < 0)
        {
          husk_seccomp_prog_clear (&prog);
          return husk_error_set (err, errno, "pipe");
        }
      ready_r = ready[0];
      ready_w = ready[1];
      ctx.ready = ready_w;
    }
  if (pipe2 (go, O_CLOEXEC) < 0)
    {
      husk_ns_files_close (&files);
      husk_seccomp_prog_clear (&prog);
      return husk_error_set (err, errno, "pipe");
    }
  if (pipe2 (report, O_CLOEXEC) < 0
      || (spec->tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tsock) < 0))
    {
      close (go[0]);
      close (go[1]);
      husk_ns_files_close (&files);
      husk_seccomp_prog_clear (&prog);
      return husk_error_set (err, errno, "pipe");
    }
  go_w = go[1];
  report_r = report[0];
  tty_r = tsock[0];
  ctx.go = go[0];
  ctx.report = report[1];
  ctx.ttysock = tsock[1];

  fflush (NULL);
  if (joining)
    pid = spawn_joined (&ctx, &files, flags, go[1], report[0], tsock[0], err);
  else
    {
      /* clone with a NULL stack behaves like fork, in new namespaces.  */
      pid = (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
      if (pid == 0)
        child_start (&ctx, go[1], report[0], tsock[0]);
      if (pid < 0)
        clone_failed (errno, err);
    }
  husk_ns_files_close (&files);
  close (go[0]);
  close (report[1]);
  if (tsock[1] >= 0)
    close (tsock[1]);
  if (ready_w >= 0)
    close (TAKE_FD (ready_w));
  husk_seccomp_prog_clear (&prog);
  if (pid < 0)
    {
      /* A child the joiner made and could not name reads EOF on go and exits.  */
      close (TAKE_FD (go_w));
      if (joining && *err == NULL && husk_child_collect (report_r, err) == 0)
        husk_error_set (err, 0, "join the namespaces: failed");
      return -1;
    }
  husk_forward_to (pid);
  if (spec->idmap && spec->after_fn)
    {
      char path[64];
      snprintf (path, sizeof (path), "/proc/%d/ns/user", (int) pid);
      userns = open (path, O_RDONLY | O_CLOEXEC);
    }

  if (spec->idmap && husk_idmap_apply (spec->idmap, pid, err) < 0)
    {
      kill_and_reap (pid);
      husk_forward_to (0);
      return husk_error_wrap (err, "user namespace");
    }
  /* As root, into its device cgroup before it runs anything of the container's.  */
  if (!husk_container_in_userns (spec) && spec->device_cgroup != NULL
      && husk_devices_cgroup_apply (spec->device_cgroup, spec->devices, spec->n_devices, pid, err)
             < 0)
    {
      kill_and_reap (pid);
      husk_forward_to (0);
      husk_devices_cgroup_remove (spec->device_cgroup);
      return -1;
    }
  /* Into its resource cgroup, likewise (after the device cgroup: on v2 they are one).  */
  if (with_resources && husk_cgroups_apply (spec->resources_cgroup, &spec->resources, pid, err) < 0)
    {
      kill_and_reap (pid);
      husk_forward_to (0);
      husk_cgroups_remove (spec->resources_cgroup);
      return -1;
    }
  /* OCI prestart and createRuntime hooks (hooks.h): in husk's namespaces, the container's
     exist and its pid is known; it has mounted nothing yet.  */
  /* Then the engine's own step from outside (created_fn: pasta), at the same point.  */
  if (husk_container_hooks (spec, HUSK_HOOK_PRESTART, pid, STDERR_FILENO, err) < 0
      || husk_container_hooks (spec, HUSK_HOOK_CREATE_RUNTIME, pid, STDERR_FILENO, err) < 0
      || (spec->created_fn && spec->created_fn (spec->created_arg, pid, err) < 0))
    {
      kill_and_reap (pid);
      husk_forward_to (0);
      if (!husk_container_in_userns (spec) && spec->device_cgroup)
        husk_devices_cgroup_remove (spec->device_cgroup);
      if (with_resources)
        husk_cgroups_remove (spec->resources_cgroup);
      (*err)->status = 125;
      return -1;
    }
  if (write (go_w, "g", 1) != 1)
    {
      husk_error_set (err, errno, "start container");
      kill_and_reap (pid);
      husk_forward_to (0);
      return -1;
    }
  close (TAKE_FD (go_w));

  if (spec->tty)
    {
      cleanup_error struct husk_error *terr = NULL;
      if (husk_tty_receive (tty_r, &master, &terr) < 0)
        {
          /* The container failed before it had a terminal: its report says why.  */
          if (husk_child_collect (report_r, err) == 0)
            {
              *err = TAKE_PTR (terr);
              kill (pid, SIGKILL);
            }
          while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
          husk_forward_to (0);
          goto failed;
        }
    }

  /* The report pipe closes on exec: data means setup or exec failed.  */
  if (husk_child_collect (report_r, err) > 0)
    {
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      husk_forward_to (0);
      goto failed;
    }
  /* With a gate no report is not enough: the child must have said it waits there, or it died
     in its set-up without a word (killed).  Its byte is written before the report pipe is
     closed, so it is there by now.  */
  if (ready_r >= 0)
    {
      char c;
      if (read (ready_r, &c, 1) != 1)
        {
          husk_error_set (err, 0,
                          "start gate \"%s\": the container's process ended during its set-up",
                          spec->start_fifo);
          kill_and_reap (pid);
          husk_forward_to (0);
          goto failed;
        }
    }
  ret->pid = pid;
  ret->master = TAKE_FD (master);
  ret->userns = TAKE_FD (userns);
  return 0;

failed:
  if ((*err)->status == 0)
    (*err)->status = 125;
  return -1;
}

int
husk_container_after (const struct husk_container_spec *spec, int userns, struct husk_error **err)
{
  if (spec->after_fn == NULL)
    return 0;
  if (spec->idmap && userns < 0)
    return husk_error_set (err, 0, "the container's user namespace is gone");
  return run_after (spec, spec->idmap ? userns : -1, err);
}

int
husk_container_run (const struct husk_container_spec *spec, int (*started) (void *arg, pid_t pid),
                    void *started_arg, int *ret_status, struct husk_error **err)
{
  struct husk_container_proc proc = { .pid = -1, .master = -1, .userns = -1 };
  struct husk_relay relay = HUSK_RELAY_INIT;
  struct husk_forward fwd;
  bool spawned = false;
  int status, r;

  if (spec->kill_on_interrupt)
    husk_forward_begin_kill (&fwd);
  else
    husk_forward_begin (&fwd);
  /* Without -t, pipes in place of the caller's terminal (relay.h).  */
  r = spec->tty ? 0 : husk_relay_open (&relay, spec->interactive, err);
  if (r == 0)
    {
      spawned = true;
      r = husk_container_spawn (spec, relay.child, &proc, err);
    }
  husk_relay_close_child (&relay);
  /* An interrupt before husk_forward_to named the process killed nothing yet.  */
  if (r == 0 && spec->kill_on_interrupt && husk_forward_caught ())
    kill (proc.pid, SIGKILL);
  if (r == 0)
    husk_hooks_poststart (spec, proc.pid);
  if (r == 0 && started)
    started (started_arg, proc.pid);
  if (r == 0 && proc.master >= 0 && husk_tty_relay (proc.master, spec->interactive, err) < 0)
    {
      kill (proc.pid, SIGKILL);
      r = -1;
    }
  if (r == 0 && husk_relay_active (&relay) && husk_relay_run (&relay, proc.pid, err) < 0)
    {
      kill (proc.pid, SIGKILL);
      r = -1;
    }
  husk_relay_close (&relay);
  while (proc.pid > 0 && waitpid (proc.pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        if (r == 0)
          husk_error_set (err, errno, "wait for the container");
        r = -1;
        break;
      }
  husk_forward_to (0);
  if (r == 0 && spec->kill_on_interrupt && husk_forward_caught ())
    {
      int sig = husk_forward_caught ();
      husk_error_set (err, 0, "interrupted by %s",
                      sig == SIGINT    ? "SIGINT"
                      : sig == SIGTERM ? "SIGTERM"
                                       : "SIGHUP");
      r = -1;
    }
  if (r == 0)
    {
      *ret_status = husk_wait_status (status);
      husk_container_after (spec, proc.userns, spec->after_err);
    }
  else if ((*err)->status == 0)
    (*err)->status = 125;
  if (spawned)
    husk_hooks_poststop (spec);
  if (proc.master >= 0)
    close (proc.master);
  if (proc.userns >= 0)
    close (proc.userns);
  husk_forward_end (&fwd);
  return r;
}

int
husk_wait_status (int status)
{
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}
