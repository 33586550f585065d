#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "enter.h"
#include "mounts.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif

struct enter_job
{
  const struct husk_container_spec *spec;
  pid_t pid;
  int (*fn) (int rootfd, void *arg, struct husk_error **err);
  void *arg;
};

static int
call_with_root (struct enter_job *job, const char *root, struct husk_error **err)
{
  cleanup_close int rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (rootfd < 0)
    return husk_error_set (err, errno, "open the container's root");
  return job->fn (rootfd, job->arg, err);
}

/* In the child: into the running container's namespaces.  */
static int
enter_running (void *arg, struct husk_error **err)
{
  struct enter_job *job = arg;
  cleanup_close int pidfd = -1;
  int flags = CLONE_NEWNS | (job->spec->idmap ? CLONE_NEWUSER : 0);

  /* Once in the container's user namespace its root could otherwise ptrace this process
     and reach the host descriptors it holds.  */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return husk_error_set (err, errno, "prctl");
  pidfd = (int) syscall (SYS_pidfd_open, job->pid, 0);
  if (pidfd < 0)
    {
      if (errno == ESRCH)
        return husk_error_set (err, 0, "the container is no longer running");
      return husk_error_set (err, errno, "pidfd_open %d", (int) job->pid);
    }
  /* One call joins both, the user namespace first, so the mount namespace is joined with
     the capabilities its owner grants.  */
  if (setns (pidfd, flags) < 0)
    return husk_error_set (err, errno, "join the container's namespaces");
  return call_with_root (job, "/", err);
}

/* In the child, as root of its own user namespace (or real root): the overlay, privately.  */
static int
enter_stopped (void *arg, struct husk_error **err)
{
  struct enter_job *job = arg;
  const struct husk_container_spec *spec = job->spec;

  if (unshare (CLONE_NEWNS) < 0)
    return husk_error_set (err, errno, "create a mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return husk_error_set (err, errno, "make mounts private");
  if (husk_mount_overlay (spec->lowerdirs, spec->upperdir, spec->workdir, spec->rootfs,
                          spec->idmap != NULL, err)
      < 0)
    return -1;
  return call_with_root (job, spec->rootfs, err);
}

/* FN in a forked child; its error comes back through a pipe.  */
static int
run_child (int (*fn) (void *arg, struct husk_error **err), void *arg, struct husk_error **err)
{
  int report[2];
  cleanup_close int report_r = -1;
  cleanup_pid pid_t child = 0;
  int status, r;

  if (pipe2 (report, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  report_r = report[0];
  fflush (NULL);
  child = fork ();
  if (child < 0)
    {
      child = 0;
      close (report[1]);
      return husk_error_set (err, errno, "fork");
    }
  if (child == 0)
    {
      struct husk_error *cerr = NULL;
      close (report[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (fn (arg, &cerr) < 0)
        {
          fflush (NULL);
          husk_child_report (report[1], husk_error_status (cerr, 0), cerr);
          _exit (1);
        }
      fflush (NULL);
      _exit (0);
    }
  close (report[1]);
  r = husk_child_collect (report_r, err);
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "wait");
  child = 0;
  if (r > 0)
    return -1;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return husk_error_set (err, 0, "helper process failed (status %d)", status);
  return 0;
}

int
husk_rootfs_run (const struct husk_container_spec *spec, pid_t pid,
                 int (*fn) (int rootfd, void *arg, struct husk_error **err), void *arg,
                 struct husk_error **err)
{
  struct enter_job job = { .spec = spec, .pid = pid, .fn = fn, .arg = arg };

  if (pid > 0)
    return run_child (enter_running, &job, err);
  if (spec->idmap)
    return husk_userns_run (spec->idmap, enter_stopped, &job, err);
  return run_child (enter_stopped, &job, err);
}
