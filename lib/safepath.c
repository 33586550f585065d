#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "cleanup.h"
#include "safepath.h"
#include "util.h"
#include "banned.h"

#define MAX_SYMLINKS 40

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* The same number on every architecture.  */
#endif

static bool force_fallback, force_chmod_fallback;
static bool no_openat2; /* Learned once: the kernel says ENOSYS.  */
static bool no_fchmodat2;

void
husk_safepath_force_fallback (bool on)
{
  force_fallback = on;
}

void
husk_safepath_force_chmod_fallback (bool on)
{
  force_chmod_fallback = on;
}

int
husk_chmod_at_nofollow (int dirfd, const char *name, mode_t mode)
{
  struct stat st;
  int fd, r;

  if (!force_chmod_fallback && !no_fchmodat2)
    {
      if (syscall (SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
      if (errno != ENOSYS)
        return -errno;
      no_fchmodat2 = true;
    }
  /* O_NONBLOCK: a fifo opens at once without a writer.  Only a fifo is accepted, so nothing
     else (a device a container swapped in) is ever opened for long or changed.  */
  fd = openat (dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstat (fd, &st) < 0)
    r = -errno;
  else if (!S_ISFIFO (st.st_mode))
    r = -ENXIO;
  else
    r = fchmod (fd, mode) < 0 ? -errno : 0;
  close (fd);
  return r;
}

#if defined(HAVE_LINUX_OPENAT2_H) && HAVE_DECL_SYS_OPENAT2
static int
try_openat2 (int rootfd, const char *path, int flags, mode_t mode, enum husk_resolve how)
{
  struct open_how oh;
  int fd;

  memset (&oh, 0, sizeof (oh));
  oh.flags = (uint64_t) (flags | O_CLOEXEC);
  oh.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  oh.resolve = RESOLVE_NO_MAGICLINKS;
  if (how == HUSK_RESOLVE_IN_ROOT)
    oh.resolve |= RESOLVE_IN_ROOT;
  else
    oh.resolve |= RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;

  do
    fd = (int) syscall (SYS_openat2, rootfd, path, &oh, sizeof (oh));
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return -errno;
  return fd;
}
#endif

/* What walk does with a path.  husk_open_in_root (without openat2), husk_mkdirs_in_root and
   husk_mkpath_in_root are this one walk with different options.  */
struct walk_opts
{
  enum husk_resolve how; /* Symlinks expanded as if the root were "/", or refused (ELOOP).  */
  bool follow_last;      /* A symlink as the last component is expanded too; otherwise it is
                            opened itself (O_PATH in FLAGS) or refused (ELOOP).  */
  int flags;             /* Of the last component's open (O_NOFOLLOW always added).  */
  mode_t mode;           /* With O_CREAT in FLAGS.  */
  enum husk_mkpath make; /* What a missing last component becomes; other than NONE, missing
                            components before it are made directories.  */
  mode_t dir_mode;       /* Of the directories made.  */
  bool make_in_targets;  /* Make what is missing on the way a symlink points too, not only the
                            components PATH names itself.  */
  bool no_procfs;        /* Stepping onto a procfs is EXDEV.  */
};

/* Make NAME in DIRFD, as the last component when LAST: a directory, or what W says.  Someone
   else making it first is no error: the caller opens whatever is there.  */
static int
make_component (int dirfd, const char *name, bool last, const struct walk_opts *w)
{
  int fd;

  if (!last || w->make == HUSK_MKPATH_DIR)
    return mkdirat (dirfd, name, w->dir_mode) < 0 && errno != EEXIST ? -errno : 0;
  fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno == EEXIST ? 0 : -errno;
  close (fd);
  return 0;
}

/* NAME in DIRFD opened with FLAGS | O_NOFOLLOW, made first when it is missing and MAKE.
   Whatever is there after, maybe a symlink swapped in, is for the caller to look at.  */
static int
open_component (int dirfd, const char *name, int flags, mode_t mode, bool last, bool make,
                const struct walk_opts *w)
{
  int fd, r;

  fd = openat (dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 && errno == ENOENT && make)
    {
      r = make_component (dirfd, name, last, w);
      if (r < 0)
        return r;
      fd = openat (dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    }
  return fd < 0 ? -errno : fd;
}

/* EXDEV when W refuses procfs and FD is on one.  */
static int
check_fs (int fd, const struct walk_opts *w)
{
  struct statfs sfs;

  if (!w->no_procfs)
    return 0;
  if (fstatfs (fd, &sfs) < 0)
    return -errno;
  return sfs.f_type == PROC_SUPER_MAGIC ? -EXDEV : 0;
}

/* The walk: one component at a time with O_NOFOLLOW, symlinks expanded by hand, each
   directory walked through held open, so nothing swapped in between two steps is followed by
   the kernel and what is returned is what the walk checked.  Returns the fd or -errno.  */
static int
walk (int rootfd, const char *path, const struct walk_opts *w)
{
  cleanup_free char *todo = husk_xstrdup (path);
  cleanup_close int cur = -1;
  int *stack = NULL; /* Directory fds from the root down, for "..".  */
  size_t depth = 0;
  size_t own = strlen (todo); /* How much of the end of TODO is PATH's, not a link target's.  */
  int symlinks = 0;
  int ret;

  cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return -errno;

  for (;;)
    {
      char *p = todo, *comp, *rest;
      bool last, make;
      struct stat st;
      int next = -1;

      while (*p == '/')
        p++;
      if (*p == '\0')
        {
          /* The path named a directory we already hold (the root itself, or "a/..").  */
          if (w->flags & O_PATH)
            ret = TAKE_FD (cur);
          else
            {
              ret = openat (cur, ".", (w->flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
              ret = ret < 0 ? -errno : ret;
            }
          goto out;
        }
      make = w->make != HUSK_MKPATH_NONE && (w->make_in_targets || strlen (p) <= own);
      comp = p;
      rest = strchr (p, '/');
      if (rest)
        *rest++ = '\0';
      else
        rest = p + strlen (p);
      while (*rest == '/')
        rest++;
      last = *rest == '\0';
      /* Whatever this step does, REST ends TODO after it.  */
      if (own > strlen (rest))
        own = strlen (rest);

      if (strcmp (comp, ".") == 0)
        {
          memmove (todo, rest, strlen (rest) + 1);
          continue;
        }
      if (strcmp (comp, "..") == 0)
        {
          if (w->how == HUSK_RESOLVE_NO_SYMLINKS && depth == 0)
            {
              ret = -EXDEV;
              goto out;
            }
          if (depth > 0)
            {
              close (cur);
              cur = stack[--depth];
            }
          memmove (todo, rest, strlen (rest) + 1);
          continue;
        }

      if (last)
        {
          /* The final component is opened for real, never through a symlink: a symlink here is
             returned itself (O_PATH without FOLLOW_LAST), refused, or expanded below.  */
          next = open_component (cur, comp, w->flags, w->mode, true, make, w);
          if (next >= 0)
            {
              bool is_link = false;
              if ((w->flags & O_PATH) && w->follow_last)
                {
                  if (fstat (next, &st) < 0)
                    {
                      ret = -errno;
                      close (next);
                      goto out;
                    }
                  is_link = S_ISLNK (st.st_mode);
                }
              if (!is_link)
                {
                  ret = check_fs (next, w);
                  if (ret < 0)
                    close (next);
                  else
                    ret = next;
                  goto out;
                }
              /* NEXT is the symlink, expanded below.  */
            }
          else
            {
              int e = -next;
              if ((e != ELOOP && e != ENOTDIR) || fstatat (cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0
                  || !S_ISLNK (st.st_mode))
                {
                  ret = -e;
                  goto out;
                }
              if (!w->follow_last)
                {
                  ret = -ELOOP;
                  goto out;
                }
            }
        }

      if (next < 0)
        next = open_component (cur, comp, O_PATH, 0, last, make, w);
      if (next < 0)
        {
          ret = next;
          goto out;
        }
      if (fstat (next, &st) < 0)
        ret = -errno;
      else
        ret = check_fs (next, w);
      if (ret < 0)
        {
          close (next);
          goto out;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n;
          cleanup_free char *joined = NULL;

          if (w->how == HUSK_RESOLVE_NO_SYMLINKS || ++symlinks > MAX_SYMLINKS)
            {
              close (next);
              ret = -ELOOP;
              goto out;
            }
          n = readlinkat (next, "", target, sizeof (target) - 1);
          close (next);
          if (n < 0)
            {
              ret = -errno;
              goto out;
            }
          target[n] = '\0';
          if (target[0] == '/')
            {
              /* Absolute: restart at the root, which is ROOTFD.  */
              while (depth > 0)
                close (stack[--depth]);
              close (cur);
              cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
              if (cur < 0)
                {
                  ret = -errno;
                  goto out;
                }
            }
          joined = husk_strdup_printf ("%s/%s", target, rest);
          free (todo);
          todo = TAKE_PTR (joined);
          continue;
        }
      if (!S_ISDIR (st.st_mode))
        {
          close (next);
          ret = -ENOTDIR;
          goto out;
        }
      stack = husk_xrealloc (stack, (depth + 1) * sizeof (int));
      stack[depth++] = cur;
      cur = next;
      memmove (todo, rest, strlen (rest) + 1);
    }

out:
  while (depth > 0)
    close (stack[--depth]);
  free (stack);
  return ret;
}

int
husk_open_in_root (int rootfd, const char *path, int flags, mode_t mode, enum husk_resolve how)
{
  struct walk_opts w = {
    .how = how,
    .follow_last = !(flags & O_NOFOLLOW),
    .flags = flags,
    .mode = mode,
    .make = HUSK_MKPATH_NONE,
  };

#if defined(HAVE_LINUX_OPENAT2_H) && HAVE_DECL_SYS_OPENAT2
  if (!force_fallback && !no_openat2)
    {
      int fd = try_openat2 (rootfd, path, flags, mode, how);
      if (fd != -ENOSYS)
        return fd;
      no_openat2 = true;
    }
#endif
  return walk (rootfd, path, &w);
}

int
husk_mkdirs_in_root (int rootfd, const char *path, mode_t mode, enum husk_resolve how)
{
  struct walk_opts w = {
    .how = how,
    .follow_last = true,
    .flags = O_RDONLY | O_DIRECTORY,
    .make = HUSK_MKPATH_DIR,
    .dir_mode = mode,
    .make_in_targets = false,
  };

  /* Fast path: it is there already.  */
  int fd = husk_open_in_root (rootfd, path, O_RDONLY | O_DIRECTORY, 0, how);
  if (fd != -ENOENT)
    return fd;
  return walk (rootfd, path, &w);
}

int
husk_mkpath_in_root (int rootfd, const char *path, enum husk_mkpath create, bool no_procfs)
{
  struct walk_opts w = {
    .how = HUSK_RESOLVE_IN_ROOT,
    .follow_last = true,
    .flags = O_PATH,
    .make = create,
    .dir_mode = 0755,
    .make_in_targets = true,
    .no_procfs = no_procfs,
  };

  return walk (rootfd, path, &w);
}

int
husk_read_in_root (int rootfd, const char *path, size_t max_size, enum husk_resolve how,
                   char **ret_buf, size_t *ret_len)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t len = 0;

  fd = husk_open_in_root (rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, how);
  if (fd < 0)
    return fd;
  if (fstat (fd, &st) < 0)
    return -errno;
  if (!S_ISREG (st.st_mode))
    return -EINVAL;
  if ((uint64_t) st.st_size > max_size)
    return -EFBIG;
  buf = husk_xmalloc ((size_t) st.st_size + 1);
  /* The size may change under us: never read past what was allocated.  */
  while (len < (size_t) st.st_size)
    {
      ssize_t n = read (fd, buf + len, (size_t) st.st_size - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      if (n == 0)
        break;
      len += (size_t) n;
    }
  buf[len] = '\0';
  *ret_buf = TAKE_PTR (buf);
  if (ret_len)
    *ret_len = len;
  return 0;
}
