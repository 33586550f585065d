#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "export.h"
#include "mounts.h"
#include "record.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

struct export_job
{
  const struct husk_container_spec *spec;
  int outfd;
};

/* In the child: the merged view on the container's rootfs directory, privately, then the
   stream.  */
static int
export_in_child (void *arg, struct husk_error **err)
{
  struct export_job *job = arg;
  const struct husk_container_spec *spec = job->spec;
  cleanup_strv char **lowers = husk_xcalloc (1, sizeof (char *));
  cleanup_close int rootfd = -1;

  for (size_t i = 0; spec->lowerdirs && spec->lowerdirs[i]; i++)
    husk_strv_append (&lowers, spec->lowerdirs[i]);
  /* The upper directory as the topmost lower one: its whiteouts and opaque directories hide
     what the layers had, as they do in the container's own mount.  */
  husk_strv_append (&lowers, spec->upperdir);

  if (unshare (CLONE_NEWNS) < 0)
    return husk_error_set (err, errno, "create a mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return husk_error_set (err, errno, "make mounts private");
  if (husk_mount_overlay (lowers, NULL, NULL, spec->rootfs, spec->idmap != NULL, err) < 0)
    return -1;
  rootfd = open (spec->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return husk_error_set (err, errno, "open the container's root");
  return husk_copy_to_tar_export (rootfd, job->outfd, err);
}

int
husk_export (const struct husk_ctr *c, int outfd, struct husk_error **err)
{
  struct export_job job = { .spec = &c->spec, .outfd = outfd };

  if (c->spec.idmap)
    return husk_userns_run (c->spec.idmap, export_in_child, &job, err);
  /* As root the mount namespace is still the child's own, never this process's.  */
  return husk_child_run (export_in_child, &job, err);
}
