#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "mounts.h"
#include "safepath.h"
#include "util.h"
#include "banned.h"

/* The kernel's message for a failed fsconfig, read back from the fs context.  */
static void
context_message (int fsfd, char *buf, size_t size)
{
  ssize_t n;

  buf[0] = '\0';
  n = read (fsfd, buf, size - 1);
  if (n <= 0)
    {
      buf[0] = '\0';
      return;
    }
  buf[n] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
}

char *
husk_overlay_escape (const char *path)
{
  char *out = husk_xmalloc (2 * strlen (path) + 1);
  size_t o = 0;

  for (const char *p = path; *p; p++)
    {
      if (*p == ',' || *p == ':' || *p == '\\')
        out[o++] = '\\';
      out[o++] = *p;
    }
  out[o] = '\0';
  return out;
}

/* Kernels before 6.8 have no lowerdir+: one option string, which must fit a page.  */
static int
mount_overlay_legacy (char *const *lowerdirs, const char *upper, const char *work,
                      const char *target, bool rootless, struct husk_error **err)
{
  cleanup_free char *data = NULL;
  cleanup_free char *lower = husk_xstrdup ("");
  size_t n = husk_strv_len (lowerdirs);

  for (size_t i = n; i-- > 0;)
    {
      cleanup_free char *esc = husk_overlay_escape (lowerdirs[i]);
      char *t = husk_strdup_printf ("%s%s%s", lower, *lower ? ":" : "", esc);
      free (lower);
      lower = t;
    }
  if (upper)
    {
      cleanup_free char *u = husk_overlay_escape (upper);
      cleanup_free char *w = husk_overlay_escape (work);
      data = husk_strdup_printf ("lowerdir=%s,upperdir=%s,workdir=%s%s", lower, u, w,
                                 rootless ? ",userxattr" : "");
    }
  else
    data = husk_strdup_printf ("lowerdir=%s%s", lower, rootless ? ",userxattr" : "");
  if (strlen (data) >= (size_t) sysconf (_SC_PAGESIZE))
    return husk_error_set (err, 0, "mount overlay: %zu layers do not fit this kernel's option page",
                           n);
  if (mount ("overlay", target, "overlay", MS_NODEV, data) < 0)
    return husk_error_set (err, errno, "mount overlay on \"%s\"", target);
  return 0;
}

int
husk_mount_overlay (char *const *lowerdirs, const char *upper, const char *work, const char *target,
                    bool rootless, struct husk_error **err)
{
  cleanup_close int fsfd = -1;
  cleanup_close int mfd = -1;
  char msg[256];

  fsfd = fsopen ("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    {
      if (errno == ENOSYS)
        return mount_overlay_legacy (lowerdirs, upper, work, target, rootless, err);
      return husk_error_set (err, errno, "mount overlay: fsopen");
    }
  /* lowerdir+ takes one layer per call, uppermost first, so no option string limits how many
     layers an image may have.  */
  for (size_t i = husk_strv_len (lowerdirs); i-- > 0;)
    if (fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowerdirs[i], 0) < 0)
      {
        if (errno == EINVAL && i + 1 == husk_strv_len (lowerdirs))
          return mount_overlay_legacy (lowerdirs, upper, work, target, rootless, err);
        context_message (fsfd, msg, sizeof (msg));
        return husk_error_set (err, errno, "mount overlay: lower \"%s\"%s%s", lowerdirs[i],
                               *msg ? ": " : "", msg);
      }
  if ((upper && fsconfig (fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0)
      || (upper && fsconfig (fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
      || (rootless && fsconfig (fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
      || fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      int e = errno;
      context_message (fsfd, msg, sizeof (msg));
      return husk_error_set (err, e, "mount overlay%s%s", *msg ? ": " : "", msg);
    }
  /* nodev: no device node in an image's layers or the upper layer opens a device.  */
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
  if (mfd < 0)
    return husk_error_set (err, errno, "mount overlay: fsmount");
  if (move_mount (mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return husk_error_set (err, errno, "mount overlay on \"%s\"", target);
  return 0;
}

/* A detached mount of a new filesystem, ready to be attached after pivot_root.  */
static int
new_fs (const char *type, const char *const *opts, unsigned attrs, struct husk_error **err)
{
  cleanup_close int fsfd = fsopen (type, FSOPEN_CLOEXEC);
  char msg[256];
  int mfd;

  if (fsfd < 0)
    return husk_error_set (err, errno, "mount %s", type);
  for (size_t i = 0; opts && opts[i]; i += 2)
    {
      int r = opts[i + 1] ? fsconfig (fsfd, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0)
                          : fsconfig (fsfd, FSCONFIG_SET_FLAG, opts[i], NULL, 0);
      if (r < 0)
        {
          int e = errno;
          context_message (fsfd, msg, sizeof (msg));
          return husk_error_set (err, e, "mount %s: option \"%s\"%s%s", type, opts[i],
                                 *msg ? ": " : "", msg);
        }
    }
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      int e = errno;
      context_message (fsfd, msg, sizeof (msg));
      return husk_error_set (err, e, "mount %s%s%s", type, *msg ? ": " : "", msg);
    }
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, attrs);
  if (mfd < 0)
    return husk_error_set (err, errno, "mount %s", type);
  return mfd;
}

static int
attach (int mfd, const char *path, struct husk_error **err)
{
  if (move_mount (mfd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return husk_error_set (err, errno, "mount on \"%s\"", path);
  return 0;
}

static int
ensure_dir (const char *path, mode_t mode, struct husk_error **err)
{
  if (mkdir (path, mode) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "mkdir \"%s\"", path);
  return 0;
}

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define N_DEV_NODES (sizeof (dev_nodes) / sizeof (dev_nodes[0]))

#define N_ELEMS(a) (sizeof (a) / sizeof ((a)[0]))

static int
setattr_ro (int mfd, bool recursive, const char *what, struct husk_error **err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (mount_setattr (mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof (attr))
      < 0)
    return husk_error_set (err, errno, "make \"%s\" read-only", what);
  return 0;
}

/* A volume: nodev all the way down (a node on the host's filesystem, or one the container
   makes there, opens nothing from inside), and read-only when READONLY.  */
static int
set_bind_attrs (int mfd, bool readonly, const char *what, struct husk_error **err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0) };
  if (mount_setattr (mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof (attr)) < 0)
    return husk_error_set (err, errno, "volume \"%s\": set nodev%s", what,
                           readonly ? " and read-only" : "");
  return 0;
}

/* DEST (absolute, in the container) as a descriptor to mount on.  Resolved below "/" as the
   container sees its tree, through every symlink, the last component's too, as podman does:
   an image whose /etc/localtime links to a zoneinfo file it lacks gets the volume on that
   file, made inside the root.  A missing directory is made on the way, and a missing last
   component as a directory, or an empty file when FILE.  Nothing leads out of the root, and
   nothing onto the container's /proc (CVE-2019-19921): a mount there would cover the kernel's
   files, and /proc/PID links reach descriptors and roots of husk's (CVE-2024-45310).  The
   mount goes onto the descriptor, never a path looked up again, so a symlink swapped in
   after the walk is not followed (CVE-2021-30465).  */
static int
open_mountpoint (const char *dest, bool file, struct husk_error **err)
{
  cleanup_close int rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd;

  if (rootfd < 0)
    return husk_error_set (err, errno, "open \"/\"");
  fd = husk_mkpath_in_root (rootfd, dest, file ? HUSK_MKPATH_FILE : HUSK_MKPATH_DIR, true);
  if (fd == -EXDEV)
    return husk_error_set (err, 0, "mount on \"%s\": refused: it resolves into /proc", dest);
  if (fd == -ELOOP)
    return husk_error_set (err, 0,
                           "mount on \"%s\": refused: a symlink loop (more than 40 "
                           "symlinks)",
                           dest);
  if (fd < 0)
    return husk_error_set (err, -fd, "mount on \"%s\"", dest);
  return fd;
}

/* tmpfs options for --tmpfs: "size=64m,mode=1777"; the flag-like ones become mount attributes.  */
static int
new_tmpfs (const char *options, bool readonly, struct husk_error **err)
{
  cleanup_free char *copy = husk_xstrdup (options ? options : "");
  const char *opts[32];
  size_t n = 0;
  unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  bool has_mode = false;
  char *save = NULL;

  for (char *o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (o, '=');
      if (strcmp (o, "ro") == 0)
        readonly = true;
      else if (strcmp (o, "rw") == 0)
        readonly = false;
      else if (strcmp (o, "exec") == 0)
        attrs &= ~(unsigned) MOUNT_ATTR_NOEXEC;
      else if (strcmp (o, "noexec") == 0)
        attrs |= MOUNT_ATTR_NOEXEC;
      else if (strcmp (o, "suid") == 0)
        attrs &= ~(unsigned) MOUNT_ATTR_NOSUID;
      else if (strcmp (o, "nosuid") == 0)
        attrs |= MOUNT_ATTR_NOSUID;
      else if (strcmp (o, "dev") == 0)
        return husk_error_set (err, 0,
                               "option \"dev\" is not supported: every writable mount "
                               "in a container is nodev");
      else if (strcmp (o, "nodev") == 0)
        ; /* Always.  */
      else if (n + 2 < N_ELEMS (opts) - 1)
        {
          if (eq)
            *eq++ = '\0';
          has_mode |= strcmp (o, "mode") == 0;
          opts[n++] = o;
          opts[n++] = eq;
        }
    }
  if (!has_mode && n + 2 < N_ELEMS (opts))
    {
      opts[n++] = "mode";
      opts[n++] = "1777";
    }
  opts[n] = NULL;
  if (readonly)
    attrs |= MOUNT_ATTR_RDONLY;
  return new_fs ("tmpfs", opts, attrs, err);
}

/* SPEC's masked and read-only paths, after /proc and /sys are in place.  */
static int
mask_paths (const struct husk_container_spec *spec, struct husk_error **err)
{
  static const char *const ro_opts[] = { "mode", "755", "size", "0", NULL };
  cleanup_close int nullfd = -1, emptyfd = -1;

  for (size_t i = 0; spec->masked_paths && spec->masked_paths[i]; i++)
    {
      const char *p = spec->masked_paths[i];
      cleanup_close int m = -1;
      struct stat st;

      if (p[0] != '/')
        return husk_error_set (err, 0, "masked path \"%s\": not an absolute path", p);
      if (stat (p, &st) < 0)
        continue; /* Not on this kernel.  */
      if (S_ISDIR (st.st_mode))
        {
          if (emptyfd < 0)
            {
              emptyfd = new_fs ("tmpfs", ro_opts,
                                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
                                    | MOUNT_ATTR_NOEXEC,
                                err);
              if (emptyfd < 0)
                return -1;
            }
          m = (int) open_tree (emptyfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        }
      else
        {
          if (nullfd < 0)
            {
              struct stat nst;
              nullfd = open ("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
              if (nullfd < 0)
                return husk_error_set (err, errno, "open \"/dev/null\"");
              /* What masks the kernel's files must be the null device, never whatever a
                 symlink there leads to (CVE-2025-31133): masks come before any volume, and
                 the node is checked all the same.  */
              if (fstat (nullfd, &nst) < 0 || !S_ISCHR (nst.st_mode)
                  || nst.st_rdev != makedev (1, 3))
                return husk_error_set (err, 0, "mask: \"/dev/null\" is not the null device");
            }
          m = (int) open_tree (nullfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        }
      if (m < 0)
        return husk_error_set (err, errno, "mask \"%s\"", p);
      if (move_mount (m, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return husk_error_set (err, errno, "mask \"%s\"", p);
    }
  for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
    {
      const char *p = spec->readonly_paths[i];
      cleanup_close int m = -1;

      if (p[0] != '/')
        return husk_error_set (err, 0, "read-only path \"%s\": not an absolute path", p);
      m = (int) open_tree (AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
      if (m < 0)
        {
          if (errno == ENOENT)
            continue;
          return husk_error_set (err, errno, "bind \"%s\"", p);
        }
      if (setattr_ro (m, true, p, err) < 0)
        return -1;
      if (move_mount (m, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return husk_error_set (err, errno, "make \"%s\" read-only", p);
    }
  return 0;
}

int
husk_setup_rootfs (const struct husk_container_spec *spec, struct husk_error **err)
{
  static const char *const dev_opts[] = { "mode", "755", "size", "65536k", NULL };
  static const char *const pts_opts[]
      = { "newinstance", NULL, "ptmxmode", "0666", "mode", "0620", NULL };
  static const char *const shm_opts[] = { "mode", "1777", "size", "65536k", NULL };
  const unsigned nse = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  cleanup_close int procfd = -1, devfd = -1, ptsfd = -1, shmfd = -1, mqfd = -1, sysfd = -1;
  cleanup_close int cgfd = -1;
  int nodefds[N_DEV_NODES];
  cleanup_free int *mfds = husk_xcalloc (spec->n_mounts + 1, sizeof (int));
  const char *target = spec->rootfs;
  int ret = -1;

  for (size_t i = 0; i < N_DEV_NODES; i++)
    nodefds[i] = -1;
  for (size_t i = 0; i < spec->n_mounts; i++)
    mfds[i] = -1;

  /* Every filesystem is created while the host's /proc and /sys are still in this mount
     namespace: the kernel only lets a user namespace mount proc or sysfs where a fully visible
     one exists.  */
  procfd = new_fs ("proc", NULL, nse, err);
  if (procfd < 0)
    goto out;
  /* /dev is nodev: the default nodes are bind mounts of the host's, each a mount of its own;
     a node made in /dev itself opens nothing.  devpts stays dev: its ptys are opened.  */
  devfd = new_fs ("tmpfs", dev_opts, nse, err);
  if (devfd < 0)
    goto out;
  ptsfd = new_fs ("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
  if (ptsfd < 0)
    goto out;
  shmfd = new_fs ("tmpfs", shm_opts, nse, err);
  if (shmfd < 0)
    goto out;
  mqfd = new_fs ("mqueue", NULL, nse, err);
  if (mqfd < 0)
    goto out;
  /* A new sysfs shows the network namespace that mounts it, and only its owner may: with the
     caller's network (none in the list) the host's /sys is bound in instead, read-only all the
     way down.  A joined network namespace gets a sysfs of its own too (its interfaces).  */
  if (husk_ns_find (spec->namespaces, spec->n_namespaces, HUSK_NS_NET))
    sysfd = new_fs ("sysfs", NULL, nse | MOUNT_ATTR_RDONLY, err);
  else
    {
      sysfd
          = (int) open_tree (AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
      if (sysfd < 0)
        husk_error_set (err, errno, "bind \"/sys\"");
      else if (setattr_ro (sysfd, true, "/sys", err) < 0)
        goto out;
    }
  if (sysfd < 0)
    goto out;
  {
    /* The cgroup2 hierarchy on /sys/fs/cgroup, read-only and rooted at the container's cgroup
       namespace, as Docker and podman mount it (also on a host whose own /sys/fs/cgroup is
       the hybrid v1 layout).  Where the kernel refuses, /sys/fs/cgroup stays as it is.  */
    struct husk_error *cgerr = NULL;
    cgfd = new_fs ("cgroup2", NULL, nse | MOUNT_ATTR_RDONLY, &cgerr);
    husk_error_free (&cgerr);
  }
  /* Device nodes are the host's, bound in: a user namespace may not create them.  */
  for (size_t i = 0; i < N_DEV_NODES; i++)
    {
      char path[32];
      snprintf (path, sizeof (path), "/dev/%s", dev_nodes[i]);
      nodefds[i] = (int) open_tree (AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (nodefds[i] < 0)
        {
          husk_error_set (err, errno, "bind \"%s\"", path);
          goto out;
        }
    }
  /* Volumes are looked up on the host, as the caller's user, before pivot_root.  */
  for (size_t i = 0; i < spec->n_mounts; i++)
    {
      const struct husk_mount *m = &spec->mounts[i];
      if (m->kind == HUSK_MOUNT_BIND)
        {
          mfds[i] = (int) open_tree (AT_FDCWD, m->source,
                                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
          if (mfds[i] < 0)
            {
              husk_error_set (err, errno, "volume \"%s\"", m->source);
              goto out;
            }
          if (set_bind_attrs (mfds[i], m->readonly, m->source, err) < 0)
            goto out;
        }
      else
        {
          mfds[i] = new_tmpfs (m->options, m->readonly, err);
          if (mfds[i] < 0)
            {
              husk_error_wrap (err, "tmpfs \"%s\"", m->dest);
              goto out;
            }
        }
    }

  if (chdir (target) < 0)
    {
      husk_error_set (err, errno, "chdir \"%s\"", target);
      goto out;
    }
  /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the
     container's tree, with no directory needed for the old root.  */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    {
      husk_error_set (err, errno, "pivot_root \"%s\"", target);
      goto out;
    }
  if (umount2 (".", MNT_DETACH) < 0)
    {
      husk_error_set (err, errno, "detach the old root");
      goto out;
    }
  if (chdir ("/") < 0)
    {
      husk_error_set (err, errno, "chdir \"/\"");
      goto out;
    }

  /* From here paths resolve inside the container: a symlink in the image cannot lead out.  */
  if (ensure_dir ("/proc", 0555, err) < 0 || attach (procfd, "/proc", err) < 0)
    goto out;
  if (ensure_dir ("/sys", 0555, err) < 0 || attach (sysfd, "/sys", err) < 0)
    goto out;
  if (cgfd >= 0)
    {
      struct husk_error *cgerr = NULL;
      attach (cgfd, "/sys/fs/cgroup", &cgerr);
      husk_error_free (&cgerr);
    }
  if (ensure_dir ("/dev", 0755, err) < 0 || attach (devfd, "/dev", err) < 0)
    goto out;
  for (size_t i = 0; i < N_DEV_NODES; i++)
    {
      char path[32];
      int fd;
      snprintf (path, sizeof (path), "/dev/%s", dev_nodes[i]);
      fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
      if (fd < 0)
        {
          husk_error_set (err, errno, "create \"%s\"", path);
          goto out;
        }
      close (fd);
      if (attach (nodefds[i], path, err) < 0)
        goto out;
    }
  if (ensure_dir ("/dev/pts", 0755, err) < 0 || attach (ptsfd, "/dev/pts", err) < 0
      || ensure_dir ("/dev/shm", 01777, err) < 0 || attach (shmfd, "/dev/shm", err) < 0
      || ensure_dir ("/dev/mqueue", 01777, err) < 0 || attach (mqfd, "/dev/mqueue", err) < 0)
    goto out;
  {
    static const char *const links[][2] = {
      { "pts/ptmx", "/dev/ptmx" },          { "/proc/self/fd", "/dev/fd" },
      { "/proc/self/fd/0", "/dev/stdin" },  { "/proc/self/fd/1", "/dev/stdout" },
      { "/proc/self/fd/2", "/dev/stderr" },
    };
    for (size_t i = 0; i < sizeof (links) / sizeof (links[0]); i++)
      if (symlink (links[i][0], links[i][1]) < 0)
        {
          husk_error_set (err, errno, "symlink \"%s\"", links[i][1]);
          goto out;
        }
  }
  if (mask_paths (spec, err) < 0)
    goto out;
  for (size_t i = 0; i < spec->n_mounts; i++)
    {
      const struct husk_mount *m = &spec->mounts[i];
      bool file = false;
      if (m->kind == HUSK_MOUNT_BIND)
        {
          struct stat st;
          if (fstat (mfds[i], &st) < 0)
            {
              husk_error_set (err, errno, "volume \"%s\"", m->source);
              goto out;
            }
          file = !S_ISDIR (st.st_mode);
        }
      {
        cleanup_close int mp = open_mountpoint (m->dest, file, err);
        bool ok = mp >= 0;
        if (ok
            && move_mount (mfds[i], "", mp, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
                   < 0)
          {
            husk_error_set (err, errno, "mount on \"%s\"", m->dest);
            ok = false;
          }
        if (!ok)
          {
            husk_error_wrap (err, "%s \"%s\"", m->kind == HUSK_MOUNT_BIND ? "volume" : "tmpfs",
                             m->kind == HUSK_MOUNT_BIND ? m->source : m->dest);
            goto out;
          }
      }
    }
  ret = 0;

out:
  for (size_t i = 0; i < N_DEV_NODES; i++)
    if (nodefds[i] >= 0)
      close (nodefds[i]);
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (mfds[i] >= 0)
      close (mfds[i]);
  return ret;
}

int
husk_rootfs_readonly (struct husk_error **err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (mount_setattr (AT_FDCWD, "/", 0, &attr, sizeof (attr)) < 0)
    return husk_error_set (err, errno, "make the root filesystem read-only");
  return 0;
}
