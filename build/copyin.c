/* COPY from the build context into a new layer, through an overlay of the image so far.  */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copyin.h"
#include "unpack.h"
#include "mounts.h"
#include "safepath.h"
#include "user.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

struct copy_state
{
  const struct husk_build_copy *c;
  const struct husk_ctx *ctx;           /* Where the files come from.  */
  const struct husk_ctx_selection *sel; /* What they are.  */
  bool keep_owner;                      /* COPY --from without --chown.  */
  int rootfd;                           /* The merged view: "/" of the image being built.  */
  uid_t uid;
  gid_t gid;
  char buf[1 << 16];
};

/* Docker's directory syntax for a destination: a trailing "/", or "." or ".." last.  */
static bool
dir_syntax (const char *dest)
{
  const char *base = strrchr (dest, '/');
  size_t len = strlen (dest);

  base = base ? base + 1 : dest;
  return (len > 0 && dest[len - 1] == '/') || strcmp (base, ".") == 0 || strcmp (base, "..") == 0;
}

/* An error of chown(2) to the copy's owner, for TARGET.  EINVAL is an id the user namespace
   does not map.  */
static int
chown_error (struct copy_state *st, const char *target, int e, struct husk_error **err)
{
  if (e == EINVAL)
    return husk_error_set (err, 0,
                           "--chown \"%s\": %u:%u is not mapped in the store's user namespace "
                           "(ids other than 0 need a subordinate range in /etc/subuid and "
                           "/etc/subgid)",
                           st->c->chown ? st->c->chown : "", (unsigned) st->uid,
                           (unsigned) st->gid);
  return husk_error_set (err, e, "chown \"%s\" to %u:%u", target, (unsigned) st->uid,
                         (unsigned) st->gid);
}

/* The directory part of the absolute path PATH whose last component starts at NAME.  */
static char *
parent_of (const char *path, const char *name)
{
  size_t len = name - path > 1 ? (size_t) (name - path - 1) : 1;
  char *p = husk_xmalloc (len + 1);

  memcpy (p, path, len);
  p[len] = '\0';
  return p;
}

/* PATH ("/a/b") relative to the root: "a/b", or "." for "/".  */
static const char *
rel (const char *path)
{
  return path[1] ? path + 1 : ".";
}

/* The directory PATH (absolute, cleaned) in the image, made where missing, each new one owned
   by the copy's owner, as Docker makes the destination's missing directories.  Existing
   symlinks on the way are followed inside the root.  Returns an O_DIRECTORY fd.  */
static int
make_dirs (struct copy_state *st, const char *path, struct husk_error **err)
{
  int fd
      = husk_open_in_root (st->rootfd, rel (path), O_RDONLY | O_DIRECTORY, 0, HUSK_RESOLVE_IN_ROOT);
  cleanup_free char *parent = NULL;
  cleanup_close int pfd = -1;
  const char *name;

  if (fd >= 0)
    return fd;
  if (fd != -ENOENT)
    return husk_error_set (err, -fd, "destination \"%s\"", path);
  name = strrchr (path, '/') + 1;
  parent = parent_of (path, name);
  pfd = make_dirs (st, parent, err);
  if (pfd < 0)
    return -1;
  if (mkdirat (pfd, name, 0755) < 0 && errno != EEXIST)
    return husk_error_set (err, errno, "destination \"%s\"", path);
  if (fchownat (pfd, name, st->uid, st->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return chown_error (st, path, errno, err);
  fd = husk_open_in_root (st->rootfd, rel (path), O_RDONLY | O_DIRECTORY, 0, HUSK_RESOLVE_IN_ROOT);
  if (fd < 0)
    return husk_error_set (err, -fd, "destination \"%s\"", path);
  return fd;
}

/* Clear NAME in PFD for an entry of kind MODE: a non-directory there is removed; a directory
   stays for a directory (its contents merge) and is an error for anything else.  */
static int
clear_way (int pfd, const char *name, mode_t mode, const char *target, struct husk_error **err)
{
  struct stat sb;

  if (fstatat (pfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : husk_error_set (err, errno, "destination \"%s\"", target);
  if (S_ISDIR (sb.st_mode))
    {
      if (S_ISDIR (mode))
        return 1;
      return husk_error_set (
          err, 0, "destination \"%s\": a directory, cannot be replaced by a file", target);
    }
  if (S_ISDIR (mode) && S_ISLNK (sb.st_mode))
    {
      /* A symlink to a directory is followed, as a path through it would be.  */
      struct stat t;
      if (fstatat (pfd, name, &t, 0) == 0 && S_ISDIR (t.st_mode))
        return 1;
    }
  if (unlinkat (pfd, name, 0) < 0)
    return husk_error_set (err, errno, "destination \"%s\"", target);
  return 0;
}

static int
copy_data (struct copy_state *st, int in, int out, uint64_t size, const char *what,
           struct husk_error **err)
{
  uint64_t left = size;
  bool plain = false;

  while (left > 0)
    {
      ssize_t n;
      if (!plain)
        {
          n = copy_file_range (in, NULL, out, NULL, left, 0);
          if (n < 0
              && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
            {
              plain = true;
              continue;
            }
        }
      else
        n = sendfile (out, in, NULL, left > (1u << 30) ? (1u << 30) : left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_set (err, errno, "copy \"%s\"", what);
      if (n == 0)
        return husk_error_set (err, 0, "\"%s\": changed while the build read it (shorter)", what);
      left -= n;
    }
  (void) st;
  return 0;
}

static bool
same_file (const struct husk_ctx_entry *e, const struct stat *sb)
{
  return (uint64_t) sb->st_ino == e->ino && (uint64_t) sb->st_size == e->size
         && sb->st_mtim.tv_sec == e->mtime.tv_sec && sb->st_mtim.tv_nsec == e->mtime.tv_nsec
         && sb->st_ctim.tv_sec == e->ctime.tv_sec && sb->st_ctim.tv_nsec == e->ctime.tv_nsec;
}

/* Write the entry E as NAME in the directory PFD (TARGET is its path in the image).  */
static int
put_entry (struct copy_state *st, const struct husk_ctx_entry *e, int pfd, const char *name,
           const char *target, struct husk_error **err)
{
  const struct husk_build_copy *c = st->c;
  int ctxfd = husk_ctx_dirfd (st->ctx);
  mode_t perm = c->chmod >= 0 ? (mode_t) c->chmod : (e->mode & 07777);
  /* From another stage or an image, files keep their owners unless --chown says otherwise
     (BuildKit's); from the context they are 0:0.  */
  uid_t uid = st->keep_owner ? e->uid : st->uid;
  gid_t gid = st->keep_owner ? e->gid : st->gid;
  int r = clear_way (pfd, name, e->mode, target, err);

  if (r < 0)
    return -1;
  if (S_ISDIR (e->mode))
    {
      if (r == 1)
        return 0; /* An existing directory keeps its owner and mode; the contents merge.  */
      if (mkdirat (pfd, name, 0700) < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      if (fchownat (pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return chown_error (st, target, errno, err);
      if (fchmodat (pfd, name, perm, 0) < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      return 0;
    }
  if (S_ISLNK (e->mode))
    {
      struct timespec ts[2] = { e->mtime, e->mtime };
      if (symlinkat (e->link, pfd, name) < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      if (fchownat (pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return chown_error (st, target, errno, err);
      if (utimensat (pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      return 0;
    }
  if (S_ISREG (e->mode))
    {
      cleanup_close int in = -1, out = -1;
      struct stat sb;
      struct timespec ts[2] = { e->mtime, e->mtime };

      in = husk_open_in_root (ctxfd, e->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0,
                              HUSK_RESOLVE_NO_SYMLINKS);
      if (in < 0)
        return husk_error_set (err, -in, "\"%s\"", e->path);
      if (fstat (in, &sb) < 0 || !S_ISREG (sb.st_mode) || !same_file (e, &sb))
        return husk_error_set (err, 0, "\"%s\": changed while the build read it", e->path);
      out = openat (pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      if (copy_data (st, in, out, e->size, e->path, err) < 0)
        return -1;
      if (fstat (in, &sb) < 0 || !same_file (e, &sb))
        return husk_error_set (err, 0, "\"%s\": changed while the build read it", e->path);
      if (fchown (out, uid, gid) < 0)
        return chown_error (st, target, errno, err);
      if (fchmod (out, perm) < 0 || futimens (out, ts) < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      return 0;
    }
  if (S_ISFIFO (e->mode))
    {
      if (mkfifoat (pfd, name, perm) < 0)
        return husk_error_set (err, errno, "destination \"%s\"", target);
      if (fchownat (pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return chown_error (st, target, errno, err);
      return 0;
    }
  return husk_error_set (err, 0, "\"%s\": a socket or device node cannot be copied", e->path);
}

/* The entries of source I, written below DEST (the directory for a directory source, the
   path itself for a file).  */
static int
copy_source (struct copy_state *st, size_t i, size_t *next, const char *dest_dir,
             const char *dest_file, struct husk_error **err)
{
  const struct husk_ctx_selection *sel = st->sel;
  cleanup_free char *cur_parent = NULL;
  cleanup_close int pfd = -1;

  for (; *next < sel->n_entries && sel->entries[*next].root == i; (*next)++)
    {
      const struct husk_ctx_entry *e = &sel->entries[*next];
      const char *r = e->path + e->rel;
      cleanup_free char *target = NULL, *parent = NULL;
      const char *name;

      if (*r == '\0')
        {
          if (dest_file == NULL)
            continue; /* The source directory itself: its contents go to DEST_DIR.  */
          target = husk_xstrdup (dest_file);
        }
      else
        target = husk_strdup_printf ("%s/%s", strcmp (dest_dir, "/") ? dest_dir : "", r);
      name = strrchr (target, '/') + 1;
      parent = parent_of (target, name);
      if (cur_parent == NULL || strcmp (cur_parent, parent) != 0)
        {
          if (pfd >= 0)
            close (pfd);
          pfd = make_dirs (st, parent, err);
          if (pfd < 0)
            return -1;
          free (cur_parent);
          cur_parent = TAKE_PTR (parent);
        }
      if (put_entry (st, e, pfd, name, target, err) < 0)
        return -1;
    }
  return 0;
}

/* PATH below the absolute directory DIR.  */
static char *
under (const char *dir, const char *path)
{
  return husk_strdup_printf ("%s/%s", strcmp (dir, "/") ? dir : "", path);
}

/* A heredoc's file at TARGET (absolute in the image).  */
static int
put_inline (struct copy_state *st, const struct husk_build_inline *f, const char *target,
            struct husk_error **err)
{
  const char *name = strrchr (target, '/') + 1;
  cleanup_free char *parent = parent_of (target, name);
  cleanup_close int pfd = make_dirs (st, parent, err);
  cleanup_close int out = -1;

  if (pfd < 0)
    return -1;
  if (clear_way (pfd, name, S_IFREG, target, err) < 0)
    return -1;
  out = openat (pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0 || husk_write_all (out, f->content, f->len) < 0)
    return husk_error_set (err, errno, "destination \"%s\"", target);
  if (fchown (out, st->uid, st->gid) < 0)
    return chown_error (st, target, errno, err);
  if (fchmod (out, st->c->chmod >= 0 ? (mode_t) st->c->chmod : 0644) < 0)
    return husk_error_set (err, errno, "destination \"%s\"", target);
  return 0;
}

static int
resolve_owner (struct copy_state *st, struct husk_error **err)
{
  const char *spec = st->c->chown;
  struct husk_user u;
  cleanup_close int rootpath = -1;

  st->uid = 0;
  st->gid = 0;
  if (spec == NULL || *spec == '\0')
    return 0;
  rootpath = openat (st->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootpath < 0)
    return husk_error_set (err, errno, "--chown \"%s\"", spec);
  if (husk_user_resolve (spec, rootpath, &u, err) < 0)
    return husk_error_wrap (err, "--chown \"%s\"", spec);
  st->uid = u.uid;
  /* The Dockerfile reference: a user without a group uses the same number as its group.  */
  st->gid = strchr (spec, ':') ? u.gid : (gid_t) u.uid;
  return 0;
}

static int
copy_in_namespace (void *arg, struct husk_error **err)
{
  const struct husk_build_copy *c = arg;
  cleanup_free struct copy_state *st = husk_xcalloc (1, sizeof *st);
  const struct husk_ctx_selection *sel = c->sel;
  struct husk_ctx_selection from_sel = { 0 };
  struct husk_ctx *from_ctx = NULL;
  cleanup_free char *dest = NULL;
  cleanup_close int rootfd = -1;
  bool dirdest = dir_syntax (c->dest);
  size_t next = 0;

  st->c = c;
  st->ctx = c->ctx;
  if (husk_strv_len (c->lowerdirs) > 0 || c->from_lowerdirs)
    {
      if (unshare (CLONE_NEWNS) < 0)
        return husk_error_set (err, errno, "unshare the mount namespace");
      if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return husk_error_set (err, errno, "make mounts private");
    }
  /* What this child allocates from here on goes with it when it exits.  */
  if (c->from_lowerdirs)
    {
      /* The other stage's (or image's) root, read-only.  */
      cleanup_close int fromfd = -1;
      if (husk_strv_len (c->from_lowerdirs) > 0)
        {
          if (husk_mount_overlay (c->from_lowerdirs, c->from_upper, c->from_work,
                                  c->from_mountpoint, c->map != NULL, err)
              < 0)
            return husk_error_wrap (err, "--from");
          if (mount (NULL, c->from_mountpoint, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
            return husk_error_set (err, errno, "--from: read-only");
        }
      fromfd = open (husk_strv_len (c->from_lowerdirs) > 0 ? c->from_mountpoint : c->from_upper,
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fromfd < 0)
        return husk_error_set (err, errno, "--from: open its root");
      if (husk_ctx_open_fd (fromfd, c->from_name, &from_ctx, err) < 0)
        return -1;
      if (husk_ctx_select_opts (from_ctx, c->from_sources, husk_strv_len (c->from_sources),
                                c->from_opts, &from_sel, err)
          < 0)
        return -1;
      st->ctx = from_ctx;
      sel = &from_sel;
      st->keep_owner = c->chown == NULL || *c->chown == '\0';
    }
  st->sel = sel;
  if (husk_strv_len (c->lowerdirs) > 0)
    {
      if (husk_mount_overlay (c->lowerdirs, c->upper, c->work, c->mountpoint, c->map != NULL, err)
          < 0)
        return -1;
      rootfd = open (c->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
  else
    rootfd = open (c->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* FROM scratch.  */
  if (rootfd < 0)
    return husk_error_set (err, errno, "open the image's root");
  st->rootfd = rootfd;
  if (resolve_owner (st, err) < 0)
    return -1;

  if (c->dest[0] == '/')
    dest = husk_path_clean (c->dest, true);
  else
    {
      cleanup_free char *joined
          = husk_strdup_printf ("%s/%s", c->workdir ? c->workdir : "/", c->dest);
      dest = husk_path_clean (joined, true);
    }
  if (c->n_written > 1 && !dirdest)
    return husk_error_set (err, 0,
                           "destination \"%s\": with more than one source it must be a directory "
                           "and end with \"/\"",
                           c->dest);
  if (sel->keep)
    dirdest = true; /* --parents: DEST holds the paths kept.  */
  else if (!dirdest && sel->n_sources + c->n_inline == 1
           && (sel->n_sources == 0 || !sel->source_is_dir[0]))
    {
      /* One file: DEST names it, unless DEST is an existing directory (BuildKit copies into
         it).  */
      int fd
          = husk_open_in_root (rootfd, rel (dest), O_PATH | O_DIRECTORY, 0, HUSK_RESOLVE_IN_ROOT);
      if (fd >= 0)
        {
          close (fd);
          dirdest = true;
        }
    }
  else if (sel->n_sources + c->n_inline > 1)
    dirdest = true; /* A glob's matches: DEST holds them.  */

  for (size_t i = 0; i < sel->n_sources; i++)
    {
      const char *keep = sel->keep ? sel->keep[i] : NULL;
      cleanup_free char *file = NULL;
      /* Where a directory's contents go: DEST, or DEST/KEEP with --parents.  */
      cleanup_free char *into = keep && *keep ? under (dest, keep) : husk_xstrdup (dest);
      if (!sel->source_is_dir[i])
        {
          /* Named as the source named it (a link's name, not its target's).  */
          const char *base = strrchr (sel->names[i], '/');
          base = base ? base + 1 : sel->names[i];
          if (keep && *keep)
            file = husk_xstrdup (into);
          else if (dirdest)
            file = under (dest, base);
          else
            file = husk_xstrdup (dest);
        }
      else
        {
          cleanup_close int fd = make_dirs (st, into, err);
          if (fd < 0)
            return -1;
        }
      if (c->extract && c->extract[i])
        {
          /* ADD of a local archive: unpacked into DEST, its entries skipped.  */
          struct husk_unpack_stats stats = { 0 };
          cleanup_close int destfd = make_dirs (st, dest, err);
          cleanup_close int in = -1;
          if (destfd < 0)
            return -1;
          in = husk_open_in_root (husk_ctx_dirfd (st->ctx), sel->sources[i],
                                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0, HUSK_RESOLVE_NO_SYMLINKS);
          if (in < 0)
            return husk_error_set (err, -in, "\"%s\"", sel->sources[i]);
          if (husk_unpack_archive_fd (in, destfd, c->map != NULL, &stats, err) < 0)
            return husk_error_wrap (err, "extract \"%s\"", sel->sources[i]);
          while (next < sel->n_entries && sel->entries[next].root == i)
            next++;
          continue;
        }
      if (copy_source (st, i, &next, into, file, err) < 0)
        return -1;
    }
  if (c->make_dest)
    {
      cleanup_close int fd = make_dirs (st, dest, err);
      if (fd < 0)
        return -1;
    }
  for (size_t i = 0; i < c->n_inline; i++)
    {
      cleanup_free char *file
          = dirdest ? under (dest, c->inline_files[i].name) : husk_xstrdup (dest);
      if (put_inline (st, &c->inline_files[i], file, err) < 0)
        return -1;
    }
  if (c->after == NULL)
    return 0;
  close (TAKE_FD (rootfd));
  st->rootfd = -1;
  if (husk_strv_len (c->lowerdirs) > 0 && umount2 (c->mountpoint, MNT_DETACH) < 0)
    return husk_error_set (err, errno, "unmount \"%s\"", c->mountpoint);
  return c->after (c->after_arg, err);
}

int
husk_build_copy_run (const struct husk_build_copy *c, struct husk_error **err)
{
  if (c->map)
    return husk_userns_run (c->map, copy_in_namespace, (void *) c, err);
  return husk_child_run (copy_in_namespace, (void *) c, err);
}
