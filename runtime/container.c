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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "mounts.h"
#include "util.h"
#include "banned.h"

extern char **environ;

static volatile sig_atomic_t forward_pid;

static void
forward_signal (int sig)
{
  if (forward_pid > 0)
    kill ((pid_t) forward_pid, sig);
}

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define N_FORWARDED (sizeof (forwarded_signals) / sizeof (forwarded_signals[0]))

/* mkdir -p inside the container, where "/" is already the container's root.  */
static int
make_workdir (const char *cwd, struct husk_error **err)
{
  if (husk_mkdir_p (cwd, 0755, err) < 0)
    return -1;
  return 0;
}

/* The container's first process: everything between clone and exec.  It cannot return to a
   caller, so every failure goes to REPORT and ends in _exit.  */
static void __attribute__ ((noreturn))
container_child (const struct husk_container_spec *spec, int go, int report)
{
  struct husk_error *err = NULL;
  const char *argv0 = spec->args[0];
  char c;
  int status = 125;

  if (read (go, &c, 1) != 1)
    _exit (125); /* The parent is gone.  */
  close (go);

  if (spec->idmap)
    {
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        {
          husk_error_set (&err, errno, "become root in the user namespace");
          goto fail;
        }
      /* Denied in a single-id namespace; otherwise the host's groups must not come along.  */
      if (setgroups (0, NULL) < 0 && errno != EPERM)
        {
          husk_error_set (&err, errno, "setgroups");
          goto fail;
        }
    }
  if (sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    {
      husk_error_set (&err, errno, "set hostname");
      goto fail;
    }
  /* Nothing mounted here may propagate back to the host.  */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      husk_error_set (&err, errno, "make mounts private");
      goto fail;
    }
  if (husk_mount_overlay (spec->lowerdirs, spec->upperdir, spec->workdir, spec->rootfs,
                          spec->idmap != NULL, &err)
          < 0
      || husk_setup_rootfs (spec->rootfs, &err) < 0)
    goto fail;

  /* Its own session: no way to reach the caller's terminal as a controlling tty.  */
  setsid ();

  environ = spec->env;
  if (spec->cwd && *spec->cwd)
    {
      if (make_workdir (spec->cwd, &err) < 0 || chdir (spec->cwd) < 0)
        {
          if (err == NULL)
            husk_error_set (&err, errno, "chdir \"%s\"", spec->cwd);
          husk_error_wrap (&err, "working directory");
          goto fail;
        }
    }

  /* Nothing of husk's reaches the container: every descriptor above stdio closes on exec.  */
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 3; fd < 1024; fd++)
      if (fd != report)
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

fail:
  husk_child_report (report, husk_error_status (err, status), err);
  _exit (husk_error_status (err, status));
}

int
husk_container_run (const struct husk_container_spec *spec, int *ret_status,
                    struct husk_error **err)
{
  int go[2], report[2];
  cleanup_close int go_w = -1, report_r = -1;
  struct sigaction sa, old[N_FORWARDED];
  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  pid_t pid;
  int status, r;

  if (spec->args == NULL || spec->args[0] == NULL || *spec->args[0] == '\0')
    return husk_error_set (err, 0, "no command to run: the image has no Entrypoint or Cmd");
  if (spec->idmap)
    flags |= CLONE_NEWUSER;

  if (pipe2 (go, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      close (go[0]);
      close (go[1]);
      return husk_error_set (err, errno, "pipe");
    }
  go_w = go[1];
  report_r = report[0];

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = forward_signal;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded_signals[i], &sa, &old[i]);

  fflush (NULL);
  /* clone with a NULL stack behaves like fork, in new namespaces.  */
  pid = (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      int e = errno;
      close (go[0]);
      close (report[1]);
      for (size_t i = 0; i < N_FORWARDED; i++)
        sigaction (forwarded_signals[i], &old[i], NULL);
      if (e == EPERM || e == ENOSPC || e == EUSERS)
        return husk_error_set (err, e, "create namespaces (are unprivileged user namespaces "
                                       "enabled? see user.max_user_namespaces)");
      return husk_error_set (err, e, "create namespaces");
    }
  if (pid == 0)
    {
      for (size_t i = 0; i < N_FORWARDED; i++)
        signal (forwarded_signals[i], SIG_DFL);
      close (go[1]);
      close (report[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      container_child (spec, go[0], report[1]);
    }
  close (go[0]);
  close (report[1]);
  forward_pid = pid;

  if (spec->idmap && husk_idmap_apply (spec->idmap, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      r = -1;
      husk_error_wrap (err, "user namespace");
      goto out;
    }
  if (write (go_w, "g", 1) != 1)
    {
      husk_error_set (err, errno, "start container");
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      r = -1;
      goto out;
    }
  close (TAKE_FD (go_w));

  /* The report pipe closes on exec: data means setup or exec failed.  */
  r = husk_child_collect (report_r, err) > 0 ? -1 : 0;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        if (r == 0)
          husk_error_set (err, errno, "wait for the container");
        r = -1;
        goto out;
      }
  if (r == 0)
    *ret_status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  else if ((*err)->status == 0)
    (*err)->status = 125;

out:
  forward_pid = 0;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded_signals[i], &old[i], NULL);
  return r;
}
