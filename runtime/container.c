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
#include "init.h"
#include "mounts.h"
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

/* The container's first process: everything between clone and exec.  It cannot return to a
   caller, so every failure goes to REPORT and ends in _exit.  */
static void __attribute__ ((noreturn)) container_child (const struct child_ctx *ctx)
{
  const struct husk_container_spec *spec = ctx->spec;
  struct husk_error *err = NULL;
  int report = ctx->report;
  char c;

  {
    /* Before any path is resolved: no descriptor of husk's or of its caller's (the store, the
       caller's directories) may stay open for a path through /proc/self/fd to reach
       (CVE-2024-21626).  Only the pipes to husk and the stdio to be installed are kept.  */
    const int keep[]
        = { ctx->go, report, ctx->ttysock, ctx->stdio[0], ctx->stdio[1], ctx->stdio[2] };
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

  if (spec->idmap && husk_container_become_root (&err) < 0)
    goto fail;
  if (sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    {
      husk_error_set (&err, errno, "set hostname");
      goto fail;
    }
  if (spec->network == HUSK_NETWORK_NONE && husk_network_lo_up (&err) < 0)
    goto fail;
  /* Nothing mounted here may propagate back to the host.  */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      husk_error_set (&err, errno, "make mounts private");
      goto fail;
    }
  if (husk_mount_overlay (spec->lowerdirs, spec->upperdir, spec->workdir, spec->rootfs,
                          spec->idmap != NULL, &err)
          < 0
      || husk_setup_rootfs (spec, &err) < 0)
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
    if (husk_process_drop_privileges (spec, &prep.user, ctx->seccomp, &err) < 0)
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

int
husk_container_spawn (const struct husk_container_spec *spec, const int stdio[3],
                      struct husk_container_proc *ret, struct husk_error **err)
{
  int go[2], report[2], tsock[2] = { -1, -1 };
  cleanup_close int go_w = -1, report_r = -1, tty_r = -1, master = -1, userns = -1;
  struct husk_seccomp_prog prog = { 0 };
  struct child_ctx ctx = { .spec = spec, .stdio = { -1, -1, -1 } };
  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  bool with_resources;
  pid_t pid;

  ret->pid = -1;
  ret->master = -1;
  ret->userns = -1;
  if (spec->args == NULL || spec->args[0] == NULL || *spec->args[0] == '\0')
    return husk_error_set (err, 0, "no command to run: the image has no Entrypoint or Cmd");
  with_resources = husk_resources_set (&spec->resources);
  if (with_resources && husk_cgroups_check (spec->resources_cgroup, &spec->resources, err) < 0)
    return -1;
  if (spec->idmap)
    flags |= CLONE_NEWUSER;
  if (spec->network == HUSK_NETWORK_NONE)
    flags |= CLONE_NEWNET;
  ctx.late_cgroupns = (spec->idmap == NULL && spec->device_cgroup != NULL) || with_resources;
  if (ctx.late_cgroupns)
    flags &= ~(unsigned long) CLONE_NEWCGROUP;
  if (stdio)
    memcpy (ctx.stdio, stdio, sizeof (ctx.stdio));

  /* Compiled once, here; the container only loads it.  */
  if (spec->seccomp == HUSK_SECCOMP_DEFAULT
      && husk_seccomp_build_default (spec->caps, &prog, err) < 0)
    return -1;
  if (spec->seccomp == HUSK_SECCOMP_PROFILE
      && husk_seccomp_build_profile (spec->seccomp_profile, strlen (spec->seccomp_profile),
                                     spec->caps, &prog, err)
             < 0)
    return -1;
  if (prog.filter)
    ctx.seccomp = &prog;

  if (pipe2 (go, O_CLOEXEC) < 0)
    {
      husk_seccomp_prog_clear (&prog);
      return husk_error_set (err, errno, "pipe");
    }
  if (pipe2 (report, O_CLOEXEC) < 0
      || (spec->tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tsock) < 0))
    {
      close (go[0]);
      close (go[1]);
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
  /* clone with a NULL stack behaves like fork, in new namespaces.  */
  pid = (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      int e = errno;
      close (go[0]);
      close (report[1]);
      if (tsock[1] >= 0)
        close (tsock[1]);
      husk_seccomp_prog_clear (&prog);
      if (e == EPERM || e == ENOSPC || e == EUSERS)
        return husk_error_set (err, e,
                               "create namespaces (are unprivileged user namespaces "
                               "enabled? see user.max_user_namespaces)");
      return husk_error_set (err, e, "create namespaces");
    }
  if (pid == 0)
    {
      husk_forward_child_reset ();
      signal (SIGPIPE, SIG_DFL);
      close (go[1]);
      close (report[0]);
      if (tsock[0] >= 0)
        close (tsock[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      container_child (&ctx);
    }
  close (go[0]);
  close (report[1]);
  if (tsock[1] >= 0)
    close (tsock[1]);
  husk_seccomp_prog_clear (&prog);
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
  if (spec->idmap == NULL && spec->device_cgroup != NULL
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
  int status, r;

  husk_forward_begin (&fwd);
  /* Without -t, pipes in place of the caller's terminal (relay.h).  */
  r = spec->tty ? 0 : husk_relay_open (&relay, spec->interactive, err);
  if (r == 0)
    r = husk_container_spawn (spec, relay.child, &proc, err);
  husk_relay_close_child (&relay);
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
  if (r == 0)
    {
      *ret_status = husk_wait_status (status);
      husk_container_after (spec, proc.userns, spec->after_err);
    }
  else if ((*err)->status == 0)
    (*err)->status = 125;
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
