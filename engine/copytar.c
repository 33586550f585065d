#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "safepath.h"
#include "util.h"
#include "banned.h"

/* ------------------------------------------------------------------ writing */

struct tar_out
{
  struct archive *a;
  struct archive_entry_linkresolver *links;
  bool archive; /* cp -a: set-id bits and device nodes too.  */
  bool xattrs;  /* Extended attributes of files and directories (husk export).  */
};

/* FD's extended attributes but overlayfs's own, added to E.  A file system without them has
   none.  */
static int
add_xattrs (struct archive_entry *e, int fd, const char *path, struct husk_error **err)
{
  cleanup_free char *list = NULL;
  ssize_t n;

  for (;;)
    {
      n = flistxattr (fd, NULL, 0);
      if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
        return 0;
      if (n <= 0)
        break;
      free (list);
      list = husk_xmalloc ((size_t) n);
      n = flistxattr (fd, list, (size_t) n);
      if (n >= 0 || errno != ERANGE)
        break;
    }
  if (n < 0)
    return husk_error_set (err, errno, "\"%s\": list xattrs", path);
  for (char *k = list; k < list + n; k += strlen (k) + 1)
    {
      cleanup_free void *value = NULL;
      ssize_t v;

      if (husk_str_has_prefix (k, "trusted.overlay.") || husk_str_has_prefix (k, "user.overlay."))
        continue;
      for (;;)
        {
          v = fgetxattr (fd, k, NULL, 0);
          if (v < 0)
            break;
          free (value);
          value = husk_xmalloc ((size_t) v + 1);
          v = fgetxattr (fd, k, value, (size_t) v);
          if (v >= 0 || errno != ERANGE)
            break;
        }
      /* Gone since the list (ENODATA), or not for this user to read: left out.  */
      if (v < 0 && (errno == ENODATA || errno == EPERM || errno == EACCES))
        continue;
      if (v < 0)
        return husk_error_set (err, errno, "\"%s\": xattr \"%s\"", path, k);
      archive_entry_xattr_add_entry (e, k, value, (size_t) v);
    }
  return 0;
}

static int
tar_fail (struct archive *a, const char *what, const char *path, struct husk_error **err)
{
  const char *msg = archive_error_string (a);
  return husk_error_set (err, 0, "%s \"%s\": %s", what, path, msg ? msg : "failed");
}

static int
write_data (struct tar_out *t, int fd, const char *path, struct husk_error **err)
{
  char buf[64 * 1024];

  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_set (err, errno, "\"%s\": read", path);
      if (n == 0)
        return 0;
      if (archive_write_data (t->a, buf, (size_t) n) < 0)
        return tar_fail (t->a, "write", path, err);
    }
}

static int tar_dir_contents (struct tar_out *t, int dfd, const char *arcdir,
                             struct husk_error **err);

/* NAME in DIRFD as the entry ARCNAME.  */
static int
tar_one (struct tar_out *t, int dirfd, const char *name, const char *arcname,
         struct husk_error **err)
{
  struct archive_entry *e = NULL, *sparse = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  int r = -1;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_set (err, errno, "\"%s\"", arcname);
  if (S_ISSOCK (st.st_mode))
    return 0;
  if ((S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode)) && !t->archive)
    {
      husk_copy_warn_device (arcname);
      return 0;
    }
  if (S_ISREG (st.st_mode))
    {
      fd = husk_copy_open_regular (dirfd, name, &st, arcname, err);
      if (fd < 0)
        return -1;
    }
  else if (S_ISDIR (st.st_mode))
    {
      fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return husk_error_set (err, errno, "\"%s\"", arcname);
    }
  e = archive_entry_new ();
  archive_entry_copy_stat (e, &st);
  if (!t->archive)
    archive_entry_set_perm (e, st.st_mode & 07777 & ~(mode_t) (S_ISUID | S_ISGID));
  if (S_ISDIR (st.st_mode))
    {
      cleanup_free char *dirname = husk_strdup_printf ("%s/", arcname);
      archive_entry_copy_pathname (e, dirname);
    }
  else
    archive_entry_copy_pathname (e, arcname);
  if (t->xattrs && fd >= 0 && add_xattrs (e, fd, arcname, err) < 0)
    goto out;
  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (dirfd, name, target, sizeof (target) - 1);
      if (n < 0)
        {
          husk_error_set (err, errno, "\"%s\": readlink", arcname);
          goto out;
        }
      target[n] = '\0';
      archive_entry_copy_symlink (e, target);
    }
  /* A second name of a file already written becomes a hard link entry without data.  */
  archive_entry_linkify (t->links, &e, &sparse);
  if (e && archive_write_header (t->a, e) != ARCHIVE_OK)
    {
      tar_fail (t->a, "write", arcname, err);
      goto out;
    }
  if (e && S_ISREG (st.st_mode) && archive_entry_size (e) > 0
      && write_data (t, fd, arcname, err) < 0)
    goto out;
  if (S_ISDIR (st.st_mode) && tar_dir_contents (t, fd, arcname, err) < 0)
    goto out;
  r = 0;
out:
  if (e)
    archive_entry_free (e);
  if (sparse)
    archive_entry_free (sparse);
  return r;
}

static int
tar_dir_contents (struct tar_out *t, int dfd, const char *arcdir, struct husk_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return husk_error_set (err, e, "\"%s\"", *arcdir ? arcdir : ".");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      cleanup_free char *sub = NULL;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      sub = husk_strdup_printf ("%s%s%s", arcdir, *arcdir ? "/" : "", de->d_name);
      if (tar_one (t, dirfd (d), de->d_name, sub, err) < 0)
        return -1;
    }
  if (errno != 0)
    return husk_error_set (err, errno, "\"%s\": read", *arcdir ? arcdir : ".");
  return 0;
}

static int
to_tar (int srcdir, const char *name, const char *arcname, bool archive, bool xattrs, int outfd,
        struct husk_error **err)
{
  struct tar_out t = { .archive = archive, .xattrs = xattrs };
  int r = -1;

  t.a = archive_write_new ();
  t.links = archive_entry_linkresolver_new ();
  if (t.a == NULL || t.links == NULL)
    {
      husk_error_set (err, ENOMEM, "tar");
      goto out;
    }
  archive_write_set_format_pax_restricted (t.a);
  archive_entry_linkresolver_set_strategy (t.links, archive_format (t.a));
  archive_write_set_bytes_in_last_block (t.a, 1);
  if (archive_write_open_fd (t.a, outfd) != ARCHIVE_OK)
    {
      tar_fail (t.a, "open", "-", err);
      goto out;
    }
  if (*arcname == '\0')
    {
      cleanup_close int fd = openat (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          husk_error_set (err, errno, "\"%s\"", name);
          goto out;
        }
      if (tar_dir_contents (&t, fd, "", err) < 0)
        goto out;
    }
  else if (tar_one (&t, srcdir, name, arcname, err) < 0)
    goto out;
  if (archive_write_close (t.a) != ARCHIVE_OK)
    {
      tar_fail (t.a, "write", "-", err);
      goto out;
    }
  r = 0;
out:
  if (t.links)
    archive_entry_linkresolver_free (t.links);
  if (t.a)
    archive_write_free (t.a);
  return r;
}

int
husk_copy_to_tar (int srcdir, const char *name, const char *arcname, bool archive, int outfd,
                  struct husk_error **err)
{
  return to_tar (srcdir, name, arcname, archive, false, outfd, err);
}

int
husk_copy_to_tar_export (int rootfd, int outfd, struct husk_error **err)
{
  return to_tar (rootfd, ".", "", true, true, outfd, err);
}

/* ------------------------------------------------------------------ reading */

struct dir_time
{
  char *path;
  mode_t mode;
  struct timespec mtime;
};

/* The entry's path made relative and checked: no "..", nothing absolute.  Returns NULL for a
   name that means the destination itself.  */
static char *
clean_name (const char *raw, bool *ret_bad)
{
  char *out = husk_xmalloc (strlen (raw) + 1);
  const char *p = raw;
  size_t o = 0;

  *ret_bad = false;
  while (*p)
    {
      size_t n = strcspn (p, "/");
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          *ret_bad = true;
          free (out);
          return NULL;
        }
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if (o)
            out[o++] = '/';
          memcpy (out + o, p, n);
          o += n;
        }
      p += n;
      while (*p == '/')
        p++;
    }
  out[o] = '\0';
  if (o == 0)
    {
      free (out);
      return NULL;
    }
  return out;
}

/* The parent directory of REL below DSTFD, created when missing, never through a symlink
   that leaves DSTFD; *RET_NAME points into REL.  */
static int
open_parent (int dstfd, char *rel, const char **ret_name)
{
  char *slash = strrchr (rel, '/');
  int fd;

  if (slash == NULL)
    {
      *ret_name = rel;
      fd = fcntl (dstfd, F_DUPFD_CLOEXEC, 3);
      return fd < 0 ? -errno : fd;
    }
  *slash = '\0';
  fd = husk_mkdirs_in_root (dstfd, rel, 0755, HUSK_RESOLVE_IN_ROOT);
  *slash = '/';
  *ret_name = slash + 1;
  return fd;
}

static int
extract_entry (struct archive *a, struct archive_entry *e, int dstfd, const char *rel,
               bool chown_root, struct dir_time **dirs, size_t *n_dirs, struct husk_error **err)
{
  cleanup_free char *path = husk_xstrdup (rel);
  cleanup_close int parent = -1, fd = -1;
  const char *name;
  mode_t mode = archive_entry_mode (e);
  mode_t type = mode & S_IFMT;
  const char *hardlink = archive_entry_hardlink (e);
  struct timespec ts[2]
      = { { .tv_sec = archive_entry_mtime (e), .tv_nsec = archive_entry_mtime_nsec (e) },
          { .tv_sec = archive_entry_mtime (e), .tv_nsec = archive_entry_mtime_nsec (e) } };
  uid_t uid = chown_root ? 0 : (uid_t) archive_entry_uid (e);
  gid_t gid = chown_root ? 0 : (gid_t) archive_entry_gid (e);
  struct stat st;
  bool exists;

  /* Never a device node (see husk_copy_entry), and nothing there is removed for one.  */
  if ((type == AE_IFCHR || type == AE_IFBLK) && hardlink == NULL)
    {
      husk_copy_warn_device (rel);
      return 0;
    }
  parent = open_parent (dstfd, path, &name);
  if (parent < 0)
    return husk_error_set (err, -parent, "\"%s\"", rel);
  exists = fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR (st.st_mode) && type == AE_IFDIR && hardlink == NULL))
    {
      if (S_ISDIR (st.st_mode))
        return husk_error_set (err, 0,
                               "\"%s\": cannot overwrite a directory with a "
                               "non-directory",
                               rel);
      if (unlinkat (parent, name, 0) < 0)
        return husk_error_set (err, errno, "\"%s\": remove", rel);
      exists = false;
    }

  if (hardlink)
    {
      bool bad;
      cleanup_free char *target = clean_name (hardlink, &bad);
      cleanup_close int tparent = -1;
      const char *tname;
      if (target == NULL)
        return husk_error_set (err, 0, "\"%s\": bad link target \"%s\"", rel, hardlink);
      /* The target must be a file this extraction can reach without a symlink.  */
      {
        char *slash = strrchr (target, '/');
        if (slash)
          {
            *slash = '\0';
            tparent = husk_open_in_root (dstfd, target, O_PATH | O_DIRECTORY, 0,
                                         HUSK_RESOLVE_NO_SYMLINKS);
            tname = slash + 1;
          }
        else
          {
            tparent = fcntl (dstfd, F_DUPFD_CLOEXEC, 3);
            tname = target;
          }
      }
      if (tparent < 0 || linkat (tparent, tname, parent, name, 0) < 0)
        return husk_error_set (err, tparent < 0 ? -tparent : errno, "\"%s\": link to \"%s\"", rel,
                               hardlink);
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      if (!exists && mkdirat (parent, name, 0700) < 0)
        return husk_error_set (err, errno, "\"%s\": mkdir", rel);
      fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return husk_error_set (err, errno, "\"%s\"", rel);
      if (fchown (fd, uid, gid) < 0 && errno != EINVAL)
        return husk_error_set (err, errno, "\"%s\": chown", rel);
      /* Kept writable until the end; its mode and time are set after what goes in it.  */
      if (fchmod (fd, (mode & 07777) | S_IRWXU) < 0)
        return husk_error_set (err, errno, "\"%s\": chmod", rel);
      *dirs = husk_xrealloc (*dirs, (*n_dirs + 1) * sizeof (**dirs));
      (*dirs)[*n_dirs].path = husk_xstrdup (rel);
      (*dirs)[*n_dirs].mode = mode & 07777;
      (*dirs)[*n_dirs].mtime = ts[1];
      (*n_dirs)++;
      return 0;
    case AE_IFREG:
      {
        const void *buf;
        size_t size;
        int64_t off;
        int r;

        fd = openat (parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return husk_error_set (err, errno, "\"%s\": create", rel);
        while ((r = archive_read_data_block (a, &buf, &size, &off)) == ARCHIVE_OK)
          {
            if (lseek (fd, off, SEEK_SET) < 0 || husk_write_all (fd, buf, size) < 0)
              return husk_error_set (err, errno, "\"%s\": write", rel);
          }
        if (r != ARCHIVE_EOF)
          return tar_fail (a, "read", rel, err);
        if (ftruncate (fd, archive_entry_size (e)) < 0)
          return husk_error_set (err, errno, "\"%s\": write", rel);
        break;
      }
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        if (target == NULL || symlinkat (target, parent, name) < 0)
          return husk_error_set (err, target ? errno : 0, "\"%s\": symlink", rel);
        if (fchownat (parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
          return husk_error_set (err, errno, "\"%s\": chown", rel);
        if (utimensat (parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
          return husk_error_set (err, errno, "\"%s\": set times", rel);
        return 0;
      }
    case AE_IFIFO:
      {
        /* Between mknodat and the calls below, whoever can write PARENT may put a symlink at
           NAME: none of them follows one.  */
        int r;
        if (mknodat (parent, name, S_IFIFO | 0600, 0) < 0)
          return husk_error_set (err, errno, "\"%s\": mknod", rel);
        if (fchownat (parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
          return husk_error_set (err, errno, "\"%s\": chown", rel);
        r = husk_chmod_at_nofollow (parent, name, mode & 07777);
        if (r < 0)
          return husk_error_set (err, -r, "\"%s\": chmod", rel);
        if (utimensat (parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
          return husk_error_set (err, errno, "\"%s\": set times", rel);
        return 0;
      }
    default:
      return 0;
    }
  /* A regular file: owner (an id the namespace does not map stays the extractor's), then the
     mode, as chown clears set-id bits, then the time.  */
  if (fchown (fd, uid, gid) < 0 && errno != EINVAL)
    return husk_error_set (err, errno, "\"%s\": chown", rel);
  if (fchmod (fd, mode & 07777) < 0)
    return husk_error_set (err, errno, "\"%s\": chmod", rel);
  if (futimens (fd, ts) < 0)
    return husk_error_set (err, errno, "\"%s\": set times", rel);
  return 0;
}

int
husk_copy_from_tar (int infd, int dstfd, bool chown_root, struct husk_error **err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  struct dir_time *dirs = NULL;
  size_t n_dirs = 0;
  int r = -1, ar;

  if (a == NULL)
    return husk_error_set (err, ENOMEM, "tar");
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  archive_read_support_filter_gzip (a);
  if (archive_read_open_fd (a, infd, 64 * 1024) != ARCHIVE_OK)
    {
      tar_fail (a, "read", "-", err);
      goto out;
    }
  while ((ar = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      bool bad;
      cleanup_free char *rel = clean_name (archive_entry_pathname (e), &bad);
      if (bad)
        {
          husk_error_set (err, 0, "tar entry \"%s\": leaves the destination",
                          archive_entry_pathname (e));
          goto out;
        }
      if (rel == NULL)
        continue;
      if (extract_entry (a, e, dstfd, rel, chown_root, &dirs, &n_dirs, err) < 0)
        goto out;
    }
  if (ar != ARCHIVE_EOF)
    {
      tar_fail (a, "read", "-", err);
      goto out;
    }
  /* Directories last, deepest first: their modes may forbid writing, and what went into them
     changed their times.  */
  for (size_t i = n_dirs; i-- > 0;)
    {
      struct timespec ts[2] = { dirs[i].mtime, dirs[i].mtime };
      cleanup_close int fd = husk_open_in_root (
          dstfd, dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, HUSK_RESOLVE_IN_ROOT);
      if (fd < 0 || fchmod (fd, dirs[i].mode) < 0 || futimens (fd, ts) < 0)
        {
          husk_error_set (err, fd < 0 ? -fd : errno, "\"%s\": set mode and times", dirs[i].path);
          goto out;
        }
    }
  r = 0;
out:
  for (size_t i = 0; i < n_dirs; i++)
    free (dirs[i].path);
  free (dirs);
  archive_read_free (a);
  return r;
}
