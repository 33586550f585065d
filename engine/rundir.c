/* The run directory (RUNDIR/ID) and a running container's pid file: see rundir.h.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups.h"
#include "cleanup.h"
#include "devices.h"
#include "record.h"
#include "net.h"
#include "rundir.h"
#include "util.h"
#include "banned.h"

int
husk_rundir (char **ret, struct husk_error **err)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  cleanup_free char *dir = NULL;
  struct stat st;

  if (geteuid () == 0)
    dir = husk_xstrdup ("/run/husk");
  else if (xdg && xdg[0] == '/' && access (xdg, W_OK | X_OK) == 0)
    dir = husk_strdup_printf ("%s/husk", xdg);
  else
    dir = husk_strdup_printf ("/tmp/husk-run-%u", (unsigned) geteuid ());
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "runtime directory \"%s\"", dir);
  /* Under /tmp another user could have made it first: it must be ours, and private.  */
  if (lstat (dir, &st) < 0)
    return husk_error_set (err, errno, "runtime directory \"%s\"", dir);
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    return husk_error_set (err, 0, "runtime directory \"%s\": not a private directory of this user",
                           dir);
  *ret = TAKE_PTR (dir);
  return 0;
}

int
husk_ctr_run_path (const struct husk_ctr *c, const char *name, char **ret, struct husk_error **err)
{
  cleanup_free char *dir = NULL;

  if (husk_rundir (&dir, err) < 0)
    return -1;
  *ret = name ? husk_strdup_printf ("%s/%s/%s", dir, c->id, name)
              : husk_strdup_printf ("%s/%s", dir, c->id);
  return 0;
}

/* RUNDIR/ID/pid: "PID PID_START MONITOR_PID MONITOR_START".  */
int
husk_ctr_write_pidfile (const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_close int dfd = -1;
  char buf[128];
  int len;

  if (husk_ctr_run_path (c, NULL, &dir, err) < 0)
    return -1;
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "create \"%s\"", dir);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0)
    return husk_error_set (err, errno, "open \"%s\"", dir);
  len = snprintf (buf, sizeof (buf), "%d %" PRIu64 " %d %" PRIu64 "\n", (int) c->pid, c->pid_start,
                  (int) c->monitor_pid, c->monitor_start);
  return husk_write_file_replace_at (dfd, "pid", buf, (size_t) len, 0600, err);
}

void
husk_ctr_remove_rundir (const struct husk_ctr *c)
{
  cleanup_free char *dir = NULL;
  cleanup_error struct husk_error *e = NULL;

  /* Its pasta goes first: it would quit by itself once the network namespace is gone, but
     not before the kernel has let go of it.  */
  husk_net_detach (c);
  if (husk_rundir (&dir, &e) < 0)
    return;
  {
    cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
      husk_rm_rf_at (dfd, c->id, NULL);
  }
  /* The container has exited (or its monitor is gone and husk_ctr_repair_state killed it): its
     device cgroup goes with its run directory.  Rootless there is none to remove.  */
  if (geteuid () == 0)
    husk_devices_cgroup_remove (c->id);
  /* Its resource cgroup likewise; a spec without limits never had one.  */
  if (husk_resources_set (&c->spec.resources))
    husk_cgroups_remove (c->id);
}

bool
husk_ctr_parse_pidfile (struct husk_ctr *c, const char *buf)
{
  int pid, mpid;
  uint64_t ps, ms;

  if (sscanf (buf, "%d %" SCNu64 " %d %" SCNu64, &pid, &ps, &mpid, &ms) != 4)
    return false;
  c->pid = pid;
  c->pid_start = ps;
  c->monitor_pid = mpid;
  c->monitor_start = ms;
  return true;
}

bool
husk_ctr_read_pidfile (struct husk_ctr *c)
{
  cleanup_free char *path = NULL, *buf = NULL;

  if (husk_ctr_run_path (c, "pid", &path, NULL) < 0
      || husk_read_file_at (AT_FDCWD, path, 256, &buf, NULL, NULL) < 0)
    return false;
  return husk_ctr_parse_pidfile (c, buf);
}
