#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "util.h"
#include "banned.h"

struct copy_link
{
  dev_t dev;
  ino_t ino;
  char *rel; /* Where its first copy went, below DSTROOT.  */
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
          if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS
                        || errno == EOPNOTSUPP || errno == EBADF))
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

/* Owner (for copies into a container), mode, times: in that order, as chown clears the
   set-id bits.  FD, or NAME in DIRFD for what cannot be opened (symlinks, fifos).  */
static int
set_meta (struct copy_ctx *c, int fd, int dirfd, const char *name, const struct stat *st,
          const char *rel, struct husk_error **err)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };

  if (c->o->chown_root
      && (fd >= 0 ? fchown (fd, 0, 0) : fchownat (dirfd, name, 0, 0, AT_SYMLINK_NOFOLLOW)) < 0)
    return husk_error_set (err, errno, "\"%s\": chown", rel);
  if (!S_ISLNK (st->st_mode)
      && (fd >= 0 ? fchmod (fd, st->st_mode & 07777)
                  : fchmodat (dirfd, name, st->st_mode & 07777, 0))
             < 0)
    return husk_error_set (err, errno, "\"%s\": chmod", rel);
  if ((fd >= 0 ? futimens (fd, ts) : utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW)) < 0)
    return husk_error_set (err, errno, "\"%s\": set times", rel);
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
      cleanup_close int src = openat (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

  if (clear_dst (dstdir, dstname, rel, false, &is_dir, err) < 0)
    return -1;

  if (S_ISREG (st.st_mode))
    {
      cleanup_close int src = -1, dst = -1;
      if (st.st_nlink > 1)
        for (size_t i = 0; i < c->n_links; i++)
          if (c->links[i].dev == st.st_dev && c->links[i].ino == st.st_ino)
            {
              if (linkat (c->dstroot, c->links[i].rel, dstdir, dstname, 0) < 0)
                return husk_error_set (err, errno, "\"%s\": link to \"%s\"", rel,
                                       c->links[i].rel);
              return 0;
            }
      src = openat (srcdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
      if (src < 0)
        return husk_error_set (err, errno, "\"%s\"", rel);
      dst = openat (dstdir, dstname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (dst < 0)
        return husk_error_set (err, errno, "\"%s\": create", rel);
      if (copy_data (src, dst, rel, err) < 0 || set_meta (c, dst, -1, NULL, &st, rel, err) < 0)
        return -1;
      if (st.st_nlink > 1)
        {
          c->links = husk_xrealloc (c->links, (c->n_links + 1) * sizeof (*c->links));
          c->links[c->n_links].dev = st.st_dev;
          c->links[c->n_links].ino = st.st_ino;
          c->links[c->n_links].rel = husk_xstrdup (rel);
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

  if (S_ISFIFO (st.st_mode) || S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    {
      if (mknodat (dstdir, dstname, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
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
husk_copy_contents (int srcfd, int dstfd, const struct husk_copy_opts *o,
                    struct husk_error **err)
{
  struct copy_ctx c = { .o = o, .dstroot = dstfd };
  int r = copy_dir_contents (&c, srcfd, dstfd, "", err);
  ctx_clear (&c);
  return r;
}
