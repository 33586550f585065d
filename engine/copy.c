#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "safepath.h"
#include "util.h"
#include "banned.h"

struct copy_link
{
  dev_t dev; /* The source's.  */
  ino_t ino;
  char *rel;     /* Where its first copy went, below DSTROOT.  */
  dev_t dst_dev; /* And what that first copy is.  */
  ino_t dst_ino;
};

struct copy_ctx
{
  const struct husk_copy_opts *o;
  int dstroot;
  struct copy_link *links;
  size_t n_links;
};

static void
ctx_clear (struct copy_ctx *c)
{
  for (size_t i = 0; i < c->n_links; i++)
    free (c->links[i].rel);
  free (c->links);
}

static char *
join (const char *rel, const char *name)
{
  return husk_strdup_printf ("%s%s%s", rel, *rel ? "/" : "", name);
}

/* Make room for DSTNAME: an existing directory stays when WANT_DIR, anything else goes.  */
static int
clear_dst (int dstdir, const char *dstname, const char *rel, bool want_dir, bool *ret_is_dir,
           struct husk_error **err)
{
  struct stat st;

  *ret_is_dir = false;
  if (fstatat (dstdir, dstname, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return husk_error_set (err, errno, "\"%s\"", rel);
    }
  if (S_ISDIR (st.st_mode))
    {
      if (want_dir)
        {
          *ret_is_dir = true;
          return 0;
        }
      return husk_error_set (err, 0, "\"%s\": cannot overwrite a directory with a non-directory",
                             rel);
    }
  if (unlinkat (dstdir, dstname, 0) < 0)
    return husk_error_set (err, errno, "\"%s\": remove", rel);
  return 0;
}

static int
copy_data (int in, int out, const char *rel, struct husk_error **err)
{
  char buf[128 * 1024];
  bool cfr = true;

  for (;;)
    {
      ssize_t n;
      if (cfr)
        {
          n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);
          if (n < 0
              && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP
                  || errno == EBADF))
            {
              cfr = false;
              continue;
            }
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return husk_error_set (err, errno, "\"%s\": copy", rel);
          if (n == 0)
            {
              /* Files on /proc and the like say 0 to copy_file_range: read them.  */
              cfr = false;
              continue;
            }
          continue;
        }
      n = read (in, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_set (err, errno, "\"%s\": read", rel);
      if (n == 0)
        return 0;
      if (husk_write_all (out, buf, (size_t) n) < 0)
        return husk_error_set (err, errno, "\"%s\": write", rel);
    }
}

void
husk_copy_warn_device (const char *rel)
{
  fprintf (stderr, "husk: warning: \"%s\": a device node is not copied\n", rel);
}

int
husk_copy_open_regular (int dirfd, const char *name, const struct stat *st, const char *rel,
                        struct husk_error **err)
{
  struct stat now;
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    return husk_error_set (err, errno, "\"%s\"", rel);
  if (fstat (fd, &now) < 0)
    {
      int e = errno;
      close (fd);
      return husk_error_set (err, e, "\"%s\"", rel);
    }
  if (!S_ISREG (now.st_mode) || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
    {
      close (fd);
      return husk_error_set (err, 0, "\"%s\": replaced while it was being copied", rel);
    }
  return fd;
}

/* Owner (the container's root for copies into one, the source's with cp -a, else left to
   the copier), mode (without set-id bits unless asked), times: in that order, as chown clears
   the set-id bits.  FD, or NAME in DIRFD for what is not opened (symlinks, fifos), never
   through a symlink.  */
static int
set_meta (struct copy_ctx *c, int fd, int dirfd, const char *name, const struct stat *st,
          const char *rel, struct husk_error **err)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  mode_t mode = st->st_mode & 07777;

  if (!c->o->keep_setid)
    mode &= ~(mode_t) (S_ISUID | S_ISGID);
  if (c->o->chown_root || c->o->keep_owner)
    {
      uid_t uid = c->o->keep_owner ? st->st_uid : 0;
      gid_t gid = c->o->keep_owner ? st->st_gid : 0;
      int r
          = fd >= 0 ? fchown (fd, uid, gid) : fchownat (dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
      /* EINVAL: an id this user namespace does not map, which the copier keeps.  */
      if (r < 0 && !(c->o->keep_owner && errno == EINVAL))
        return husk_error_set (err, errno, "\"%s\": chown", rel);
    }
  if (!S_ISLNK (st->st_mode))
    {
      int r = fd >= 0 ? (fchmod (fd, mode) < 0 ? -errno : 0)
                      : husk_chmod_at_nofollow (dirfd, name, mode);
      if (r < 0)
        return husk_error_set (err, -r, "\"%s\": chmod", rel);
    }
  if ((fd >= 0 ? futimens (fd, ts) : utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW)) < 0)
    return husk_error_set (err, errno, "\"%s\": set times", rel);
  return 0;
}

/* DSTNAME in DSTDIR as a second name of L's first copy.  That copy is looked up again below
   the destination's root one component at a time, never through a symlink nor above the
   root (a container that can write there may have swapped a directory on the way for a link
   to a host directory), and must still be the inode this copy wrote.  */
static int
link_again (struct copy_ctx *c, const struct copy_link *l, int dstdir, const char *dstname,
            const char *rel, struct husk_error **err)
{
  cleanup_free char *dir = husk_xstrdup (l->rel);
  cleanup_close int parent = -1;
  char *slash = strrchr (dir, '/');
  const char *name = l->rel;
  struct stat st;

  if (slash)
    {
      *slash = '\0';
      name = slash + 1;
      parent
          = husk_open_in_root (c->dstroot, dir, O_PATH | O_DIRECTORY, 0, HUSK_RESOLVE_NO_SYMLINKS);
    }
  else
    {
      parent = fcntl (c->dstroot, F_DUPFD_CLOEXEC, 3);
      if (parent < 0)
        parent = -errno;
    }
  if (parent < 0)
    return husk_error_set (err, -parent, "\"%s\": link to \"%s\"", rel, l->rel);
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_set (err, errno, "\"%s\": link to \"%s\"", rel, l->rel);
  if (st.st_dev != l->dst_dev || st.st_ino != l->dst_ino)
    return husk_error_set (err, 0, "\"%s\": link to \"%s\": it was replaced during the copy", rel,
                           l->rel);
  if (linkat (parent, name, dstdir, dstname, 0) < 0)
    return husk_error_set (err, errno, "\"%s\": link to \"%s\"", rel, l->rel);
  return 0;
}

static bool
pseudo_fs (int fd)
{
  struct statfs sf;
  return fstatfs (fd, &sf) == 0
         && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC
             || sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC);
}

static int copy_dir_contents (struct copy_ctx *c, int srcfd, int dstfd, const char *rel,
                              struct husk_error **err);

static int
copy_one (struct copy_ctx *c, int srcdir, const char *name, int dstdir, const char *dstname,
          const char *rel, struct husk_error **err)
{
  struct stat st;
  bool is_dir;

  if (fstatat (srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_set (err, errno, "\"%s\"", rel);

  if (S_ISDIR (st.st_mode))
    {
      cleanup_close int src
          = openat (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_close int dst = -1;
      if (src < 0)
        return husk_error_set (err, errno, "\"%s\"", rel);
      if (clear_dst (dstdir, dstname, rel, true, &is_dir, err) < 0)
        return -1;
      if (!is_dir && mkdirat (dstdir, dstname, 0700) < 0)
        return husk_error_set (err, errno, "\"%s\": mkdir", rel);
      dst = openat (dstdir, dstname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dst < 0)
        return husk_error_set (err, errno, "\"%s\"", rel);
      /* A directory that was there may not let its new owner write yet.  */
      if (is_dir && fchmod (dst, 0700) < 0 && errno != EPERM)
        return husk_error_set (err, errno, "\"%s\": chmod", rel);
      if (!pseudo_fs (src) && copy_dir_contents (c, src, dst, rel, err) < 0)
        return -1;
      return set_meta (c, dst, -1, NULL, &st, rel, err);
    }

  /* A device node would give whoever can reach the copy the device, on the host or in the
     container: never made, whichever way the copy goes.  Checked before anything at DSTNAME
     is removed.  */
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    {
      husk_copy_warn_device (rel);
      return 0;
    }

  if (clear_dst (dstdir, dstname, rel, false, &is_dir, err) < 0)
    return -1;

  if (S_ISREG (st.st_mode))
    {
      cleanup_close int src = -1, dst = -1;
      struct stat dst_st;
      if (st.st_nlink > 1)
        for (size_t i = 0; i < c->n_links; i++)
          if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino)
            return link_again (c, &c->links[i], dstdir, dstname, rel, err);
      src = husk_copy_open_regular (srcdir, name, &st, rel, err);
      if (src < 0)
        return -1;
      dst = openat (dstdir, dstname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (dst < 0)
        return husk_error_set (err, errno, "\"%s\": create", rel);
      if (copy_data (src, dst, rel, err) < 0 || set_meta (c, dst, -1, NULL, &st, rel, err) < 0)
        return -1;
      if (st.st_nlink > 1)
        {
          if (fstat (dst, &dst_st) < 0)
            return husk_error_set (err, errno, "\"%s\"", rel);
          c->links = husk_xrealloc (c->links, (c->n_links + 1) * sizeof (*c->links));
          c->links[c->n_links].dev = st.st_dev;
          c->links[c->n_links].ino = st.st_ino;
          c->links[c->n_links].rel = husk_xstrdup (rel);
          c->links[c->n_links].dst_dev = dst_st.st_dev;
          c->links[c->n_links].dst_ino = dst_st.st_ino;
          c->n_links++;
        }
      return 0;
    }

  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (srcdir, name, target, sizeof (target) - 1);
      if (n < 0)
        return husk_error_set (err, errno, "\"%s\": readlink", rel);
      target[n] = '\0';
      if (symlinkat (target, dstdir, dstname) < 0)
        return husk_error_set (err, errno, "\"%s\": symlink", rel);
      return set_meta (c, -1, dstdir, dstname, &st, rel, err);
    }

  if (S_ISFIFO (st.st_mode))
    {
      if (mknodat (dstdir, dstname, S_IFIFO | 0600, 0) < 0)
        return husk_error_set (err, errno, "\"%s\": mknod", rel);
      return set_meta (c, -1, dstdir, dstname, &st, rel, err);
    }
  /* Sockets mean nothing away from the process that bound them.  */
  return 0;
}

static int
copy_dir_contents (struct copy_ctx *c, int srcfd, int dstfd, const char *rel,
                   struct husk_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return husk_error_set (err, e, "\"%s\"", *rel ? rel : ".");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      cleanup_free char *sub = NULL;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      sub = join (rel, de->d_name);
      if (copy_one (c, dirfd (d), de->d_name, dstfd, de->d_name, sub, err) < 0)
        return -1;
    }
  if (errno != 0)
    return husk_error_set (err, errno, "\"%s\": read", *rel ? rel : ".");
  return 0;
}

int
husk_copy_entry (int srcdir, const char *name, int dstdir, const char *dstname,
                 const struct husk_copy_opts *o, struct husk_error **err)
{
  struct copy_ctx c = { .o = o, .dstroot = dstdir };
  int r = copy_one (&c, srcdir, name, dstdir, dstname, dstname, err);
  ctx_clear (&c);
  return r;
}

int
husk_copy_contents (int srcfd, int dstfd, const struct husk_copy_opts *o, struct husk_error **err)
{
  struct copy_ctx c = { .o = o, .dstroot = dstfd };
  int r = copy_dir_contents (&c, srcfd, dstfd, "", err);
  ctx_clear (&c);
  return r;
}
