#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "manifest.h"
#include "safepath.h"
#include "unpack.h"
#include "util.h"
#include "whiteout.h"
#include "tarcleanup.h"
#include "store-struct.h"
#include "banned.h"

#define READ_BUF_SIZE (1024 * 1024)

/* The compressed side: reads the source, counts, hashes and (optionally) copies it.  */
struct source
{
  int fd;
  int copyfd;
  struct husk_sha256 *hash;
  uint64_t bytes;
  uint64_t limit; /* Stop reading past the size the descriptor promised.  */
  bool too_long;
  int read_errno;
  unsigned char *buf;
  bool add_filters; /* ADD's archives: bzip2 and xz as well.  */
};

/* The uncompressed side: what the tar reader consumes, hashed for the diff_id.  */
struct tarstream
{
  struct archive *raw;
  struct husk_sha256 *hash;
  uint64_t bytes;
  bool started;
  bool eof;
};

static la_ssize_t
source_read (struct archive *a, void *data, const void **buf)
{
  struct source *src = data;
  size_t want = READ_BUF_SIZE;
  ssize_t r;

  if (src->limit && src->bytes >= src->limit)
    {
      /* One byte more than promised is enough to know the blob is too long.  */
      unsigned char probe;
      do
        r = read (src->fd, &probe, 1);
      while (r < 0 && errno == EINTR);
      if (r > 0)
        {
          src->too_long = true;
          if (a)
            archive_set_error (a, EFBIG, "blob larger than its descriptor says");
          return -1;
        }
      return 0;
    }
  if (src->limit && src->limit - src->bytes < want)
    want = (size_t) (src->limit - src->bytes);
  do
    r = read (src->fd, src->buf, want);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      src->read_errno = errno;
      if (a)
        archive_set_error (a, errno, "read blob");
      return -1;
    }
  if (r > 0)
    {
      if (src->hash)
        husk_sha256_update (src->hash, src->buf, (size_t) r);
      if (src->copyfd >= 0 && husk_write_all (src->copyfd, src->buf, (size_t) r) < 0)
        {
          src->read_errno = errno;
          if (a)
            archive_set_error (a, errno, "write blob");
          return -1;
        }
      src->bytes += (uint64_t) r;
    }
  *buf = src->buf;
  return r;
}

/* Between the source and libarchive: gzip is inflated here with ISA-L, about four times as fast
   as zlib, which libarchive's gzip filter uses (inflate is where a pull spends its CPU time).
   Other streams (zstd, uncompressed) pass through to libarchive's filters.  */
struct decomp
{
  struct source *src;
  /* Bytes already read from the source (to look at the magic) and not yet handed on.  */
  unsigned char peek[16];
  size_t peek_len;
  const void *held; /* The chunk read after the peek, still in src->buf.  */
  la_ssize_t held_len;
  bool gzip;
  bool src_eof;
  bool done;
  struct inflate_state *st;
  unsigned char *out;
};

/* The next chunk of compressed bytes: what the peek kept first, then the source.  */
static la_ssize_t
decomp_next (struct archive *a, struct decomp *d, const void **buf)
{
  if (d->peek_len > 0)
    {
      la_ssize_t n = (la_ssize_t) d->peek_len;
      *buf = d->peek;
      d->peek_len = 0;
      return n;
    }
  if (d->held != NULL)
    {
      la_ssize_t n = d->held_len;
      *buf = d->held;
      d->held = NULL;
      return n;
    }
  return source_read (a, d->src, buf);
}

/* Read enough of the source to tell gzip (1f 8b) from the rest.  */
static int
decomp_probe (struct decomp *d)
{
  while (d->peek_len < 2)
    {
      const void *buf;
      la_ssize_t n = source_read (NULL, d->src, &buf);
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      if (d->peek_len + (size_t) n <= sizeof (d->peek))
        {
          memcpy (d->peek + d->peek_len, buf, (size_t) n);
          d->peek_len += (size_t) n;
        }
      else
        {
          d->held = buf;
          d->held_len = n;
          break;
        }
    }
  {
    unsigned char m[2];
    size_t k = 0;
    for (size_t i = 0; i < d->peek_len && k < 2; i++)
      m[k++] = d->peek[i];
    for (la_ssize_t i = 0; d->held && i < d->held_len && k < 2; i++)
      m[k++] = ((const unsigned char *) d->held)[i];
    d->gzip = k == 2 && m[0] == 0x1f && m[1] == 0x8b;
  }
  return 0;
}

static la_ssize_t
decomp_read (struct archive *a, void *data, const void **buf)
{
  struct decomp *d = data;

  if (!d->gzip)
    return decomp_next (a, d, buf);
  for (;;)
    {
      uint32_t produced;
      int r;

      if (d->done)
        return 0;
      if (d->st->avail_in == 0 && !d->src_eof)
        {
          const void *in;
          la_ssize_t n = decomp_next (a, d, &in);
          if (n < 0)
            return -1;
          if (n == 0)
            d->src_eof = true;
          else
            {
              d->st->next_in = (uint8_t *) (uintptr_t) in;
              d->st->avail_in = (uint32_t) n;
            }
        }
      if (d->st->block_state == ISAL_BLOCK_FINISH)
        {
          /* One gzip member ended: another may follow (pigz and others write several).  */
          uint8_t *next_in = d->st->next_in;
          uint32_t avail_in = d->st->avail_in;
          if (avail_in == 0)
            {
              if (d->src_eof)
                {
                  d->done = true;
                  return 0;
                }
              continue;
            }
          isal_inflate_reset (d->st);
          d->st->crc_flag = ISAL_GZIP;
          d->st->next_in = next_in;
          d->st->avail_in = avail_in;
        }
      d->st->next_out = d->out;
      d->st->avail_out = READ_BUF_SIZE;
      r = isal_inflate (d->st);
      if (r < 0)
        {
          archive_set_error (a, EINVAL, "gzip: %s",
                             r == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch"
                             : r == ISAL_INVALID_WRAPPER  ? "invalid header"
                                                          : "invalid compressed data");
          return -1;
        }
      produced = READ_BUF_SIZE - d->st->avail_out;
      if (produced > 0)
        {
          *buf = d->out;
          return (la_ssize_t) produced;
        }
      if (d->src_eof && d->st->avail_in == 0 && d->st->block_state != ISAL_BLOCK_FINISH)
        {
          archive_set_error (a, EINVAL, "gzip: unexpected end of data");
          return -1;
        }
    }
}

static la_ssize_t
tarstream_read (struct archive *a, void *data, const void **buf)
{
  struct tarstream *ts = data;
  const void *block;
  size_t size;
  la_int64_t offset;
  int r;

  if (ts->eof)
    return 0;
  r = ARCHIVE_OK;
  if (!ts->started)
    {
      /* The raw format has one entry: the whole decompressed stream.  */
      struct archive_entry *e;
      ts->started = true;
      r = archive_read_next_header (ts->raw, &e);
    }
  if (r == ARCHIVE_OK)
    r = archive_read_data_block (ts->raw, &block, &size, &offset);
  if (r == ARCHIVE_EOF)
    {
      ts->eof = true;
      return 0;
    }
  if (r != ARCHIVE_OK)
    {
      archive_set_error (a, archive_errno (ts->raw), "%s", archive_error_string (ts->raw));
      return -1;
    }
  husk_sha256_update (ts->hash, block, size);
  ts->bytes += size;
  *buf = block;
  return (la_ssize_t) size;
}

/* Directories get their times after everything below them is written.  */
struct dirtime
{
  char *path;
  struct timespec times[2];
};

struct unpacker
{
  int rootfd;
  bool rootless;
  struct husk_unpack_stats *stats;
  struct dirtime *dirtimes;
  size_t n_dirtimes;
};

/* Normalize an entry name: strip "./", refuse ".." and absolute paths, empty components kept out.
   Returns NULL (and sets *ERR) when the name is not acceptable.  */
static char *
clean_entry_path (const char *name, struct husk_error **err)
{
  cleanup_free char *out = husk_xcalloc (1, strlen (name) + 1);
  size_t o = 0;
  const char *p = name;

  /* tar(1) strips a leading "/" with a warning; a layer has no business naming one.  */
  if (*p == '/')
    {
      husk_error_set (err, 0, "absolute paths are not allowed in layer paths");
      return NULL;
    }
  while (*p)
    {
      const char *e = strchr (p, '/');
      size_t n = e ? (size_t) (e - p) : strlen (p);

      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          husk_error_set (err, 0, "\"..\" is not allowed in layer paths");
          return NULL;
        }
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if (o > 0)
            out[o++] = '/';
          memcpy (out + o, p, n);
          o += n;
        }
      if (!e)
        break;
      p = e + 1;
    }
  out[o] = '\0';
  return TAKE_PTR (out);
}

static const char *
path_error (int e)
{
  if (e == ELOOP)
    return "path goes through a symlink";
  if (e == EXDEV)
    return "path leaves the layer";
  if (e == ENOTDIR)
    return "a parent is not a directory";
  return strerror (e);
}

/* Remove whatever NAME is in PARENTFD so that an entry of another kind can take its place.  */
static int
clear_name (int parentfd, const char *name, bool keep_dir, bool *ret_is_dir,
            struct husk_error **err)
{
  struct stat st;

  *ret_is_dir = false;
  if (fstatat (parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : husk_error_set (err, errno, "stat");
  if (S_ISDIR (st.st_mode))
    {
      if (keep_dir)
        {
          *ret_is_dir = true;
          return 0;
        }
      return husk_rm_rf_at (parentfd, name, err);
    }
  if (unlinkat (parentfd, name, 0) < 0)
    return husk_error_set (err, errno, "remove");
  return 0;
}

static void
note_unmapped (uint64_t *n, uint32_t *min, uint32_t *max, uint32_t id)
{
  if ((*n)++ == 0 || id < *min)
    *min = id;
  if (*n == 1 || id > *max)
    *max = id;
}

void
husk_unmapped_ids_merge (struct husk_unmapped_ids *dst, const struct husk_unmapped_ids *src)
{
  if (src->uids > 0)
    {
      if (dst->uids == 0 || src->uid_min < dst->uid_min)
        dst->uid_min = src->uid_min;
      if (dst->uids == 0 || src->uid_max > dst->uid_max)
        dst->uid_max = src->uid_max;
    }
  if (src->gids > 0)
    {
      if (dst->gids == 0 || src->gid_min < dst->gid_min)
        dst->gid_min = src->gid_min;
      if (dst->gids == 0 || src->gid_max > dst->gid_max)
        dst->gid_max = src->gid_max;
    }
  dst->files += src->files;
  dst->uids += src->uids;
  dst->gids += src->gids;
}

static int
chown_entry (int fd, const char *name, uid_t uid, gid_t gid)
{
  int r = name ? fchownat (fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown (fd, uid, gid);
  return r < 0 ? -errno : 0;
}

static int
apply_owner (struct unpacker *u, int fd, const char *name, struct archive_entry *e,
             struct husk_error **err)
{
  uid_t uid = (uid_t) archive_entry_uid (e);
  gid_t gid = (gid_t) archive_entry_gid (e);
  struct husk_unmapped_ids *un = &u->stats->unmapped;
  bool uid_out, gid_out;
  int r;

  if (archive_entry_uid (e) < 0 || archive_entry_uid (e) > UINT32_MAX - 1
      || archive_entry_gid (e) < 0 || archive_entry_gid (e) > UINT32_MAX - 1)
    return husk_error_set (err, 0, "owner %jd:%jd out of range", (intmax_t) archive_entry_uid (e),
                           (intmax_t) archive_entry_gid (e));
  r = chown_entry (fd, name, uid, gid);
  /* EINVAL: an id with no mapping in this user namespace (outside the caller's subordinate
     ranges, or no range at all).  Each id is tried alone, to keep the one that maps and to
     tell the caller which ids were out; the entry otherwise stays the user's.  */
  if (r == -EINVAL && u->rootless)
    {
      uid_out = chown_entry (fd, name, uid, (gid_t) -1) == -EINVAL;
      gid_out = chown_entry (fd, name, (uid_t) -1, gid) == -EINVAL;
      if (uid_out)
        note_unmapped (&un->uids, &un->uid_min, &un->uid_max, (uint32_t) uid);
      if (gid_out)
        note_unmapped (&un->gids, &un->gid_min, &un->gid_max, (uint32_t) gid);
      if (uid_out || gid_out)
        un->files++;
      return 0;
    }
  if (r < 0)
    return husk_error_set (err, -r, "chown %u:%u", (unsigned) uid, (unsigned) gid);
  return 0;
}

static int
apply_xattrs (struct unpacker *u, int fd, struct archive_entry *e, struct husk_error **err)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      /* overlayfs reads its own xattrs from lower directories (opaque, redirect, metacopy):
         an image must not be able to forge them.  */
      if (husk_str_has_prefix (name, "trusted.overlay.")
          || husk_str_has_prefix (name, "user.overlay."))
        {
          u->stats->skipped_xattrs++;
          continue;
        }
      if (fsetxattr (fd, name, value, size, 0) < 0)
        {
          if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP)
            {
              u->stats->skipped_xattrs++;
              continue;
            }
          return husk_error_set (err, errno, "set xattr \"%s\"", name);
        }
    }
  return 0;
}

static void
entry_times (struct archive_entry *e, struct timespec times[2])
{
  times[0].tv_sec
      = archive_entry_atime_is_set (e) ? archive_entry_atime (e) : archive_entry_mtime (e);
  times[0].tv_nsec = archive_entry_atime_is_set (e) ? archive_entry_atime_nsec (e)
                                                    : archive_entry_mtime_nsec (e);
  times[1].tv_sec = archive_entry_mtime (e);
  times[1].tv_nsec = archive_entry_mtime_nsec (e);
}

static int
write_file_data (struct archive *a, int fd, struct husk_error **err)
{
  const void *block;
  size_t size;
  la_int64_t offset, end = 0;
  int r;

  while ((r = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK)
    {
      if (offset != end && lseek (fd, offset, SEEK_SET) < 0)
        return husk_error_set (err, errno, "seek");
      if (husk_write_all (fd, block, size) < 0)
        return husk_error_set (err, errno, "write");
      end = offset + (la_int64_t) size;
    }
  if (r != ARCHIVE_EOF)
    return husk_error_set (err, archive_errno (a) > 0 ? archive_errno (a) : 0, "read tar: %s",
                           archive_error_string (a));
  return 0;
}

/* A marker is never a file, so it cannot be a directory either.  */
static bool
has_marker_component (const char *dir)
{
  for (const char *c = dir; c != NULL; c = strchr (c, '/') ? strchr (c, '/') + 1 : NULL)
    if (husk_str_has_prefix (c, HUSK_WHITEOUT_PREFIX))
      return true;
  return false;
}

static int
unpack_entry (struct unpacker *u, struct archive *a, struct archive_entry *e, const char *path,
              struct husk_error **err)
{
  cleanup_close int parentfd = -1;
  cleanup_close int fd = -1;
  cleanup_free char *parent = NULL;
  const char *name, *slash, *hardlink;
  mode_t type = archive_entry_filetype (e);
  mode_t perm = archive_entry_perm (e) & 07777;
  struct timespec times[2];
  bool is_dir = false;
  enum husk_whiteout_kind wh;
  const char *wh_target;

  entry_times (e, times);

  if (*path == '\0')
    {
      /* The layer root itself ("./"): only its attributes.  */
      if (type != AE_IFDIR)
        return husk_error_set (err, 0, "the layer root is not a directory");
      fd = fcntl (u->rootfd, F_DUPFD_CLOEXEC, 3);
      if (fd < 0 || apply_owner (u, fd, NULL, e, err) < 0 || fchmod (fd, perm) < 0)
        return *err ? -1 : husk_error_set (err, errno, "set attributes");
      u->dirtimes = husk_xrealloc (u->dirtimes, (u->n_dirtimes + 1) * sizeof (struct dirtime));
      u->dirtimes[u->n_dirtimes].path = husk_xstrdup (".");
      memcpy (u->dirtimes[u->n_dirtimes].times, times, sizeof (times));
      u->n_dirtimes++;
      return 0;
    }

  slash = strrchr (path, '/');
  name = slash ? slash + 1 : path;
  if (husk_whiteout_classify (name, &wh, &wh_target, err) < 0)
    return -1;

  parent = slash ? husk_xcalloc (1, (size_t) (slash - path) + 1) : husk_xstrdup (".");
  if (slash)
    memcpy (parent, path, (size_t) (slash - path));
  if (has_marker_component (parent))
    return husk_error_set (err, 0, "a whiteout marker is used as a directory");
  parentfd = husk_mkdirs_in_root (u->rootfd, parent, 0755, HUSK_RESOLVE_NO_SYMLINKS);
  if (parentfd < 0)
    return husk_error_set (err, 0, "%s", path_error (-parentfd));

  /* Markers are applied whatever their entry type says, and never written as themselves.
     The opaque xattr hides only the layers below, so it does not matter where in the layer
     the marker comes: entries of this layer in the same directory stay visible.  */
  if (wh == HUSK_WHITEOUT_OPAQUE)
    {
      if (husk_whiteout_set_opaque (parentfd, u->rootless, err) < 0)
        return -1;
      u->stats->whiteouts++;
      return 0;
    }
  if (wh == HUSK_WHITEOUT_DELETE)
    {
      if (husk_whiteout_delete (parentfd, wh_target, err) < 0)
        return -1;
      u->stats->whiteouts++;
      return 0;
    }

  hardlink = archive_entry_hardlink (e);
  if (hardlink != NULL)
    {
      cleanup_free char *target = clean_entry_path (hardlink, err);
      cleanup_close int tfd = -1;
      cleanup_free char *proc = NULL;
      struct stat tst;

      if (target == NULL)
        return husk_error_wrap (err, "hardlink to \"%s\"", hardlink);
      tfd = husk_open_in_root (u->rootfd, target, O_PATH | O_NOFOLLOW, 0, HUSK_RESOLVE_NO_SYMLINKS);
      if (tfd < 0)
        return husk_error_set (err, 0, "hardlink to \"%s\": %s", hardlink,
                               tfd == -ENOENT ? "target not in this layer" : path_error (-tfd));
      /* A whiteout this layer made is a deletion, not a file to link to.  */
      if (fstat (tfd, &tst) == 0 && S_ISCHR (tst.st_mode) && tst.st_rdev == makedev (0, 0))
        return husk_error_set (err, 0, "hardlink to \"%s\": target not in this layer", hardlink);
      if (clear_name (parentfd, name, false, &is_dir, err) < 0)
        return -1;
      /* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH in the initial namespace; the
         /proc/self/fd form links the very inode we resolved, without it.  */
      proc = husk_strdup_printf ("/proc/self/fd/%d", tfd);
      if (linkat (AT_FDCWD, proc, parentfd, name, AT_SYMLINK_FOLLOW) < 0)
        return husk_error_set (err, errno, "hardlink to \"%s\"", hardlink);
      u->stats->entries++;
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      if (clear_name (parentfd, name, true, &is_dir, err) < 0)
        return -1;
      if (!is_dir && mkdirat (parentfd, name, 0700) < 0)
        return husk_error_set (err, errno, "mkdir");
      fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return husk_error_set (err, errno, "open");
      if (apply_owner (u, fd, NULL, e, err) < 0 || apply_xattrs (u, fd, e, err) < 0)
        return -1;
      if (fchmod (fd, perm) < 0)
        return husk_error_set (err, errno, "chmod");
      u->dirtimes = husk_xrealloc (u->dirtimes, (u->n_dirtimes + 1) * sizeof (struct dirtime));
      u->dirtimes[u->n_dirtimes].path = husk_xstrdup (path);
      memcpy (u->dirtimes[u->n_dirtimes].times, times, sizeof (times));
      u->n_dirtimes++;
      break;

    case AE_IFREG:
      if (clear_name (parentfd, name, false, &is_dir, err) < 0)
        return -1;
      fd = openat (parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return husk_error_set (err, errno, "create");
      if (write_file_data (a, fd, err) < 0)
        return -1;
      /* A sparse file may end in a hole.  */
      if (ftruncate (fd, archive_entry_size (e)) < 0)
        return husk_error_set (err, errno, "truncate");
      /* chown first: it clears setuid and setgid bits that chmod then sets.  */
      if (apply_owner (u, fd, NULL, e, err) < 0 || apply_xattrs (u, fd, e, err) < 0)
        return -1;
      if (fchmod (fd, perm) < 0)
        return husk_error_set (err, errno, "chmod");
      if (futimens (fd, times) < 0)
        return husk_error_set (err, errno, "set times");
      u->stats->bytes += (uint64_t) archive_entry_size (e);
      break;

    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        if (target == NULL)
          return husk_error_set (err, 0, "symlink without a target");
        if (clear_name (parentfd, name, false, &is_dir, err) < 0)
          return -1;
        if (symlinkat (target, parentfd, name) < 0)
          return husk_error_set (err, errno, "symlink");
        if (apply_owner (u, parentfd, name, e, err) < 0)
          return -1;
        if (utimensat (parentfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
          return husk_error_set (err, errno, "set times");
        break;
      }

    case AE_IFIFO:
    case AE_IFCHR:
    case AE_IFBLK:
      /* Never a char or block node in the store, as root too: one there (mode 0666, say, for
         the host's disk) would open the host's device for any local user who reaches the
         layer directory, and for an image that ships it.  Fifos are harmless.  */
      if (type != AE_IFIFO)
        {
          u->stats->skipped_devices++;
          return 0;
        }
      if (clear_name (parentfd, name, false, &is_dir, err) < 0)
        return -1;
      if (mknodat (parentfd, name, type | perm,
                   makedev (archive_entry_rdevmajor (e), archive_entry_rdevminor (e)))
          < 0)
        return husk_error_set (err, errno, "mknod");
      if (apply_owner (u, parentfd, name, e, err) < 0)
        return -1;
      if (fchmodat (parentfd, name, perm, 0) < 0)
        return husk_error_set (err, errno, "chmod");
      if (utimensat (parentfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return husk_error_set (err, errno, "set times");
      break;

    case AE_IFSOCK:
      return 0;

    default:
      return husk_error_set (err, 0, "unknown entry type 0%o", (unsigned) type);
    }
  u->stats->entries++;
  return 0;
}

static int
finish_dirtimes (struct unpacker *u, struct husk_error **err)
{
  int ret = 0;

  for (size_t i = u->n_dirtimes; i-- > 0;)
    {
      struct dirtime *d = &u->dirtimes[i];
      if (ret == 0)
        {
          cleanup_close int fd = husk_open_in_root (u->rootfd, d->path, O_RDONLY | O_DIRECTORY, 0,
                                                    HUSK_RESOLVE_NO_SYMLINKS);
          /* A later entry may have replaced the directory; then it has its own times.  */
          if (fd >= 0 && futimens (fd, d->times) < 0)
            ret = husk_error_set (err, errno, "entry \"%s\": set times", d->path);
        }
      free (d->path);
    }
  free (u->dirtimes);
  u->dirtimes = NULL;
  u->n_dirtimes = 0;
  return ret;
}

/* Drive both readers.  DIFF, when not NULL, receives the diff_id.  */
static int
unpack_stream (struct source *src, int rootfd, bool rootless, struct husk_unpack_stats *stats,
               char *diff, struct husk_error **err)
{
  cleanup_archive_read struct archive *raw = archive_read_new ();
  cleanup_archive_read struct archive *tar = archive_read_new ();
  cleanup_sha256 struct husk_sha256 *diffhash = husk_sha256_new ();
  struct tarstream ts = { .raw = raw, .hash = diffhash };
  struct unpacker u = { .rootfd = rootfd, .rootless = rootless, .stats = stats };
  struct archive_entry *e;
  int r;

  cleanup_free struct inflate_state *st = NULL;
  cleanup_free unsigned char *inflated = NULL;
  struct decomp dc = { .src = src };

  if (raw == NULL || tar == NULL)
    return husk_error_set (err, ENOMEM, "libarchive");
  if (decomp_probe (&dc) < 0)
    return husk_error_set (err, src->read_errno, "read layer");
  if (dc.gzip)
    {
      st = husk_xmalloc (sizeof (*st));
      inflated = husk_xmalloc (READ_BUF_SIZE);
      isal_inflate_init (st);
      st->crc_flag = ISAL_GZIP;
      dc.st = st;
      dc.out = inflated;
    }
  else
    {
      /* Only the compressions layers use: no bidding by other decoders on hostile bytes.  */
      archive_read_support_filter_zstd (raw);
      if (src->add_filters)
        {
          archive_read_support_filter_bzip2 (raw);
          archive_read_support_filter_xz (raw);
        }
    }
  archive_read_support_format_raw (raw);
  if (archive_read_open (raw, &dc, NULL, decomp_read, NULL) != ARCHIVE_OK)
    return husk_error_set (err, 0, "open layer: %s", archive_error_string (raw));

  archive_read_support_format_tar (tar);
  archive_read_support_format_gnutar (tar);
  if (archive_read_open (tar, &ts, NULL, tarstream_read, NULL) != ARCHIVE_OK)
    return husk_error_set (err, 0, "read tar: %s", archive_error_string (tar));

  while ((r = archive_read_next_header (tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      cleanup_free char *path = NULL;
      const char *name = archive_entry_pathname (e);

      if (name == NULL)
        {
          finish_dirtimes (&u, NULL);
          return husk_error_set (err, 0, "entry without a name");
        }
      path = clean_entry_path (name, err);
      if (path == NULL || unpack_entry (&u, tar, e, path, err) < 0)
        {
          finish_dirtimes (&u, NULL);
          husk_error_wrap (err, "entry \"%s\"", name);
          return -1;
        }
    }
  if (r != ARCHIVE_EOF)
    {
      finish_dirtimes (&u, NULL);
      if (src->too_long)
        return husk_error_set (err, 0, "blob is larger than its descriptor says");
      return husk_error_set (err, src->read_errno, "read tar: %s", archive_error_string (tar));
    }
  if (finish_dirtimes (&u, err) < 0)
    return -1;

  /* The diff_id covers the whole uncompressed stream, the padding after the end marker too,
     and the blob digest covers every byte of the blob.  */
  while (!ts.eof)
    {
      const void *buf;
      if (tarstream_read (tar, &ts, &buf) < 0)
        return husk_error_set (err, src->read_errno, "read layer: %s", archive_error_string (tar));
    }
  for (;;)
    {
      const void *buf;
      la_ssize_t n = source_read (raw, src, &buf);
      if (n < 0)
        return husk_error_set (err, src->read_errno, "read layer: %s", archive_error_string (raw));
      if (n == 0)
        break;
    }
  if (diff)
    husk_sha256_final (diffhash, diff);
  return 0;
}

int
husk_unpack_fd (int srcfd, int rootfd, bool rootless, struct husk_unpack_stats *stats,
                struct husk_error **err)
{
  cleanup_free unsigned char *buf = husk_xmalloc (READ_BUF_SIZE);
  struct source src = { .fd = srcfd, .copyfd = -1, .buf = buf };
  return unpack_stream (&src, rootfd, rootless, stats, NULL, err);
}

int
husk_unpack_archive_fd (int srcfd, int rootfd, bool rootless, struct husk_unpack_stats *stats,
                        struct husk_error **err)
{
  cleanup_free unsigned char *buf = husk_xmalloc (READ_BUF_SIZE);
  struct source src = { .fd = srcfd, .copyfd = -1, .buf = buf, .add_filters = true };
  return unpack_stream (&src, rootfd, rootless, stats, NULL, err);
}

bool
husk_unpack_is_archive (int fd)
{
  cleanup_archive_read struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int r;

  if (a == NULL)
    return false;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  if (archive_read_open_fd (a, fd, 64 * 1024) != ARCHIVE_OK)
    return false;
  r = archive_read_next_header (a, &e);
  return r == ARCHIVE_OK || r == ARCHIVE_WARN;
}

/* Read what is left of the blob, for its digest, after unpacking stopped early.  */
static void
drain_source (struct source *src)
{
  const void *buf;
  while (!src->too_long && source_read (NULL, src, &buf) > 0)
    ;
}

int
husk_layer_stage (struct husk_store *s, int srcfd, const struct husk_layer_desc *desc,
                  bool rootless, struct husk_unpack_stats *stats, char **ret_staged,
                  struct husk_error **err)
{
  cleanup_free unsigned char *buf = husk_xmalloc (READ_BUF_SIZE);
  cleanup_sha256 struct husk_sha256 *blobhash = husk_sha256_new ();
  cleanup_free char *tmpdir = NULL;
  cleanup_free char *tmpblob = NULL;
  cleanup_free char *tmpdiff = NULL;
  cleanup_close int blobfd = -1;
  cleanup_close int difffd = -1;
  char digest[HUSK_DIGEST_LEN + 1], diff[HUSK_DIGEST_LEN + 1];
  struct source src = { .fd = srcfd, .hash = blobhash, .buf = buf };
  int ret = -1, r;

  if (desc->size < 0)
    return husk_error_set (err, 0, "layer %s: negative size", desc->digest);
  if (!husk_layer_media_type_ok (desc->media_type))
    return husk_error_set (err, 0, "layer %s: unsupported media type \"%s\"", desc->digest,
                           desc->media_type);
  src.limit = (uint64_t) desc->size;

  if (husk_store_mkdtemp (s, "layer", &tmpdir, err) < 0)
    return -1;
  tmpdiff = husk_strdup_printf ("%s/diff", tmpdir);
  tmpblob = husk_strdup_printf ("%s/blob", tmpdir);
  if (mkdirat (s->rootfd, tmpdiff, 0755) < 0)
    {
      husk_error_set (err, errno, "mkdir \"%s\"", tmpdiff);
      goto out;
    }
  difffd = openat (s->rootfd, tmpdiff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* The layer's root is a container's "/" when no entry names it: 0755 exactly, never what
     the umask left of it.  */
  if (difffd < 0 || fchmod (difffd, 0755) < 0)
    {
      husk_error_set (err, errno, difffd < 0 ? "open \"%s\"" : "chmod \"%s\"", tmpdiff);
      goto out;
    }
  if (!husk_store_has_blob (s, desc->digest))
    {
      blobfd = openat (s->rootfd, tmpblob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (blobfd < 0)
        {
          husk_error_set (err, errno, "create \"%s\"", tmpblob);
          goto out;
        }
    }
  src.copyfd = blobfd;

  r = unpack_stream (&src, difffd, rootless, stats, diff, err);
  if (r < 0)
    drain_source (&src);
  husk_sha256_final (blobhash, digest);

  /* A blob that is not what its descriptor promised is the root cause of whatever the
     decompressor or the tar reader said about it: report that first.  */
  if (src.too_long || src.bytes != (uint64_t) desc->size)
    {
      husk_error_free (err);
      if (src.too_long)
        husk_error_set (err, 0,
                        "layer %s: size mismatch (more than the %jd bytes its descriptor says)",
                        desc->digest, (intmax_t) desc->size);
      else
        husk_error_set (err, 0, "layer %s: size mismatch (%ju bytes, descriptor says %jd)",
                        desc->digest, (uintmax_t) src.bytes, (intmax_t) desc->size);
      goto out;
    }
  if (src.read_errno == 0 && strcmp (digest, desc->digest) != 0)
    {
      husk_error_free (err);
      husk_error_set (err, 0, "layer %s: digest mismatch (content is %s)", desc->digest, digest);
      goto out;
    }
  if (r < 0)
    {
      husk_error_wrap (err, "layer %s", desc->digest);
      goto out;
    }
  if (strcmp (diff, desc->diff_id) != 0)
    {
      husk_error_set (err, 0, "layer %s: diff_id mismatch (config says %s, content is %s)",
                      desc->digest, desc->diff_id, diff);
      goto out;
    }
  {
    /* The unpacked size travels with the layer.  */
    cleanup_free char *sizepath = husk_strdup_printf ("%s/size", tmpdir);
    cleanup_free char *sizetext = husk_strdup_printf ("%ju\n", (uintmax_t) stats->bytes);
    if (husk_write_file_atomic_at (s->rootfd, sizepath, sizetext, strlen (sizetext), 0644, err) < 0)
      goto out;
  }
  *ret_staged = TAKE_PTR (tmpdir);
  ret = 0;

out:
  if (tmpdir)
    husk_rm_rf_at (s->rootfd, tmpdir, NULL);
  return ret;
}

int
husk_layer_publish (struct husk_store *s, const char *staged, const struct husk_layer_desc *desc,
                    struct husk_error **err)
{
  cleanup_free char *tmpblob = husk_strdup_printf ("%s/blob", staged);
  cleanup_free char *blobpath
      = husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (desc->digest));
  cleanup_free char *layerdir = husk_strdup_printf ("layers/%s", husk_digest_hex (desc->chain_id));

  /* Each step is a rename of something verified, so a killed pull leaves only tmp/ behind or a
     verified layer without an image.  Like containers/storage, layers are not fsynced: that
     guards against power loss, not kill -9, and costs a full writeback per pull.  */
  if (renameat (s->rootfd, tmpblob, s->rootfd, blobpath) < 0 && errno != ENOENT)
    return husk_error_set (err, errno, "publish \"%s\"", blobpath);
  if (renameat (s->rootfd, staged, s->rootfd, layerdir) < 0)
    {
      /* The same chain ID published meanwhile: it is as good as ours.  */
      if (errno != EEXIST && errno != ENOTEMPTY)
        return husk_error_set (err, errno, "publish \"%s\"", layerdir);
      husk_rm_rf_at (s->rootfd, staged, NULL);
    }
  return 0;
}

void
husk_layer_discard (struct husk_store *s, const char *staged)
{
  husk_rm_rf_at (s->rootfd, staged, NULL);
}
