#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"
#include "banned.h"

void *
husk_xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
husk_xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
husk_xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
husk_xstrdup (const char *s)
{
  char *r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

char *
husk_strdup_printf (const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  return s;
}

bool
husk_str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
husk_str_has_suffix (const char *s, const char *suffix)
{
  size_t ls = strlen (s), lx = strlen (suffix);
  return ls >= lx && memcmp (s + ls - lx, suffix, lx) == 0;
}

bool
husk_env_has (char *const *env, const char *name)
{
  size_t n = strlen (name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      return true;
  return false;
}

void
husk_env_set (char ***env, const char *kv)
{
  size_t n = strcspn (kv, "=");
  for (size_t i = 0; *env && (*env)[i]; i++)
    if (strncmp ((*env)[i], kv, n) == 0 && (*env)[i][n] == '=')
      {
        free ((*env)[i]);
        (*env)[i] = husk_xstrdup (kv);
        return;
      }
  husk_strv_append (env, kv);
}

size_t
husk_strv_len (char *const *v)
{
  size_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

bool
husk_strv_contains (char *const *v, const char *s)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

void
husk_strv_append (char ***v, const char *s)
{
  size_t n = husk_strv_len (*v);
  *v = husk_xrealloc (*v, (n + 2) * sizeof (char *));
  (*v)[n] = husk_xstrdup (s);
  (*v)[n + 1] = NULL;
}

bool
husk_strv_equal (char *const *a, char *const *b)
{
  size_t n = husk_strv_len (a);

  if (n != husk_strv_len (b))
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp (a[i], b[i]) != 0)
      return false;
  return true;
}

void
husk_strv_free (char **v)
{
  husk_strvfreep (&v);
}

int
husk_parse_u64 (const char *s, uint64_t max, uint64_t *ret_value)
{
  uint64_t v = 0;

  if (s == NULL || *s == '\0')
    return -EINVAL;
  for (const char *p = s; *p; p++)
    {
      if (*p < '0' || *p > '9')
        return -EINVAL;
      if (v > (max - (uint64_t) (*p - '0')) / 10)
        return -ERANGE;
      v = v * 10 + (uint64_t) (*p - '0');
    }
  *ret_value = v;
  return 0;
}

ssize_t
husk_read_all (int fd, void *buf, size_t len)
{
  size_t done = 0;
  while (done < len)
    {
      ssize_t r = read (fd, (char *) buf + done, len - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;
      done += (size_t) r;
    }
  return (ssize_t) done;
}

int
husk_write_all (int fd, const void *buf, size_t len)
{
  size_t done = 0;
  while (done < len)
    {
      ssize_t r = write (fd, (const char *) buf + done, len - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      done += (size_t) r;
    }
  return 0;
}

int
husk_read_file_at (int dirfd, const char *path, size_t max_size, char **ret_buf, size_t *ret_len,
                   struct husk_error **err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0;
  struct stat st;

  fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s\"", path);
  /* A regular file's size is known: one buffer, with room to see the end of the file.  */
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0
      && (uint64_t) st.st_size <= max_size)
    {
      cap = (size_t) st.st_size + 4096 + 2;
      buf = husk_xmalloc (cap);
    }

  for (;;)
    {
      ssize_t r;
      if (cap - len < 4096 + 1)
        {
          cap = cap ? cap * 2 : 8192;
          buf = husk_xrealloc (buf, cap);
        }
      r = read (fd, buf + len, cap - len - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return husk_error_set (err, errno, "read \"%s\"", path);
      if (r == 0)
        break;
      len += (size_t) r;
      if (len > max_size)
        return husk_error_set (err, EFBIG, "read \"%s\": larger than %zu bytes", path, max_size);
    }
  buf[len] = '\0';
  *ret_buf = TAKE_PTR (buf);
  if (ret_len)
    *ret_len = len;
  return 0;
}

static int
write_replace_at (int dirfd, const char *path, const void *buf, size_t len, mode_t mode, bool sync,
                  struct husk_error **err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  char rnd[17];

  if (husk_random_hex (rnd, 16, err) < 0)
    return -1;
  tmp = husk_strdup_printf ("%s.tmp-%s", path, rnd);
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return husk_error_set (err, errno, "create \"%s\"", tmp);
  if (husk_write_all (fd, buf, len) < 0 || (sync && fsync (fd) < 0))
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return husk_error_set (err, e, "write \"%s\"", tmp);
    }
  if (renameat (dirfd, tmp, dirfd, path) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return husk_error_set (err, e, "rename \"%s\"", path);
    }
  return 0;
}

int
husk_write_file_atomic_at (int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                           struct husk_error **err)
{
  return write_replace_at (dirfd, path, buf, len, mode, true, err);
}

int
husk_write_file_replace_at (int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                            struct husk_error **err)
{
  return write_replace_at (dirfd, path, buf, len, mode, false, err);
}

int
husk_mkdir_p (const char *path, mode_t mode, struct husk_error **err)
{
  cleanup_free char *p = husk_xstrdup (path);
  char *s = p;

  if (*s == '/')
    s++;
  for (;;)
    {
      char *slash = strchr (s, '/');
      if (slash)
        *slash = '\0';
      if (*p && mkdir (p, mode) < 0 && errno != EEXIST)
        return husk_error_set (err, errno, "mkdir \"%s\"", p);
      if (!slash)
        break;
      *slash = '/';
      s = slash + 1;
    }
  return 0;
}

/* What removing the entry ST described (stat'ed just before its removal) gave back to the
   file system, as du counts it: its blocks, when that was its last link (a directory's go
   with it).  */
static void
count_freed (uint64_t *freed, const struct stat *st)
{
  if (freed && (S_ISDIR (st->st_mode) || st->st_nlink <= 1) && st->st_blocks > 0)
    *freed += (uint64_t) st->st_blocks * 512;
}

static int
rm_rf_children (int dfd, uint64_t *freed, struct husk_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct stat dst;
  struct dirent *de;
  int fd2;

  if (fstat (dfd, &dst) < 0)
    return husk_error_set (err, errno, "stat");
  fd2 = dup (dfd);
  if (fd2 < 0)
    return husk_error_set (err, errno, "dup");
  d = fdopendir (fd2);
  if (d == NULL)
    {
      close (fd2);
      return husk_error_set (err, errno, "opendir");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      struct stat st;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          return husk_error_set (err, errno, "stat \"%s\"", de->d_name);
        }
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int cfd = -1;
          if (st.st_dev != dst.st_dev)
            return husk_error_set (err, EBUSY, "remove \"%s\": a mount point", de->d_name);
          cfd = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (cfd < 0 && errno == EACCES)
            {
              /* A directory without search permission: make it ours to empty.  */
              fchmodat (dfd, de->d_name, 0700, 0);
              cfd = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
          if (cfd < 0)
            return husk_error_set (err, errno, "open \"%s\"", de->d_name);
          if (rm_rf_children (cfd, freed, err) < 0)
            return husk_error_wrap (err, "\"%s\"", de->d_name);
          if (unlinkat (dfd, de->d_name, AT_REMOVEDIR) < 0)
            {
              if (errno != ENOENT)
                return husk_error_set (err, errno, "remove \"%s\"", de->d_name);
            }
          else
            count_freed (freed, &st);
        }
      else if (unlinkat (dfd, de->d_name, 0) < 0)
        {
          if (errno != ENOENT)
            return husk_error_set (err, errno, "remove \"%s\"", de->d_name);
        }
      else
        count_freed (freed, &st);
    }
  if (errno != 0)
    return husk_error_set (err, errno, "readdir");
  return 0;
}

int
husk_rm_rf_at (int dirfd, const char *name, struct husk_error **err)
{
  return husk_rm_rf_at_freed (dirfd, name, NULL, err);
}

int
husk_rm_rf_at_freed (int dirfd, const char *name, uint64_t *freed, struct husk_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return husk_error_set (err, errno, "stat \"%s\"", name);
    }
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, name, 0) < 0)
        return errno == ENOENT ? 0 : husk_error_set (err, errno, "remove \"%s\"", name);
      count_freed (freed, &st);
      return 0;
    }
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES)
    {
      fchmodat (dirfd, name, 0700, 0);
      fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s\"", name);
  if (rm_rf_children (fd, freed, err) < 0)
    return husk_error_wrap (err, "remove \"%s\"", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0)
    return errno == ENOENT ? 0 : husk_error_set (err, errno, "remove \"%s\"", name);
  count_freed (freed, &st);
  return 0;
}

int
husk_random_hex (char *buf, size_t hex_len, struct husk_error **err)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[64];
  size_t need = (hex_len + 1) / 2;

  if (need > sizeof (raw))
    return husk_error_set (err, EINVAL, "random id too long");
  if (getrandom (raw, need, 0) != (ssize_t) need)
    return husk_error_set (err, errno, "getrandom");
  for (size_t i = 0; i < hex_len; i++)
    buf[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
  buf[hex_len] = '\0';
  return 0;
}

void
husk_close_fds_except (const int *keep, size_t n_keep)
{
  unsigned int from = 3;

  /* close_range over the gaps between the kept descriptors, lowest first: no allocation and
     no /proc, so it also serves between fork and exec.  */
  for (;;)
    {
      unsigned int next = ~0U;
      for (size_t i = 0; i < n_keep; i++)
        if (keep[i] >= (int) from && (unsigned int) keep[i] < next)
          next = (unsigned int) keep[i];
      if (next > from)
        close_range (from, next == ~0U ? ~0U : next - 1, 0);
      if (next == ~0U)
        return;
      from = next + 1;
    }
}

char *
husk_path_clean (const char *path, bool rooted)
{
  size_t n = strlen (path);
  char *out = husk_xmalloc (n + 2);
  size_t len = 0;
  const char *p = path;

  while (*p)
    {
      const char *end = strchr (p, '/');
      size_t k = end ? (size_t) (end - p) : strlen (p);

      if (k == 0 || (k == 1 && p[0] == '.'))
        ;
      else if (k == 2 && p[0] == '.' && p[1] == '.')
        {
          if (len == 0 && !rooted)
            {
              free (out);
              return NULL;
            }
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--; /* The "/" before the component taken away.  */
        }
      else
        {
          if (len > 0 || rooted)
            out[len++] = '/';
          memcpy (out + len, p, k);
          len += k;
        }
      p += k;
      if (*p == '/')
        p++;
    }
  if (len == 0)
    out[len++] = rooted ? '/' : '.';
  out[len] = '\0';
  return out;
}
