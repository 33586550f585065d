#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "exec.h"
#include "namespaces.h"
#include "proc.h"
#include "relay.h"
#include "seccomp-filter.h"
#include "tty.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

/* Who joins what:
     husk    stays in every namespace of the caller: it checks the container, builds the
             seccomp filter, relays the terminal and waits.
     joiner  a child that turns non-dumpable, closes what it does not need, joins every
             namespace of the container's pid 1 through a pidfd, and clones the command's
             process with CLONE_PARENT, so that process is husk's own child (husk waits for
             it directly) yet is born in the container's pid namespace.  Then it exits.
             Before the clone it takes the container's privileges (its user, capabilities,
             no_new_privs and seccomp filter), with the user read from the container's /etc
             by husk beforehand.
     command takes its stdio, chdirs inside the container's root and execs, the same tail
             as the container's first process.
   husk itself never enters the container: its /proc stays the host's (the sanitizers and
   glibc read /proc/self) and nothing in the container can reach it.  */

struct exec_ctx
{
  const char *id;
  const struct husk_container_spec *spec; /* The command's: the container's, amended.  */
  const struct husk_seccomp_prog *seccomp;
  const struct husk_process_prep *prep; /* The user and environment, read in husk.  */
  int pidfd;
  unsigned long nsflags;
  int report, ttysock, pidpipe; /* Write ends; ttysock -1 without a terminal.  */
  int stdio[3];                 /* The relay's pipes for fds 0-2 (relay.h); -1: the caller's.  */
  bool detach;
};

static int
not_running (struct husk_error **err, const struct husk_exec_target *ctr)
{
  return husk_error_set (err, 0, "container %.12s is not running", ctr->id);
}

/* The container's filter, built as its start built it.  No compiled program is kept on disk
   for later execs to load: whatever could write it (a container given the runtime directory
   as a volume) could weaken every later exec.  The default program is built into husk.  */
static int
build_filter (const struct husk_exec_target *ctr, struct husk_seccomp_prog *ret,
              struct husk_error **err)
{
  const struct husk_container_spec *cs = ctr->spec;

  if (cs->seccomp == HUSK_SECCOMP_DEFAULT && husk_seccomp_build_default (cs->caps, ret, err) < 0)
    return -1;
  if (cs->seccomp == HUSK_SECCOMP_PROFILE
      && husk_seccomp_build_profile (cs->seccomp_profile, strlen (cs->seccomp_profile), cs->caps,
                                     ret, err)
             < 0)
    return -1;
  return 0;
}

static int
stdio_null (bool all, struct husk_error **err)
{
  cleanup_close int null = open ("/dev/null", O_RDWR | O_CLOEXEC);

  if (null < 0)
    return husk_error_set (err, errno, "open \"/dev/null\"");
  for (int fd = 0; fd < (all ? 3 : 1); fd++)
    if (dup2 (null, fd) < 0)
      return husk_error_set (err, errno, "open \"/dev/null\" as stdio");
  return 0;
}

/* The command's process: born in the container's namespaces with the container's privileges
   already taken, still non-dumpable.  */
static void __attribute__ ((noreturn)) exec_command (const struct exec_ctx *ctx)
{
  const struct husk_container_spec *spec = ctx->spec;
  struct husk_error *err = NULL;

  /* Its own session, as in husk run: the caller's terminal never becomes its controlling
     terminal, so TIOCSTI on an inherited descriptor fails (CVE-2017-5226).  */
  setsid ();
  if (ctx->detach)
    {
      if (stdio_null (true, &err) < 0)
        goto fail;
    }
  else if (spec->tty)
    {
      if (husk_tty_child_exec (ctx->ttysock, &err) < 0)
        goto fail;
      close (ctx->ttysock);
    }
  else if (husk_relay_child_stdio (ctx->stdio, &err) < 0
           || (!spec->interactive && stdio_null (false, &err) < 0))
    goto fail;

  /* Resolved as the container sees it, never through a magic link: the only descriptors still
     open are the pipes to husk (CVE-2024-21626).  */
  if (husk_chdir_in_root (spec->cwd, false, &err) < 0)
    goto fail;
  husk_process_exec (spec, ctx->prep->env, ctx->report, 126);

fail:
  husk_child_report (ctx->report, husk_error_status (err, 126), err);
  _exit (husk_error_status (err, 126));
}

/* The joiner: between husk and the container.  */
static void __attribute__ ((noreturn)) exec_join (const struct exec_ctx *ctx)
{
  struct husk_error *err = NULL;
  const int keep[] = { ctx->pidfd,    ctx->report,   ctx->ttysock, ctx->pidpipe,
                       ctx->stdio[0], ctx->stdio[1], ctx->stdio[2] };
  int32_t child;

  /* Non-dumpable before it holds anything of the container's: a process of the container
     (even one with CAP_SYS_PTRACE there) can neither ptrace it nor open its /proc files
     while it still holds husk's state, as runc's CVE-2016-9962 allowed.  The flag is
     inherited by the command's process until its exec.  */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      husk_error_set (&err, errno, "make the process non-dumpable");
      goto fail;
    }
  /* Nothing of husk's is carried in: the store, the record, the caller's other
     descriptors.  */
  husk_close_fds_except (keep, sizeof (keep) / sizeof (keep[0]));

  /* As root, into the container's device cgroup while the host's /sys is still in sight:
     the command's process inherits it.  */
  if (!husk_container_in_userns (ctx->spec) && ctx->spec->device_cgroup
      && husk_devices_cgroup_join (ctx->spec->device_cgroup, &err) < 0)
    goto fail;
  /* And into its resource cgroup: what the command starts counts against the container's
     limits (pids.limit above all).  */
  if (husk_resources_set (&ctx->spec->resources)
      && husk_cgroups_join (ctx->spec->resources_cgroup, &ctx->spec->resources, &err) < 0)
    goto fail;

  if (setns (ctx->pidfd, (int) ctx->nsflags) < 0)
    {
      if (errno == ESRCH)
        {
          husk_error_set (&err, 0, "container %.12s is not running", ctx->id);
          err->status = 1;
        }
      else
        husk_error_set (&err, errno, "join the container's namespaces");
      goto fail;
    }
  close (ctx->pidfd);

  /* The container's privileges before anything of the container is touched and before a
     process of it can see this one: the joiner is not in the container's pid namespace, its
     child is.  Non-dumpable alone does not keep out a container that holds CAP_SYS_PTRACE in
     husk's own user namespace (husk run by root with --cap-add SYS_PTRACE); with the host's
     capabilities gone there is nothing left to steal.  */
  if (husk_container_in_userns (ctx->spec) && husk_container_become_root (&err) < 0)
    goto fail;
  if (husk_process_drop_privileges (ctx->spec, &ctx->prep->user, ctx->seccomp, &err) < 0)
    goto fail;

  /* A child of husk itself, in the container's pid namespace (setns set it for children).  */
  child = (int32_t) syscall (SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (child < 0)
    {
      husk_error_set (&err, errno, "fork in the container");
      goto fail;
    }
  if (child == 0)
    {
      close (ctx->pidpipe);
      exec_command (ctx);
    }
  if (husk_write_all (ctx->pidpipe, &child, sizeof (child)) < 0)
    {
      kill (child, SIGKILL);
      _exit (126);
    }
  _exit (0);

fail:
  husk_child_report (ctx->report, husk_error_status (err, 126), err);
  _exit (husk_error_status (err, 126));
}

/* SPEC's user and environment from the container's /etc, read by husk from outside through
   /proc/PID/root: the joining process must not read the container's files while it still
   holds husk's privileges.  PIDFD pins PID: the root is used only if the process is still
   alive after it was opened, so a recycled pid cannot lend another root.  */
static int
prepare_outside (const struct husk_exec_target *ctr, int pidfd,
                 const struct husk_container_spec *spec, struct husk_process_prep *ret,
                 struct husk_error **err)
{
  cleanup_close int rootfd = -1;
  char path[64];

  snprintf (path, sizeof (path), "/proc/%d/root", (int) ctr->pid);
  rootfd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || syscall (SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
    {
      if (errno == ESRCH || errno == ENOENT)
        return not_running (err, ctr);
      return husk_error_set (err, errno, "container %.12s: open its root", ctr->id);
    }
  if (husk_process_prepare (spec, rootfd, ret, err) < 0)
    {
      (*err)->status = 126; /* As when the command cannot be run.  */
      return -1;
    }
  return 0;
}

static void
reap (pid_t pid, int *ret_status)
{
  int status = 0;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return;
  if (ret_status)
    *ret_status = status;
}

int
husk_exec (const struct husk_exec_target *ctr, const struct husk_exec_opts *opts, int *ret_status,
           struct husk_error **err)
{
  const struct husk_container_spec *cs = ctr->spec;
  struct husk_container_spec spec = *cs;
  struct husk_seccomp_prog prog = { 0 };
  struct husk_process_prep prep = { 0 };
  struct exec_ctx ctx = { .id = ctr->id, .spec = &spec, .prep = &prep, .detach = opts->detach };
  struct husk_relay relay = HUSK_RELAY_INIT;
  cleanup_close int pidfd = -1, report_r = -1, tty_r = -1, pid_r = -1, master = -1;
  int report[2] = { -1, -1 }, tsock[2] = { -1, -1 }, pipefd[2] = { -1, -1 };
  struct husk_forward fwd;
  pid_t joiner, child = -1;
  int32_t child32;
  int status, r = -1;
  ssize_t n;

  if (opts->args == NULL || opts->args[0] == NULL || *opts->args[0] == '\0')
    return husk_error_set (err, 0, "no command to run");
  if (ctr->pid <= 0)
    return not_running (err, ctr);

  spec.args = opts->args;
  spec.env = opts->env ? opts->env : cs->env;
  spec.user = opts->user ? opts->user : cs->user;
  spec.cwd = opts->cwd ? opts->cwd : cs->cwd && *cs->cwd ? cs->cwd : "/";
  spec.caps = opts->caps_given ? opts->caps : cs->caps;
  spec.tty = opts->tty && !opts->detach;
  spec.interactive = opts->interactive && !opts->detach;
  spec.init = false;
  spec.after_fn = NULL;

  /* The pidfd pins the process: if it is the container's pid 1 now, setns through it can
     only ever join that process's namespaces, or fail with ESRCH once it is gone.  */
  pidfd = husk_proc_pidfd (ctr->pid, ctr->pid_start);
  if (pidfd < 0)
    {
      if (errno == ESRCH)
        return not_running (err, ctr);
      return husk_error_set (err, errno, "container %.12s: open its process", ctr->id);
    }

  if (prepare_outside (ctr, pidfd, &spec, &prep, err) < 0)
    return -1;

  /* Every namespace the spec lists, made or joined by path: either way it is the first
     process's own now, and the pidfd joins that process's.  One not listed is husk's too.  */
  ctx.nsflags = husk_ns_flags (cs->namespaces, cs->n_namespaces, false);

  /* Built here, as for the container's first process, from the container's capabilities:
     the command only loads it, last.  */
  if (build_filter (ctr, &prog, err) < 0)
    {
      husk_process_prep_clear (&prep);
      return -1;
    }
  if (prog.filter)
    ctx.seccomp = &prog;

  if (pipe2 (report, O_CLOEXEC) < 0 || pipe2 (pipefd, O_CLOEXEC) < 0
      || (spec.tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tsock) < 0))
    {
      husk_error_set (err, errno, "pipe");
      for (int i = 0; i < 2; i++)
        {
          if (report[i] >= 0)
            close (report[i]);
          if (pipefd[i] >= 0)
            close (pipefd[i]);
        }
      husk_seccomp_prog_clear (&prog);
      husk_process_prep_clear (&prep);
      return -1;
    }
  report_r = report[0];
  pid_r = pipefd[0];
  tty_r = tsock[0];
  ctx.pidfd = pidfd;
  ctx.report = report[1];
  ctx.pidpipe = pipefd[1];
  ctx.ttysock = tsock[1];

  /* Without -t, pipes in place of the caller's terminal (relay.h).  */
  if (!spec.tty && !opts->detach && husk_relay_open (&relay, spec.interactive, err) < 0)
    {
      close (report[1]);
      close (pipefd[1]);
      husk_seccomp_prog_clear (&prog);
      husk_process_prep_clear (&prep);
      return -1;
    }
  memcpy (ctx.stdio, relay.child, sizeof (ctx.stdio));

  husk_forward_begin (&fwd);

  fflush (NULL);
  joiner = fork ();
  if (joiner == 0)
    {
      husk_forward_child_reset ();
      exec_join (&ctx);
    }
  close (report[1]);
  close (pipefd[1]);
  if (tsock[1] >= 0)
    close (tsock[1]);
  husk_relay_close_child (&relay);
  husk_seccomp_prog_clear (&prog);
  if (joiner < 0)
    {
      husk_error_set (err, errno, "fork");
      goto out;
    }

  do
    n = read (pid_r, &child32, sizeof (child32));
  while (n < 0 && errno == EINTR);
  reap (joiner, NULL);
  if (n != (ssize_t) sizeof (child32))
    {
      /* The joiner failed; its report says why.  */
      if (husk_child_collect (report_r, err) == 0)
        husk_error_set (err, 0, "join the container: failed");
      goto out;
    }
  child = (pid_t) child32;
  husk_forward_to (child);

  if (spec.tty)
    {
      cleanup_error struct husk_error *terr = NULL;
      if (husk_tty_receive (tty_r, &master, &terr) < 0)
        {
          if (husk_child_collect (report_r, err) == 0)
            {
              *err = TAKE_PTR (terr);
              kill (child, SIGKILL);
            }
          reap (child, NULL);
          goto out;
        }
    }

  /* The report pipe closes on exec: data means setup or exec failed.  */
  if (husk_child_collect (report_r, err) > 0)
    {
      reap (child, NULL);
      goto out;
    }
  if (opts->detach)
    {
      /* Not waited for: when husk exits, the host's init (or the nearest subreaper) adopts
         and reaps it, as a runtime's shim does for docker exec -d.  It never becomes a child
         of the container's pid 1, which may not reap.  */
      *ret_status = 0;
      r = 0;
      goto out;
    }
  if (master >= 0 && husk_tty_relay (master, spec.interactive, err) < 0)
    {
      kill (child, SIGKILL);
      reap (child, NULL);
      goto out;
    }
  if (husk_relay_active (&relay) && husk_relay_run (&relay, child, err) < 0)
    {
      kill (child, SIGKILL);
      reap (child, NULL);
      goto out;
    }
  status = 0;
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      {
        husk_error_set (err, errno, "wait for the command");
        goto out;
      }
  *ret_status = husk_wait_status (status);
  r = 0;

out:
  husk_relay_close (&relay);
  husk_forward_end (&fwd);
  husk_process_prep_clear (&prep);
  if (r < 0 && (*err)->status == 0)
    (*err)->status = 126;
  return r;
}
