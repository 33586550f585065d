#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "diff.h"
#include "util.h"
#include "banned.h"

struct diff_ctx
{
  int *lowerfds; /* Base first, as LOWERDIRS.  */
  size_t n_lowers;
  struct husk_change *v;
  size_t n, cap;
};

/* overlayfs's whiteout: a character device with device number 0:0.  */
static bool
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

/* Whether the directory DIRFD is opaque.  Which namespace overlayfs reads depends on the
   mount (userxattr for rootless), and a store unpacked as real root and one unpacked in a
   user namespace use different ones: either counts.  Only "y" means opaque; newer kernels
   write "x" for a directory that merely holds xattr whiteouts.  */
static bool
is_opaque (int dirfd)
{
  static const char *const names[] = { "trusted.overlay.opaque", "user.overlay.opaque" };
  for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    {
      char v[4];
      ssize_t n = fgetxattr (dirfd, names[i], v, sizeof (v));
      if (n == 1 && v[0] == 'y')
        return true;
    }
  return false;
}

static void
add_change (struct diff_ctx *ctx, enum husk_change_kind kind, const char *rel)
{
  if (ctx->n == ctx->cap)
    {
      ctx->cap = ctx->cap ? ctx->cap * 2 : 64;
      ctx->v = husk_xrealloc (ctx->v, ctx->cap * sizeof (*ctx->v));
    }
  ctx->v[ctx->n].kind = kind;
  ctx->v[ctx->n].path = husk_strdup_printf ("/%s", rel);
  ctx->n++;
}

/* The layers' view of REL (relative to every layer root), looked up in ACTIVE (indices into
   the layers, uppermost first: those whose directory makes up REL's parent as overlayfs merges
   it).  *RET_EXISTS: whether the merged image has REL.  *RET_CHILD (allocated, uppermost
   first): the layers whose directories make up REL when it is a directory.  */
static int
lower_lookup (struct diff_ctx *ctx, const size_t *active, size_t n_active, const char *rel,
              bool *ret_exists, size_t **ret_child, size_t *ret_n_child, struct husk_error **err)
{
  cleanup_free size_t *child = husk_xcalloc (n_active ? n_active : 1, sizeof (size_t));
  size_t n_child = 0;
  bool found = false;

  for (size_t k = 0; k < n_active; k++)
    {
      int fd = ctx->lowerfds[active[k]];
      struct stat st;

      if (fstatat (fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            continue;
          return husk_error_set (err, errno, "layer %zu: \"/%s\"", active[k] + 1, rel);
        }
      /* A whiteout hides everything below it; so does a file below a directory.  */
      if (is_whiteout (&st))
        break;
      if (!S_ISDIR (st.st_mode))
        {
          if (!found)
            found = true;
          break;
        }
      found = true;
      child[n_child++] = active[k];
      {
        cleanup_close int dfd = openat (fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
          return husk_error_set (err, errno, "layer %zu: \"/%s\"", active[k] + 1, rel);
        if (is_opaque (dfd))
          break;
      }
    }
  *ret_exists = found;
  *ret_n_child = n_child;
  *ret_child = TAKE_PTR (child);
  return 0;
}

struct lower_name
{
  char *name;
  size_t order; /* Position in ACTIVE: the uppermost layer is 0.  */
  bool whiteout;
};

static int
cmp_lower_name (const void *a, const void *b)
{
  const struct lower_name *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  if (c)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* UPFD (REL) is opaque: every name the layers' merged directory REL has and UPFD has not is
   deleted.  */
static int
opaque_deletions (struct diff_ctx *ctx, int upfd, const char *rel, const size_t *active,
                  size_t n_active, struct husk_error **err)
{
  struct lower_name *names = NULL;
  size_t n = 0, cap = 0;
  int ret = 0;

  for (size_t k = 0; k < n_active && ret == 0; k++)
    {
      int dfd = openat (ctx->lowerfds[active[k]], *rel ? rel : ".",
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_dir DIR *d = NULL;
      struct dirent *de;

      if (dfd < 0 || (d = fdopendir (dfd)) == NULL)
        {
          ret = husk_error_set (err, errno, "layer %zu: \"/%s\"", active[k] + 1, rel);
          if (dfd >= 0)
            close (dfd);
          break;
        }
      while ((errno = 0, de = readdir (d)) != NULL)
        {
          struct stat st;
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            {
              ret = husk_error_set (err, errno, "layer %zu: \"/%s%s%s\"", active[k] + 1, rel,
                                    *rel ? "/" : "", de->d_name);
              break;
            }
          if (n == cap)
            {
              cap = cap ? cap * 2 : 64;
              names = husk_xrealloc (names, cap * sizeof (*names));
            }
          names[n].name = husk_xstrdup (de->d_name);
          names[n].order = k;
          names[n].whiteout = is_whiteout (&st);
          n++;
        }
      if (ret == 0 && errno != 0)
        ret = husk_error_set (err, errno, "layer %zu: read \"/%s\"", active[k] + 1, rel);
    }
  if (ret == 0 && n > 0)
    qsort (names, n, sizeof (*names), cmp_lower_name);
  for (size_t i = 0; ret == 0 && i < n; i++)
    {
      struct stat st;
      /* The uppermost layer's entry decides what the image has under the name.  */
      if ((i > 0 && strcmp (names[i].name, names[i - 1].name) == 0) || names[i].whiteout)
        continue;
      if (fstatat (upfd, names[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        {
          if (!is_whiteout (&st))
            continue;
        }
      else if (errno != ENOENT)
        {
          ret = husk_error_set (err, errno, "upper \"/%s%s%s\"", rel, *rel ? "/" : "",
                                names[i].name);
          break;
        }
      {
        cleanup_free char *path
            = husk_strdup_printf ("%s%s%s", rel, *rel ? "/" : "", names[i].name);
        add_change (ctx, HUSK_CHANGE_DELETE, path);
      }
    }
  for (size_t i = 0; i < n; i++)
    free (names[i].name);
  free (names);
  return ret;
}

/* Compare the upper directory UPFD (REL) with the layers' ACTIVE directories.  HIDDEN: REL
   or a directory above it is opaque, so the container sees none of what the layers have
   here, only what UPFD has; the layers still tell what the image had (a change or an
   addition) and what is gone.  */
static int
walk (struct diff_ctx *ctx, int upfd, const char *rel, const size_t *active, size_t n_active,
      bool hidden, struct husk_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd;

  hidden = hidden || is_opaque (upfd);
  if (hidden && n_active > 0 && opaque_deletions (ctx, upfd, rel, active, n_active, err) < 0)
    return -1;

  fd = fcntl (upfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return husk_error_set (err, e, "upper \"/%s\"", rel);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      cleanup_free char *path = NULL;
      cleanup_free size_t *child = NULL;
      size_t n_child = 0;
      bool exists = false;
      struct stat st;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      path = husk_strdup_printf ("%s%s%s", rel, *rel ? "/" : "", de->d_name);
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return husk_error_set (err, errno, "upper \"/%s\"", path);
      if (lower_lookup (ctx, active, n_active, path, &exists, &child, &n_child, err) < 0)
        return -1;
      if (is_whiteout (&st))
        {
          /* overlayfs leaves whiteouts only over what the layers have, but a name the layers
             never had is no deletion in any case; below an opaque directory the deletion was
             counted with the others.  */
          if (exists && !hidden)
            add_change (ctx, HUSK_CHANGE_DELETE, path);
          continue;
        }
      add_change (ctx, exists ? HUSK_CHANGE_MODIFY : HUSK_CHANGE_ADD, path);
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int sub
              = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return husk_error_set (err, errno, "upper \"/%s\"", path);
          if (walk (ctx, sub, path, child, n_child, hidden, err) < 0)
            return -1;
        }
    }
  if (errno != 0)
    return husk_error_set (err, errno, "upper: read \"/%s\"", rel);
  return 0;
}

static int
cmp_change (const void *a, const void *b)
{
  const struct husk_change *x = a, *y = b;
  return strcmp (x->path, y->path);
}

void
husk_changes_free (struct husk_change *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i].path);
  free (v);
}

int
husk_diff_dirs (const char *upper, char *const *lowerdirs, struct husk_change **ret, size_t *ret_n,
                struct husk_error **err)
{
  struct diff_ctx ctx = { 0 };
  cleanup_close int upfd = -1;
  cleanup_free size_t *active = NULL;
  int r = -1;

  ctx.n_lowers = husk_strv_len (lowerdirs);
  ctx.lowerfds = husk_xcalloc (ctx.n_lowers ? ctx.n_lowers : 1, sizeof (int));
  active = husk_xcalloc (ctx.n_lowers ? ctx.n_lowers : 1, sizeof (size_t));
  for (size_t i = 0; i < ctx.n_lowers; i++)
    ctx.lowerfds[i] = -1;
  for (size_t i = 0; i < ctx.n_lowers; i++)
    {
      ctx.lowerfds[i] = open (lowerdirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (ctx.lowerfds[i] < 0)
        {
          husk_error_set (err, errno, "layer \"%s\"", lowerdirs[i]);
          goto out;
        }
      active[i] = ctx.n_lowers - 1 - i;
    }
  upfd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upfd < 0)
    {
      husk_error_set (err, errno, "upper \"%s\"", upper);
      goto out;
    }
  if (walk (&ctx, upfd, "", active, ctx.n_lowers, false, err) < 0)
    goto out;
  if (ctx.n > 0)
    qsort (ctx.v, ctx.n, sizeof (*ctx.v), cmp_change);
  *ret = TAKE_PTR (ctx.v);
  *ret_n = ctx.n;
  ctx.n = 0;
  r = 0;
out:
  for (size_t i = 0; i < ctx.n_lowers; i++)
    if (ctx.lowerfds[i] >= 0)
      close (ctx.lowerfds[i]);
  free (ctx.lowerfds);
  husk_changes_free (ctx.v, ctx.n);
  return r;
}
