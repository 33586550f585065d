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
# include <linux/openat2.h>
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

/* The walk: one component at a time with O_PATH|O_NOFOLLOW, symlinks expanded by hand.  */
static int
fallback_open (int rootfd, const char *path, int flags, mode_t mode, enum husk_resolve how)
{
  cleanup_free char *todo = husk_xstrdup (path);
  cleanup_close int cur = -1;
  int *stack = NULL; /* Directory fds from the root down, for "..".  */
  size_t depth = 0;
  int symlinks = 0;
  int ret;

  cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return -errno;

  for (;;)
    {
      char *p = todo, *comp, *rest;
      bool last;
      struct stat st;
      int next;

      while (*p == '/')
        p++;
      if (*p == '\0')
        {
          /* The path named a directory we already hold (or the root itself).  */
          if (flags & O_PATH)
            ret = fcntl (cur, F_DUPFD_CLOEXEC, 3);
          else
            ret = openat (cur, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
          ret = ret < 0 ? -errno : ret;
          goto out;
        }
      comp = p;
      rest = strchr (p, '/');
      if (rest)
        *rest++ = '\0';
      else
        rest = p + strlen (p);
      while (*rest == '/')
        rest++;
      last = *rest == '\0';

      if (strcmp (comp, ".") == 0)
        {
          memmove (todo, rest, strlen (rest) + 1);
          continue;
        }
      if (strcmp (comp, "..") == 0)
        {
          if (how == HUSK_RESOLVE_NO_SYMLINKS && depth == 0)
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
             returned itself (O_PATH|O_NOFOLLOW), refused, or expanded below.  */
          next = openat (cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
          if (next >= 0)
            {
              bool is_link = false;
              if ((flags & (O_PATH | O_NOFOLLOW)) == O_PATH)
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
                  ret = next;
                  goto out;
                }
              close (next);
            }
          else
            {
              int e = errno;
              if ((e != ELOOP && e != ENOTDIR)
                  || fstatat (cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK (st.st_mode))
                {
                  ret = -e;
                  goto out;
                }
              if (flags & O_NOFOLLOW)
                {
                  ret = -ELOOP;
                  goto out;
                }
            }
        }

      next = openat (cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        {
          ret = -errno;
          goto out;
        }
      if (fstat (next, &st) < 0)
        {
          ret = -errno;
          close (next);
          goto out;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n;
          cleanup_free char *joined = NULL;

          if (how == HUSK_RESOLVE_NO_SYMLINKS || ++symlinks > MAX_SYMLINKS)
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
              /* Absolute: restart at the root.  */
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
#if defined(HAVE_LINUX_OPENAT2_H) && HAVE_DECL_SYS_OPENAT2
  if (!force_fallback && !no_openat2)
    {
      int fd = try_openat2 (rootfd, path, flags, mode, how);
      if (fd != -ENOSYS)
        return fd;
      no_openat2 = true;
    }
#endif
  return fallback_open (rootfd, path, flags, mode, how);
}

int
husk_mkdirs_in_root (int rootfd, const char *path, mode_t mode, enum husk_resolve how)
{
  cleanup_free char *copy = husk_xstrdup (path);
  size_t len = strlen (copy);
  char *p;

  /* Fast path: it is there already.  */
  int fd = husk_open_in_root (rootfd, copy, O_RDONLY | O_DIRECTORY, 0, how);
  if (fd >= 0 || fd != -ENOENT)
    return fd;

  /* Create one component at a time, each below the directory resolved so far.  */
  for (p = copy; p <= copy + len; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      if (p == copy)
        continue;
      {
        char saved = *p;
        cleanup_close int parent = -1;
        char *slash;
        const char *name;

        *p = '\0';
        slash = strrchr (copy, '/');
        if (slash)
          {
            *slash = '\0';
            parent = husk_open_in_root (rootfd, *copy ? copy : "/", O_PATH | O_DIRECTORY, 0, how);
            *slash = '/';
            name = slash + 1;
          }
        else
          {
            parent = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
            name = copy;
          }
        if (parent < 0)
          return slash ? parent : -errno;
        if (*name && strcmp (name, ".") != 0 && strcmp (name, "..") != 0
            && mkdirat (parent, name, mode) < 0 && errno != EEXIST)
          return -errno;
        *p = saved;
      }
    }
  return husk_open_in_root (rootfd, copy, O_RDONLY | O_DIRECTORY, 0, how);
}

/* Make NAME in DIRFD, as the last component when LAST: a directory, or what CREATE says.
   Someone else making it first is no error: the caller opens whatever is there.  */
static int
make_component (int dirfd, const char *name, bool last, enum husk_mkpath create)
{
  int fd;

  if (!last || create == HUSK_MKPATH_DIR)
    return mkdirat (dirfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
  fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
               0644);
  if (fd < 0)
    return errno == EEXIST ? 0 : -errno;
  close (fd);
  return 0;
}

int
husk_mkpath_in_root (int rootfd, const char *path, enum husk_mkpath create, bool no_procfs)
{
  cleanup_free char *todo = husk_xstrdup (path);
  int *stack = NULL; /* The directories walked through, from the root down, for "..".  */
  size_t depth = 0;
  int symlinks = 0;
  int cur, ret;

  cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return -errno;
  for (;;)
    {
      char *p = todo, *comp, *rest;
      struct stat st;
      struct statfs sfs;
      bool last;
      int next;

      while (*p == '/')
        p++;
      if (*p == '\0')
        {
          /* It named a directory already held (the root itself, or "a/..").  */
          ret = cur;
          cur = -1;
          goto out;
        }
      comp = p;
      rest = strchr (p, '/');
      if (rest)
        *rest++ = '\0';
      else
        rest = p + strlen (p);
      while (*rest == '/')
        rest++;
      last = *rest == '\0';

      if (strcmp (comp, ".") == 0 || strcmp (comp, "..") == 0)
        {
          if (comp[1] == '.' && depth > 0)
            {
              close (cur);
              cur = stack[--depth];
            }
          memmove (todo, rest, strlen (rest) + 1);
          continue;
        }

      next = openat (cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT && create != HUSK_MKPATH_NONE)
        {
          ret = make_component (cur, comp, last, create);
          if (ret < 0)
            goto out;
          /* Whatever is there now, maybe a symlink swapped in: it is looked at below.  */
          next = openat (cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
      if (next < 0)
        {
          ret = -errno;
          goto out;
        }
      if (fstat (next, &st) < 0 || fstatfs (next, &sfs) < 0)
        {
          ret = -errno;
          close (next);
          goto out;
        }
      if (no_procfs && sfs.f_type == PROC_SUPER_MAGIC)
        {
          close (next);
          ret = -EXDEV;
          goto out;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n;

          if (++symlinks > MAX_SYMLINKS)
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
              /* Absolute: from the root again, which is ROOTFD.  */
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
          {
            char *joined = husk_strdup_printf ("%s/%s", target, rest);
            free (todo);
            todo = joined;
          }
          continue;
        }
      if (last)
        {
          ret = next;
          goto out;
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
  if (cur >= 0)
    close (cur);
  while (depth > 0)
    close (stack[--depth]);
  free (stack);
  return ret;
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
