/* runtime/devices.c: the rule lines, and the cgroup v2 device program enforced by the running
   kernel.  The program is checked on its own: attached to a fresh cgroup2 directory (at
   /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host) that a child process joins;
   the child stays in the root of any v1 devices hierarchy, which allows everything, so
   whatever it is denied, the program denied.  Needs root and cgroup2; skipped otherwise.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices.h"
#include "tap.h"

static void
skip (int n, const char *why)
{
  for (int i = 0; i < n; i++)
    printf ("ok %d - # SKIP %s\n", ++tap_n, why);
}

static void
test_format (void)
{
  static const struct husk_device_rule r[] = {
    { 'c', 1, 3, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
    { 'c', 136, HUSK_DEV_ANY, HUSK_DEV_READ | HUSK_DEV_WRITE },
    { 'b', HUSK_DEV_ANY, HUSK_DEV_ANY, HUSK_DEV_MKNOD },
    { 'a', 7, HUSK_DEV_ANY, HUSK_DEV_READ },
  };
  static const char *const want[] = { "c 1:3 rwm", "c 136:* rw", "b *:* m", "a 7:* r" };
  char buf[64];

  for (size_t i = 0; i < sizeof (r) / sizeof (r[0]); i++)
    {
      husk_device_rule_format (&r[i], buf, sizeof (buf));
      is_str (buf, want[i], "rule %zu as a v1 line", i);
    }
}

static const char *
cgroup2_root (void)
{
  static const char *const where[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
  struct statfs sf;

  for (size_t i = 0; i < 2; i++)
    if (statfs (where[i], &sf) == 0 && (long) sf.f_type == CGROUP2_SUPER_MAGIC)
      return where[i];
  return NULL;
}

/* What the child found, one errno (0: allowed) per check.  */
enum
{
  C_NULL_RW,
  C_URANDOM_R,
  C_FULL_W,
  C_KMSG_R,
  C_KMSG_W,
  C_MEM_R,
  C_LOOP_R,
  C_MKNOD_NULL,
  C_OPEN_MADE_NULL,
  C_MKNOD_KMSG,
  C_MKNOD_BLOCK,
  C_MKNOD_FIFO,
  C_N
};

static int
try_open (const char *path, int flags)
{
  int fd = open (path, flags | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

static int
try_mknod (const char *path, mode_t mode, dev_t dev)
{
  unlink (path);
  if (mknod (path, mode, dev) < 0)
    return errno;
  return 0;
}

static void
child (const char *procs, const char *dir, int out)
{
  int r[C_N];
  char pid[32], path[4096];
  int fd = open (procs, O_WRONLY | O_CLOEXEC);

  snprintf (pid, sizeof (pid), "%d", (int) getpid ());
  if (fd < 0 || write (fd, pid, strlen (pid)) < 0)
    _exit (3);
  close (fd);
  r[C_NULL_RW] = try_open ("/dev/null", O_RDWR);
  r[C_URANDOM_R] = try_open ("/dev/urandom", O_RDONLY);
  r[C_FULL_W] = try_open ("/dev/full", O_WRONLY);
  r[C_KMSG_R] = try_open ("/dev/kmsg", O_RDONLY);
  r[C_KMSG_W] = try_open ("/dev/kmsg", O_WRONLY);
  r[C_MEM_R] = try_open ("/dev/mem", O_RDONLY);
  r[C_LOOP_R] = try_open ("/dev/loop0", O_RDONLY);
  snprintf (path, sizeof (path), "%s/null", dir);
  r[C_MKNOD_NULL] = try_mknod (path, S_IFCHR | 0600, makedev (1, 3));
  r[C_OPEN_MADE_NULL] = r[C_MKNOD_NULL] ? -1 : try_open (path, O_RDWR);
  snprintf (path, sizeof (path), "%s/kmsg", dir);
  r[C_MKNOD_KMSG] = try_mknod (path, S_IFCHR | 0600, makedev (1, 11));
  snprintf (path, sizeof (path), "%s/disk", dir);
  r[C_MKNOD_BLOCK] = try_mknod (path, S_IFBLK | 0600, makedev (7, 0));
  snprintf (path, sizeof (path), "%s/fifo", dir);
  r[C_MKNOD_FIFO] = try_mknod (path, S_IFIFO | 0600, 0);
  if (write (out, r, sizeof (r)) != (ssize_t) sizeof (r))
    _exit (4);
  _exit (0);
}

static void
test_bpf (void)
{
  const int n_checks = C_N + 4;
  const char *root = cgroup2_root ();
  char cg[512], procs[1024], dir[] = "/tmp/husk-devtest.XXXXXX";
  int progfd, cgfd, p[2], r[C_N], status;
  struct husk_error *err = NULL;
  pid_t pid;
  ssize_t n;

  if (geteuid () != 0)
    {
      skip (n_checks, "the device program needs root");
      return;
    }
  if (root == NULL)
    {
      skip (n_checks, "cgroup2 is not mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified");
      return;
    }
  progfd = husk_devices_bpf_load (husk_devices_default, husk_devices_n_default, &err);
  ok (progfd >= 0, "the kernel's verifier accepts the program for the default rules%s%s",
      err ? ": " : "", err ? err->msg : "");
  husk_error_free (&err);
  snprintf (cg, sizeof (cg), "%s/husk-unit-%d", root, (int) getpid ());
  rmdir (cg);
  if (progfd < 0 || mkdir (cg, 0755) < 0 || mkdtemp (dir) == NULL)
    {
      printf ("# %s: %s\n", cg, strerror (errno));
      skip (n_checks - 1, "no program or cgroup");
      return;
    }
  cgfd = open (cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok (cgfd >= 0 && husk_devices_bpf_attach (cgfd, progfd, &err) == 0,
      "the program attaches to %s%s%s", cg, err ? ": " : "", err ? err->msg : "");
  husk_error_free (&err);
  snprintf (procs, sizeof (procs), "%s/cgroup.procs", cg);
  if (pipe (p) < 0 || (pid = fork ()) < 0)
    abort ();
  if (pid == 0)
    child (procs, dir, p[1]);
  close (p[1]);
  n = read (p[0], r, sizeof (r));
  waitpid (pid, &status, 0);
  ok (n == (ssize_t) sizeof (r), "the child joined the cgroup and reported (status %d)", status);
  if (n != (ssize_t) sizeof (r))
    memset (r, 0xff, sizeof (r));
  ok (r[C_NULL_RW] == 0, "/dev/null opens read-write (%s)", strerror (r[C_NULL_RW]));
  ok (r[C_URANDOM_R] == 0, "/dev/urandom opens (%s)", strerror (r[C_URANDOM_R]));
  ok (r[C_FULL_W] == 0, "/dev/full opens for writing (%s)", strerror (r[C_FULL_W]));
  ok (r[C_KMSG_R] == EPERM, "/dev/kmsg (1:11) is refused for reading (%s)", strerror (r[C_KMSG_R]));
  ok (r[C_KMSG_W] == EPERM, "/dev/kmsg is refused for writing (%s)", strerror (r[C_KMSG_W]));
  ok (r[C_MEM_R] == EPERM || r[C_MEM_R] == ENOENT, "/dev/mem (1:1) is refused (%s)",
      strerror (r[C_MEM_R]));
  ok (r[C_LOOP_R] == EPERM || r[C_LOOP_R] == ENOENT, "block device /dev/loop0 is refused (%s)",
      strerror (r[C_LOOP_R]));
  ok (r[C_MKNOD_NULL] == 0, "mknod of 1:3 is allowed (%s)", strerror (r[C_MKNOD_NULL]));
  ok (r[C_OPEN_MADE_NULL] == 0, "and that node opens (%s)", strerror (r[C_OPEN_MADE_NULL]));
  ok (r[C_MKNOD_KMSG] == EPERM, "mknod of 1:11 is refused (%s)", strerror (r[C_MKNOD_KMSG]));
  ok (r[C_MKNOD_BLOCK] == EPERM, "mknod of block 7:0 is refused (%s)", strerror (r[C_MKNOD_BLOCK]));
  ok (r[C_MKNOD_FIFO] == 0, "a fifo is not a device: allowed (%s)", strerror (r[C_MKNOD_FIFO]));
  {
    char path[4096];
    static const char *const names[] = { "null", "kmsg", "disk", "fifo" };
    for (size_t i = 0; i < 4; i++)
      {
        snprintf (path, sizeof (path), "%s/%s", dir, names[i]);
        unlink (path);
      }
    rmdir (dir);
  }
  close (p[0]);
  close (cgfd);
  close (progfd);
  ok (rmdir (cg) == 0, "the cgroup is removed once its process has exited");
}

int
main (void)
{
  test_format ();
  test_bpf ();
  return tap_done ();
}
