#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#include "enter.h"
#include "mounts.h"
#include "safepath.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

struct enter_job
{
  const struct husk_container_spec *spec;
  int pidfd;
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

/* In the child: into the running container's namespaces, through the pidfd its caller
   took while the record still named the process, so a recycled pid can never be joined.  */
static int
enter_running (void *arg, struct husk_error **err)
{
  struct enter_job *job = arg;
  int flags = CLONE_NEWNS | (husk_container_in_userns (job->spec) ? CLONE_NEWUSER : 0);

  /* Once in the container's user namespace its root could otherwise ptrace this process
     and reach the host descriptors it holds.  */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return husk_error_set (err, errno, "prctl");
  /* One call joins both, the user namespace first, so the mount namespace is joined with
     the capabilities its owner grants.  */
  if (setns (job->pidfd, flags) < 0)
    {
      if (errno == ESRCH)
        return husk_error_set (err, ESRCH, "the container has exited");
      return husk_error_set (err, errno, "join the container's namespaces");
    }
  return call_with_root (job, "/", err);
}

/* The container's volumes where it has them, as when it runs, so a copy to or from a path
   below one reaches the volume; a destination is resolved as the container's start resolves
   it, through every symlink and inside the root.  A mount point that is missing (a container that
   never ran) or is not a directory or file is left alone; tmpfs mounts hold nothing while it is
   stopped.  */
static int
bind_volumes (const struct husk_container_spec *spec, int rootfd, struct husk_error **err)
{
  for (size_t i = 0; i < spec->n_mounts; i++)
    {
      const struct husk_mount *m = &spec->mounts[i];
      cleanup_close int mfd = -1, target = -1;
      struct stat st;

      if (m->kind != HUSK_MOUNT_BIND)
        continue;
      /* Through symlinks, the last one's too, as when it runs (open_mountpoint).  */
      target = husk_mkpath_in_root (rootfd, m->dest, HUSK_MKPATH_NONE, true);
      if (target < 0 || fstat (target, &st) < 0 || !(S_ISDIR (st.st_mode) || S_ISREG (st.st_mode)))
        continue;
      mfd = (int) open_tree (AT_FDCWD, m->source,
                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
      if (mfd < 0)
        return husk_error_set (err, errno, "volume \"%s\"", m->source);
      {
        /* nodev as in the container (the overlay itself is, husk_mount_overlay).  */
        struct mount_attr attr
            = { .attr_set = MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0) };
        if (mount_setattr (mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof (attr)) < 0)
          return husk_error_set (err, errno, "volume \"%s\": set nodev%s", m->source,
                                 m->readonly ? " and read-only" : "");
      }
      if (move_mount (mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return husk_error_set (err, errno, "volume \"%s\" on \"%s\"", m->source, m->dest);
    }
  return 0;
}

/* In the child, as root of its own user namespace (or real root): the overlay, privately.  */
static int
enter_stopped (void *arg, struct husk_error **err)
{
  struct enter_job *job = arg;
  const struct husk_container_spec *spec = job->spec;
  cleanup_close int rootfd = -1;

  if (unshare (CLONE_NEWNS) < 0)
    return husk_error_set (err, errno, "create a mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return husk_error_set (err, errno, "make mounts private");
  if (husk_mount_overlay (spec->lowerdirs, spec->upperdir, spec->workdir, spec->rootfs,
                          spec->idmap != NULL, err)
      < 0)
    return -1;
  rootfd = open (spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return husk_error_set (err, errno, "open the container's root");
  if (bind_volumes (spec, rootfd, err) < 0)
    return -1;
  return job->fn (rootfd, job->arg, err);
}

int
husk_rootfs_run (const struct husk_container_spec *spec, int pidfd,
                 int (*fn) (int rootfd, void *arg, struct husk_error **err), void *arg,
                 struct husk_error **err)
{
  struct enter_job job = { .spec = spec, .pidfd = pidfd, .fn = fn, .arg = arg };

  /* A running container's overlay is only ever reached through its own mount namespace:
     overlayfs does not support one upper directory in two mounts.  Nothing yet keeps the
     container from being started while a stopped one is mounted here (records have no lock
     for it); the window is the length of the copy.  */
  if (pidfd >= 0)
    return husk_child_run (enter_running, &job, err);
  if (spec->idmap)
    return husk_userns_run (spec->idmap, enter_stopped, &job, err);
  return husk_child_run (enter_stopped, &job, err);
}
