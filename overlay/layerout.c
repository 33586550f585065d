#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "layerout.h"
#include "safepath.h"
#include "unpack.h"
#include "util.h"
#include "whiteout.h"
#include "tarcleanup.h"
#include "store-struct.h"
#include "banned.h"

#define READ_BUF_SIZE (1024 * 1024)
#define CHUNK_SIZE (1024 * 1024)
#define N_CHUNKS 4
#define DEFLATE_OUT_SIZE (256 * 1024)

/* ------------------------------------------------------------------ the compressed side */

/* The tar's bytes on their way out.  The walk hashes them (the diff ID) and fills chunks; a
   second thread deflates each chunk, hashes the result (the digest) and writes the blob, so
   that reading and copying files overlaps with compressing them (the two halves cost about
   the same).  */
struct sink
{
  struct husk_sha256 *diffhash;
  uint64_t tar_bytes;

  pthread_mutex_t lock;
  pthread_cond_t filled, emptied;
  unsigned char *chunks[N_CHUNKS];
  size_t lens[N_CHUNKS];
  size_t head, count; /* Submitted chunks, oldest first: the worker's.  */
  /* The walk's own: the chunk it fills (never one the worker holds) and its bytes.  */
  size_t cur;
  size_t fill;
  bool final; /* The last chunk is submitted.  */
  bool worker_done;
  int worker_errno; /* The worker's failure (then it drops what comes).  */
  const char *worker_what;

  /* The worker's.  */
  struct isal_zstream zs;
  unsigned char *level_buf;
  unsigned char *out;
  struct husk_sha256 *blobhash;
  int blobfd;
  uint64_t blob_bytes;
};

static const uint32_t level_buf_sizes[] = {
  ISAL_DEF_LVL0_DEFAULT,
  ISAL_DEF_LVL1_DEFAULT,
  ISAL_DEF_LVL2_DEFAULT,
  ISAL_DEF_LVL3_DEFAULT,
};

unsigned char *
husk_gzip_deflate_init (struct isal_zstream *zs, int level)
{
  unsigned char *level_buf = NULL;

  isal_deflate_init (zs);
  zs->level = (uint32_t) level;
  zs->level_buf_size = level_buf_sizes[level];
  if (zs->level_buf_size > 0)
    level_buf = husk_xmalloc (zs->level_buf_size);
  zs->level_buf = level_buf;
  /* A fixed header (no name, mtime 0): the same tree gives the same blob.  */
  zs->gzip_flag = IGZIP_GZIP;
  return level_buf;
}

/* Deflate LEN bytes of DATA (the last of the stream when FINAL) into the blob.  */
static int
deflate_chunk (struct sink *k, const unsigned char *data, size_t len, bool final)
{
  k->zs.next_in = (uint8_t *) (uintptr_t) data;
  k->zs.avail_in = (uint32_t) len;
  k->zs.end_of_stream = final;
  for (;;)
    {
      size_t produced;

      k->zs.next_out = k->out;
      k->zs.avail_out = DEFLATE_OUT_SIZE;
      if (isal_deflate (&k->zs) != COMP_OK)
        {
          k->worker_what = "gzip";
          return -EINVAL;
        }
      produced = DEFLATE_OUT_SIZE - k->zs.avail_out;
      if (produced > 0)
        {
          husk_sha256_update (k->blobhash, k->out, produced);
          if (husk_write_all (k->blobfd, k->out, produced) < 0)
            {
              k->worker_what = "write blob";
              return -errno;
            }
          k->blob_bytes += produced;
        }
      if (final ? k->zs.internal_state.state == ZSTATE_END
                : k->zs.avail_in == 0 && k->zs.avail_out > 0)
        return 0;
    }
}

static void *
sink_worker (void *arg)
{
  struct sink *k = arg;

  pthread_mutex_lock (&k->lock);
  for (;;)
    {
      size_t i;
      bool last, drop;
      int r;

      while (k->count == 0 && !k->final)
        pthread_cond_wait (&k->filled, &k->lock);
      if (k->count == 0)
        break;
      i = k->head;
      last = k->final && k->count == 1;
      drop = k->worker_errno != 0;
      pthread_mutex_unlock (&k->lock);
      r = drop ? 0 : deflate_chunk (k, k->chunks[i], k->lens[i], last);
      pthread_mutex_lock (&k->lock);
      if (r < 0)
        k->worker_errno = -r;
      k->head = (k->head + 1) % N_CHUNKS;
      k->count--;
      pthread_cond_signal (&k->emptied);
      if (last)
        break;
    }
  k->worker_done = true;
  pthread_mutex_unlock (&k->lock);
  return NULL;
}

static int
sink_init (struct sink *k, int level, int blobfd, pthread_t *ret_thread, struct husk_error **err)
{
  int r;

  memset (k, 0, sizeof (*k));
  k->blobfd = blobfd;
  k->diffhash = husk_sha256_new ();
  k->blobhash = husk_sha256_new ();
  for (size_t i = 0; i < N_CHUNKS; i++)
    k->chunks[i] = husk_xmalloc (CHUNK_SIZE);
  k->out = husk_xmalloc (DEFLATE_OUT_SIZE);
  k->level_buf = husk_gzip_deflate_init (&k->zs, level);
  pthread_mutex_init (&k->lock, NULL);
  pthread_cond_init (&k->filled, NULL);
  pthread_cond_init (&k->emptied, NULL);
  r = pthread_create (ret_thread, NULL, sink_worker, k);
  if (r != 0)
    return husk_error_set (err, r, "start the compressing thread");
  return 0;
}

/* Hand the chunk being filled to the worker (the last one when FINAL) and wait for a free one.
   Returns the worker's errno when it failed.  */
static int
sink_submit (struct sink *k, bool final)
{
  int e;

  pthread_mutex_lock (&k->lock);
  k->lens[k->cur] = k->fill;
  k->cur = (k->cur + 1) % N_CHUNKS;
  k->count++;
  k->final = final;
  k->fill = 0;
  pthread_cond_signal (&k->filled);
  while (k->count == N_CHUNKS && !k->worker_done)
    pthread_cond_wait (&k->emptied, &k->lock);
  e = k->worker_errno;
  pthread_mutex_unlock (&k->lock);
  return e;
}

static int
sink_write (struct sink *k, const unsigned char *buf, size_t len)
{
  husk_sha256_update (k->diffhash, buf, len);
  k->tar_bytes += len;
  while (len > 0)
    {
      size_t i = k->cur;
      size_t n = CHUNK_SIZE - k->fill;
      if (n > len)
        n = len;
      memcpy (k->chunks[i] + k->fill, buf, n);
      k->fill += n;
      buf += n;
      len -= n;
      if (k->fill == CHUNK_SIZE)
        {
          int e = sink_submit (k, false);
          if (e)
            return -e;
        }
    }
  return 0;
}

/* Submit the end (when FINISH; otherwise the walk failed and the worker is only stopped) and
   wait for the worker.  Returns the worker's errno, or 0.  */
static int
sink_end (struct sink *k, pthread_t thread, bool finish)
{
  int e;

  if (!finish)
    {
      pthread_mutex_lock (&k->lock);
      k->worker_errno = k->worker_errno ? k->worker_errno : ECANCELED;
      pthread_mutex_unlock (&k->lock);
    }
  e = sink_submit (k, true);
  pthread_join (thread, NULL);
  return finish ? e : 0;
}

static void
sink_clear (struct sink *k)
{
  husk_sha256_free (k->diffhash);
  husk_sha256_free (k->blobhash);
  for (size_t i = 0; i < N_CHUNKS; i++)
    free (k->chunks[i]);
  free (k->out);
  free (k->level_buf);
  pthread_mutex_destroy (&k->lock);
  pthread_cond_destroy (&k->filled);
  pthread_cond_destroy (&k->emptied);
}

static la_ssize_t
archive_to_sink (struct archive *a, void *data, const void *buf, size_t len)
{
  struct sink *k = data;
  int r = sink_write (k, buf, len);

  if (r < 0)
    {
      archive_set_error (a, -r, "%s", k->worker_what ? k->worker_what : "compress");
      return -1;
    }
  return (la_ssize_t) len;
}

/* ------------------------------------------------------------------ hard links */

/* Files seen with more than one link, by device and inode: the first path written.  */
struct link
{
  dev_t dev;
  ino_t ino;
  char *path;
  bool copied; /* It exists in the staged copy (devices do not).  */
};

struct links
{
  struct link *v;
  size_t n, cap; /* Open addressing; CAP a power of two, or 0.  */
};

static size_t
link_slot (const struct links *l, dev_t dev, ino_t ino)
{
  uint64_t h = ((uint64_t) ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t) dev;
  size_t i = (size_t) (h ^ (h >> 29)) & (l->cap - 1);

  while (l->v[i].path != NULL && !(l->v[i].dev == dev && l->v[i].ino == ino))
    i = (i + 1) & (l->cap - 1);
  return i;
}

static const struct link *
link_find (const struct links *l, dev_t dev, ino_t ino)
{
  if (l->cap == 0)
    return NULL;
  {
    size_t i = link_slot (l, dev, ino);
    return l->v[i].path ? &l->v[i] : NULL;
  }
}

static void
link_add (struct links *l, dev_t dev, ino_t ino, const char *path, bool copied)
{
  if (2 * (l->n + 1) > l->cap)
    {
      struct links bigger = { .cap = l->cap ? 2 * l->cap : 64 };
      bigger.v = husk_xcalloc (bigger.cap, sizeof (struct link));
      for (size_t i = 0; i < l->cap; i++)
        if (l->v[i].path)
          bigger.v[link_slot (&bigger, l->v[i].dev, l->v[i].ino)] = l->v[i];
      free (l->v);
      l->v = bigger.v;
      l->cap = bigger.cap;
    }
  {
    size_t i = link_slot (l, dev, ino);
    l->v[i]
        = (struct link){ .dev = dev, .ino = ino, .path = husk_xstrdup (path), .copied = copied };
    l->n++;
  }
}

static void
links_clear (struct links *l)
{
  for (size_t i = 0; i < l->cap; i++)
    free (l->v[i].path);
  free (l->v);
  memset (l, 0, sizeof (*l));
}

/* ------------------------------------------------------------------ extended attributes */

struct xattr
{
  char *name;
  void *value;
  size_t size;
};

/* What an entry's xattrs say besides the ones that go into the tar.  */
struct xattr_set
{
  struct xattr *v; /* For the tar and the copy: overlay's own left out.  */
  size_t n;
  bool opaque;          /* overlay.opaque = "y", in either namespace.  */
  char **overlay_names; /* Overlay's own, for MOVE to remove (all but the store's opaque).  */
};

static void
xattr_set_clear (struct xattr_set *x)
{
  for (size_t i = 0; i < x->n; i++)
    {
      free (x->v[i].name);
      free (x->v[i].value);
    }
  free (x->v);
  husk_strv_free (x->overlay_names);
  memset (x, 0, sizeof (*x));
}

static bool
is_overlay_xattr (const char *name)
{
  return husk_str_has_prefix (name, "trusted.overlay.")
         || husk_str_has_prefix (name, "user.overlay.");
}

/* FD's xattrs when FD >= 0, else those of PATH itself (not followed).  */
static ssize_t
x_list (int fd, const char *path, char *buf, size_t size)
{
  return fd >= 0 ? flistxattr (fd, buf, size) : llistxattr (path, buf, size);
}

static ssize_t
x_get (int fd, const char *path, const char *name, void *buf, size_t size)
{
  return fd >= 0 ? fgetxattr (fd, name, buf, size) : lgetxattr (path, name, buf, size);
}

/* Read the xattrs of FD (or of NAME in DIRFD when FD < 0: symlinks, fifos, devices).  Returns
   -errno.  */
static int
read_xattrs (int fd, int dirfd, const char *name, struct xattr_set *ret, const char **ret_what)
{
  cleanup_free char *path = fd < 0 ? husk_strdup_printf ("/proc/self/fd/%d/%s", dirfd, name) : NULL;
  cleanup_free char *list = NULL;
  ssize_t n;

  *ret_what = "list xattrs";
  for (;;)
    {
      n = x_list (fd, path, NULL, 0);
      if (n < 0)
        return errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : -errno;
      if (n == 0)
        return 0;
      free (list);
      list = husk_xmalloc ((size_t) n);
      n = x_list (fd, path, list, (size_t) n);
      if (n >= 0)
        break;
      if (errno != ERANGE)
        return -errno;
    }
  for (const char *p = list; p < list + n; p += strlen (p) + 1)
    {
      cleanup_free void *value = NULL;
      ssize_t vn;

      for (;;)
        {
          vn = x_get (fd, path, p, NULL, 0);
          if (vn < 0)
            break;
          free (value);
          value = husk_xmalloc (vn > 0 ? (size_t) vn : 1);
          vn = x_get (fd, path, p, value, (size_t) vn);
          if (vn >= 0 || errno != ERANGE)
            break;
        }
      if (vn < 0)
        {
          /* Gone since it was listed.  */
          if (errno == ENODATA)
            continue;
          *ret_what = "read xattrs";
          return -errno;
        }
      if (is_overlay_xattr (p))
        {
          const char *what = strchr (p, '.') + strlen (".overlay.");
          if (strcmp (what, "opaque") == 0 && vn == 1 && *(char *) value == 'y')
            ret->opaque = true;
          /* The content of these is not in the directory: the lower layers hold it.  */
          if (strcmp (what, "redirect") == 0)
            {
              *ret_what = "a directory overlayfs redirected (redirect_dir) cannot be written";
              return -EINVAL;
            }
          if (strcmp (what, "metacopy") == 0)
            {
              *ret_what
                  = "a file overlayfs copied up as metadata only (metacopy) cannot be written";
              return -EINVAL;
            }
          husk_strv_append (&ret->overlay_names, p);
          continue;
        }
      ret->v = husk_xrealloc (ret->v, (ret->n + 1) * sizeof (*ret->v));
      ret->v[ret->n].name = husk_xstrdup (p);
      ret->v[ret->n].value = TAKE_PTR (value);
      ret->v[ret->n].size = (size_t) vn;
      ret->n++;
    }
  return 0;
}

/* ------------------------------------------------------------------ the walk */

struct writer
{
  struct archive *a;
  const struct husk_layer_write_opts *o;
  struct husk_layer_written *res;
  int copyroot; /* COPY: the staged diff directory; MOVE: -1.  */
  struct links links;
  unsigned char *buf;
};

static int64_t
clamped (const struct writer *w, const struct stat *st)
{
  int64_t t = (int64_t) st->st_mtim.tv_sec;
  if (w->o->clamp_mtime >= 0 && t > w->o->clamp_mtime)
    t = w->o->clamp_mtime;
  return t;
}

static void
tar_times (const struct writer *w, const struct stat *st, struct timespec ts[2])
{
  ts[0].tv_sec = ts[1].tv_sec = (time_t) clamped (w, st);
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
}

static struct archive_entry *
new_entry (const struct writer *w, const char *path, const struct stat *st, mode_t type,
           mode_t perm)
{
  struct archive_entry *e = archive_entry_new ();

  if (e == NULL)
    abort ();
  archive_entry_copy_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, perm);
  archive_entry_set_uid (e, st->st_uid);
  archive_entry_set_gid (e, st->st_gid);
  /* Whole seconds, as docker writes them: no pax header for every entry.  */
  archive_entry_set_mtime (e, (time_t) clamped (w, st), 0);
  return e;
}

static int
put_header (struct writer *w, struct archive_entry *e, const char *rel, struct husk_error **err)
{
  if (archive_write_header (w->a, e) != ARCHIVE_OK)
    return husk_error_set (err, archive_errno (w->a) > 0 ? archive_errno (w->a) : 0,
                           "\"/%s\": write tar: %s", rel, archive_error_string (w->a));
  w->res->entries++;
  return 0;
}

static void
add_xattrs (struct archive_entry *e, const struct xattr_set *x)
{
  for (size_t i = 0; i < x->n; i++)
    archive_entry_xattr_add_entry (e, x->v[i].name, x->v[i].value, x->v[i].size);
}

/* Set X on the copy FD (or NAME in DIRFD when FD < 0).  */
static int
copy_xattrs (struct writer *w, int fd, int dirfd, const char *name, const struct xattr_set *x,
             const char *rel, struct husk_error **err)
{
  cleanup_free char *path = NULL;

  if (x->n == 0)
    return 0;
  if (fd < 0)
    path = husk_strdup_printf ("/proc/self/fd/%d/%s", dirfd, name);
  for (size_t i = 0; i < x->n; i++)
    {
      int r = fd >= 0 ? fsetxattr (fd, x->v[i].name, x->v[i].value, x->v[i].size, 0)
                      : lsetxattr (path, x->v[i].name, x->v[i].value, x->v[i].size, 0);
      if (r < 0)
        {
          /* As unpacking does: what this filesystem or namespace refuses is left out of the
             store's copy (the tar keeps it).  */
          if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP)
            {
              w->res->skipped_xattrs++;
              continue;
            }
          return husk_error_set (err, errno, "\"/%s\": copy: set xattr \"%s\"", rel, x->v[i].name);
        }
    }
  return 0;
}

/* MOVE: leave of overlay's xattrs only the store's opaque marker.  */
static int
fix_overlay_xattrs (struct writer *w, int fd, int dirfd, const char *name,
                    const struct xattr_set *x, const char *rel, struct husk_error **err)
{
  const char *keep = husk_whiteout_opaque_xattr (w->o->rootless);
  cleanup_free char *path = NULL;

  if (fd < 0)
    path = husk_strdup_printf ("/proc/self/fd/%d/%s", dirfd, name);
  for (size_t i = 0; x->overlay_names && x->overlay_names[i]; i++)
    {
      const char *n = x->overlay_names[i];
      if (x->opaque && strcmp (n, keep) == 0)
        continue;
      if ((fd >= 0 ? fremovexattr (fd, n) : lremovexattr (path, n)) < 0 && errno != ENODATA)
        return husk_error_set (err, errno, "\"/%s\": remove xattr \"%s\"", rel, n);
    }
  /* Made opaque under the other namespace's name (a root store's upper read rootless, or the
     reverse): the store reads only its own.  */
  if (x->opaque && !husk_strv_contains (x->overlay_names, keep)
      && husk_whiteout_set_opaque (fd, w->o->rootless, err) < 0)
    return husk_error_wrap (err, "\"/%s\"", rel);
  return 0;
}

/* Owner, xattrs, mode and times of a copy made by the walk: chown first, since it clears
   set-id bits and security.capability.  */
static int
finish_copy (struct writer *w, int fd, int dirfd, const char *name, const struct stat *st,
             const struct xattr_set *x, const char *rel, struct husk_error **err)
{
  struct timespec ts[2];
  int r;

  tar_times (w, st, ts);
  r = fd >= 0 ? fchown (fd, st->st_uid, st->st_gid)
              : fchownat (dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
  /* EINVAL: an id this namespace does not map (it read as the overflow id).  */
  if (r < 0 && errno != EINVAL)
    return husk_error_set (err, errno, "\"/%s\": copy: chown", rel);
  if (copy_xattrs (w, fd, dirfd, name, x, rel, err) < 0)
    return -1;
  if (!S_ISLNK (st->st_mode))
    {
      r = fd >= 0 ? fchmod (fd, st->st_mode & 07777)
                  : husk_chmod_at_nofollow (dirfd, name, st->st_mode & 07777);
      if (r < 0)
        return husk_error_set (err, fd >= 0 ? errno : -r, "\"/%s\": copy: chmod", rel);
    }
  r = fd >= 0 ? futimens (fd, ts) : utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
  if (r < 0)
    return husk_error_set (err, errno, "\"/%s\": copy: set times", rel);
  return 0;
}

/* MOVE: the times the tar gives, so the directory is what unpacking the blob makes.  */
static int
fix_times (struct writer *w, int fd, int dirfd, const char *name, const struct stat *st,
           const char *rel, struct husk_error **err)
{
  struct timespec ts[2];
  int r;

  tar_times (w, st, ts);
  if (st->st_mtim.tv_sec == ts[1].tv_sec && st->st_mtim.tv_nsec == 0
      && st->st_atim.tv_sec == ts[0].tv_sec && st->st_atim.tv_nsec == 0)
    return 0;
  r = fd >= 0 ? futimens (fd, ts) : utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
  if (r < 0)
    return husk_error_set (err, errno, "\"/%s\": set times", rel);
  return 0;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in the directory FD but "." and "..", sorted byte-wise.  */
static int
sorted_names (int fd, const char *rel, char ***ret, size_t *ret_n, struct husk_error **err)
{
  cleanup_dir DIR *d = NULL;
  cleanup_strv char **v = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dfd < 0 || (d = fdopendir (dfd)) == NULL)
    {
      int e = errno;
      if (dfd >= 0)
        close (dfd);
      return husk_error_set (err, e, "\"/%s\": open", rel);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n + 2 > cap)
        {
          cap = cap ? 2 * cap : 16;
          v = husk_xrealloc (v, cap * sizeof (char *));
        }
      v[n++] = husk_xstrdup (de->d_name);
      v[n] = NULL;
    }
  if (errno != 0)
    return husk_error_set (err, errno, "\"/%s\": read", rel);
  if (n > 1)
    qsort (v, n, sizeof (char *), cmp_names);
  *ret = TAKE_PTR (v);
  *ret_n = n;
  return 0;
}

/* The data of the regular file FD (ST its stat) into the tar and, when COPYFD >= 0, the copy.
   A file that grows while it is read is cut at the size its header gave; one that shrinks is
   an error (its header promised more).  */
static int
put_data (struct writer *w, int fd, int copyfd, const struct stat *st, const char *rel,
          struct husk_error **err)
{
  uint64_t left = (uint64_t) st->st_size;

  while (left > 0)
    {
      size_t want = left < READ_BUF_SIZE ? (size_t) left : READ_BUF_SIZE;
      ssize_t n = read (fd, w->buf, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_set (err, errno, "\"/%s\": read", rel);
      if (n == 0)
        return husk_error_set (err, 0, "\"/%s\": file shrank while it was read", rel);
      if (copyfd >= 0 && husk_write_all (copyfd, w->buf, (size_t) n) < 0)
        return husk_error_set (err, errno, "\"/%s\": copy: write", rel);
      if (archive_write_data (w->a, w->buf, (size_t) n) != n)
        return husk_error_set (err, archive_errno (w->a) > 0 ? archive_errno (w->a) : 0,
                               "\"/%s\": write tar: %s", rel, archive_error_string (w->a));
      left -= (uint64_t) n;
    }
  w->res->bytes += (uint64_t) st->st_size;
  return 0;
}

static int walk_dir (struct writer *w, int srcfd, int copyfd, const char *rel,
                     struct husk_error **err);

/* The whiteout NAME in SRCDIR: ".wh.NAME" in the tar.  */
static int
put_whiteout (struct writer *w, int copydir, const char *name, const char *dirrel,
              const struct stat *st, const char *rel, struct husk_error **err)
{
  cleanup_free char *marker
      = husk_strdup_printf ("%s%s" HUSK_WHITEOUT_PREFIX "%s", dirrel, *dirrel ? "/" : "", name);
  struct archive_entry *e = new_entry (w, marker, st, AE_IFREG, 0);
  int r;

  archive_entry_set_size (e, 0);
  r = put_header (w, e, rel, err);
  archive_entry_free (e);
  if (r < 0)
    return -1;
  if (copydir >= 0 && husk_whiteout_delete (copydir, name, err) < 0)
    return husk_error_wrap (err, "\"/%s\": copy", rel);
  return 0;
}

static int
put_dir (struct writer *w, int srcdir, int copydir, const char *name, const struct stat *st,
         const char *rel, struct husk_error **err)
{
  cleanup_close int fd = openat (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int cfd = -1;
  cleanup_free char *tarname = husk_strdup_printf ("%s/", rel);
  struct xattr_set x = { 0 };
  struct archive_entry *e;
  const char *what;
  int r = -1;

  if (fd < 0)
    /* Gone since it was listed (a running container's).  */
    return errno == ENOENT ? 0 : husk_error_set (err, errno, "\"/%s\": open", rel);
  r = read_xattrs (fd, -1, NULL, &x, &what);
  if (r < 0)
    {
      husk_error_set (err, -r, "\"/%s\": %s", rel, what);
      goto out;
    }
  r = -1;
  e = new_entry (w, tarname, st, AE_IFDIR, st->st_mode & 07777);
  add_xattrs (e, &x);
  if (put_header (w, e, rel, err) < 0)
    {
      archive_entry_free (e);
      goto out;
    }
  if (x.opaque)
    {
      /* First in its directory (image-spec layer.md, "Opaque Whiteout").  */
      cleanup_free char *opq = husk_strdup_printf ("%s/" HUSK_WHITEOUT_OPAQUE_NAME, rel);
      archive_entry_clear (e);
      archive_entry_copy_pathname (e, opq);
      archive_entry_set_filetype (e, AE_IFREG);
      /* The directory's permission bits, as docker's and podman's layers have it.  */
      archive_entry_set_perm (e, st->st_mode & 0777);
      archive_entry_set_uid (e, st->st_uid);
      archive_entry_set_gid (e, st->st_gid);
      archive_entry_set_mtime (e, (time_t) clamped (w, st), 0);
      archive_entry_set_size (e, 0);
      if (put_header (w, e, rel, err) < 0)
        {
          archive_entry_free (e);
          goto out;
        }
    }
  archive_entry_free (e);

  if (copydir >= 0)
    {
      if (mkdirat (copydir, name, 0700) < 0
          || (cfd = openat (copydir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        {
          husk_error_set (err, errno, "\"/%s\": copy: mkdir", rel);
          goto out;
        }
      if (x.opaque && husk_whiteout_set_opaque (cfd, w->o->rootless, err) < 0)
        {
          husk_error_wrap (err, "\"/%s\": copy", rel);
          goto out;
        }
    }
  else if (fix_overlay_xattrs (w, fd, -1, NULL, &x, rel, err) < 0)
    goto out;

  if (walk_dir (w, fd, cfd, rel, err) < 0)
    goto out;

  /* Its mode and times once what went into it is there.  */
  if (cfd >= 0 ? finish_copy (w, cfd, -1, NULL, st, &x, rel, err) < 0
               : fix_times (w, fd, -1, NULL, st, rel, err) < 0)
    goto out;
  r = 0;
out:
  xattr_set_clear (&x);
  return r;
}

/* Anything but a directory or a whiteout.  */
static int
put_other (struct writer *w, int srcdir, int copydir, const char *name, const struct stat *st,
           const char *rel, struct husk_error **err)
{
  mode_t type = st->st_mode & S_IFMT;
  bool device = type == S_IFCHR || type == S_IFBLK;
  cleanup_close int fd = -1;
  cleanup_close int cfd = -1;
  cleanup_free char *target = NULL;
  struct xattr_set x = { 0 };
  struct archive_entry *e = NULL;
  const struct link *first = NULL;
  const char *what;
  int r = -1;

  if (type == S_IFSOCK)
    {
      /* Tar has no type for a socket; a layer directory holds none either.  */
      w->res->skipped_sockets++;
      if (copydir < 0 && unlinkat (srcdir, name, 0) < 0)
        return husk_error_set (err, errno, "\"/%s\": remove socket", rel);
      return 0;
    }
  if (type == S_IFREG)
    {
      struct stat fst;
      /* O_NONBLOCK: a running container may have put a fifo there since the stat, whose open
         would wait for a writer.  */
      fd = openat (srcdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
        return errno == ENOENT ? 0 : husk_error_set (err, errno, "\"/%s\": open", rel);
      if (fstat (fd, &fst) < 0)
        return husk_error_set (err, errno, "\"/%s\": stat", rel);
      if (!S_ISREG (fst.st_mode) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev)
        return husk_error_set (err, 0, "\"/%s\": replaced while it was read", rel);
    }
  r = read_xattrs (fd, srcdir, name, &x, &what);
  if (r < 0)
    {
      husk_error_set (err, -r, "\"/%s\": %s", rel, what);
      goto fail;
    }
  if (st->st_nlink > 1)
    first = link_find (&w->links, st->st_dev, st->st_ino);

  e = new_entry (w, rel, st, type, st->st_mode & 07777);
  if (first)
    {
      /* A second name of a file already written: a hard link entry, no data.  */
      archive_entry_set_hardlink (e, first->path);
      archive_entry_set_size (e, 0);
      if (put_header (w, e, rel, err) < 0)
        goto fail;
      if (copydir >= 0 && first->copied && linkat (w->copyroot, first->path, copydir, name, 0) < 0)
        {
          husk_error_set (err, errno, "\"/%s\": copy: link to \"/%s\"", rel, first->path);
          goto fail;
        }
      if (copydir < 0 && device && unlinkat (srcdir, name, 0) < 0)
        {
          husk_error_set (err, errno, "\"/%s\": remove device node", rel);
          goto fail;
        }
      goto done;
    }

  add_xattrs (e, &x);
  switch (type)
    {
    case S_IFREG:
      archive_entry_set_size (e, st->st_size);
      if (put_header (w, e, rel, err) < 0)
        goto fail;
      if (copydir >= 0)
        {
          cfd = openat (copydir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
          if (cfd < 0)
            {
              husk_error_set (err, errno, "\"/%s\": copy: create", rel);
              goto fail;
            }
        }
      if (put_data (w, fd, cfd, st, rel, err) < 0)
        goto fail;
      if (cfd >= 0 && finish_copy (w, cfd, -1, NULL, st, &x, rel, err) < 0)
        goto fail;
      if (copydir < 0
          && (fix_overlay_xattrs (w, fd, -1, NULL, &x, rel, err) < 0
              || fix_times (w, fd, -1, NULL, st, rel, err) < 0))
        goto fail;
      break;

    case S_IFLNK:
      {
        /* st_size is the target's length; a link changed meanwhile reads longer.  */
        size_t cap = (size_t) st->st_size + 2;
        ssize_t n;
        target = husk_xmalloc (cap);
        n = readlinkat (srcdir, name, target, cap);
        if (n < 0 || (size_t) n >= cap)
          {
            husk_error_set (err, n < 0 ? errno : 0, "\"/%s\": readlink%s", rel,
                            n < 0 ? "" : ": changed while it was read");
            goto fail;
          }
        target[n] = '\0';
        archive_entry_copy_symlink (e, target);
        if (put_header (w, e, rel, err) < 0)
          goto fail;
        if (copydir >= 0 && symlinkat (target, copydir, name) < 0)
          {
            husk_error_set (err, errno, "\"/%s\": copy: symlink", rel);
            goto fail;
          }
        break;
      }

    case S_IFIFO:
      if (put_header (w, e, rel, err) < 0)
        goto fail;
      if (copydir >= 0 && mknodat (copydir, name, S_IFIFO | 0600, 0) < 0)
        {
          husk_error_set (err, errno, "\"/%s\": copy: mknod", rel);
          goto fail;
        }
      break;

    case S_IFCHR:
    case S_IFBLK:
      archive_entry_set_rdevmajor (e, major (st->st_rdev));
      archive_entry_set_rdevminor (e, minor (st->st_rdev));
      if (put_header (w, e, rel, err) < 0)
        goto fail;
      /* In the tar as it is; never in the store (unpack.c says why).  */
      w->res->skipped_devices++;
      if (copydir < 0 && unlinkat (srcdir, name, 0) < 0)
        {
          husk_error_set (err, errno, "\"/%s\": remove device node", rel);
          goto fail;
        }
      break;

    default:
      husk_error_set (err, 0, "\"/%s\": unknown file type 0%o", rel, (unsigned) type);
      goto fail;
    }

  if (type == S_IFLNK || type == S_IFIFO)
    {
      if (copydir >= 0 ? finish_copy (w, -1, copydir, name, st, &x, rel, err) < 0
                       : fix_overlay_xattrs (w, -1, srcdir, name, &x, rel, err) < 0
                             || fix_times (w, -1, srcdir, name, st, rel, err) < 0)
        goto fail;
    }
  if (st->st_nlink > 1)
    link_add (&w->links, st->st_dev, st->st_ino, rel, !device);
done:
  r = 0;
fail:
  if (e)
    archive_entry_free (e);
  xattr_set_clear (&x);
  return r;
}

/* MOVE: the top of a staged layer is 0755 (a container's "/" when no layer names it), with
   none of overlay's xattrs (overlayfs keeps some on an upper directory's top).  */
static int
fix_root (struct writer *w, int fd, struct husk_error **err)
{
  struct xattr_set x = { 0 };
  const char *what;
  int r = read_xattrs (fd, -1, NULL, &x, &what);

  if (r < 0)
    husk_error_set (err, -r, "\"/\": %s", what);
  else
    {
      x.opaque = false;
      r = fix_overlay_xattrs (w, fd, -1, NULL, &x, "", err);
    }
  xattr_set_clear (&x);
  if (r == 0 && fchmod (fd, 0755) < 0)
    r = husk_error_set (err, errno, "\"/\": chmod");
  return r < 0 ? -1 : 0;
}

/* The directory SRCFD (REL, "" for the top), and its copy COPYFD (-1 in MOVE mode).  */
static int
walk_dir (struct writer *w, int srcfd, int copyfd, const char *rel, struct husk_error **err)
{
  cleanup_strv char **names = NULL;
  size_t n = 0;

  if (sorted_names (srcfd, rel, &names, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *sub = husk_strdup_printf ("%s%s%s", rel, *rel ? "/" : "", names[i]);
      struct stat st;
      int r;

      if (fstatat (srcfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          /* Gone since it was listed (a running container).  */
          if (errno == ENOENT)
            continue;
          return husk_error_set (err, errno, "\"/%s\": stat", sub);
        }
      if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
        r = put_whiteout (w, copyfd, names[i], rel, &st, sub, err);
      else if (S_ISDIR (st.st_mode))
        r = put_dir (w, srcfd, copyfd, names[i], &st, sub, err);
      else
        r = put_other (w, srcfd, copyfd, names[i], &st, sub, err);
      if (r < 0)
        return -1;
    }
  return 0;
}

void
husk_layer_write_preload (void)
{
  struct husk_sha256 *h = husk_sha256_new ();

  husk_sha256_free (h);
  archive_entry_free (archive_entry_new ());
}

int
husk_layer_write (struct husk_store *s, int dirfd, const char *name,
                  const struct husk_layer_write_opts *o, struct husk_layer_written *ret,
                  char **ret_staged, struct husk_error **err)
{
  cleanup_archive_write struct archive *a = NULL;
  cleanup_free unsigned char *buf = NULL;
  cleanup_free char *tmpdir = NULL;
  cleanup_free char *tmpdiff = NULL;
  cleanup_free char *tmpblob = NULL;
  cleanup_close int srcfd = -1;
  cleanup_close int copyfd = -1;
  cleanup_close int blobfd = -1;
  struct husk_layer_written res = { 0 };
  struct writer w = { .o = o, .res = &res, .copyroot = -1 };
  struct sink sink;
  pthread_t thread;
  bool sink_started = false;
  int ret_code = -1, e;

  if (o->gzip_level < ISAL_DEF_MIN_LEVEL || o->gzip_level > ISAL_DEF_MAX_LEVEL)
    return husk_error_set (err, 0, "gzip level %d: not from %d to %d", o->gzip_level,
                           ISAL_DEF_MIN_LEVEL, ISAL_DEF_MAX_LEVEL);
  if (o->parent_chain_id && husk_digest_check (o->parent_chain_id, err) < 0)
    return husk_error_wrap (err, "parent layer");
  srcfd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (srcfd < 0)
    return husk_error_set (err, errno, "\"%s\"", name);

  if (husk_store_mkdtemp (s, "layer", &tmpdir, err) < 0)
    return -1;
  tmpdiff = husk_strdup_printf ("%s/diff", tmpdir);
  tmpblob = husk_strdup_printf ("%s/blob", tmpdir);
  blobfd = openat (s->rootfd, tmpblob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (blobfd < 0)
    {
      husk_error_set (err, errno, "create \"%s\"", tmpblob);
      goto out;
    }
  if (o->mode == HUSK_LAYER_WRITE_COPY)
    {
      if (mkdirat (s->rootfd, tmpdiff, 0755) < 0
          || (copyfd = openat (s->rootfd, tmpdiff, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
          || fchmod (copyfd, 0755) < 0)
        {
          husk_error_set (err, errno, "mkdir \"%s\"", tmpdiff);
          goto out;
        }
      w.copyroot = copyfd;
    }

  a = archive_write_new ();
  if (a == NULL)
    {
      husk_error_set (err, ENOMEM, "libarchive");
      goto out;
    }
  archive_write_set_format_pax_restricted (a);
  /* No blocking: the tar ends right after its two zero records, as docker's do, and each
     write goes to the sink without another copy.  */
  archive_write_set_bytes_per_block (a, 0);
  if (sink_init (&sink, o->gzip_level, blobfd, &thread, err) < 0)
    {
      sink_clear (&sink);
      goto out;
    }
  sink_started = true;
  if (archive_write_open (a, &sink, NULL, archive_to_sink, NULL) != ARCHIVE_OK)
    {
      husk_error_set (err, 0, "open tar: %s", archive_error_string (a));
      goto out;
    }
  buf = husk_xmalloc (READ_BUF_SIZE);
  w.a = a;
  w.buf = buf;
  if (o->mode == HUSK_LAYER_WRITE_MOVE && fix_root (&w, srcfd, err) < 0)
    goto out;
  if (walk_dir (&w, srcfd, copyfd, "", err) < 0)
    goto out;
  if (archive_write_close (a) != ARCHIVE_OK)
    {
      husk_error_set (err, archive_errno (a) > 0 ? archive_errno (a) : 0, "write tar: %s",
                      archive_error_string (a));
      goto out;
    }
  archive_write_free (TAKE_PTR (a));
  sink_started = false;
  e = sink_end (&sink, thread, true);
  if (e)
    {
      husk_error_set (err, e, "\"%s\": %s", tmpblob, sink.worker_what ? sink.worker_what : "gzip");
      sink_clear (&sink);
      goto out;
    }
  husk_sha256_final (sink.diffhash, res.diff_id);
  husk_sha256_final (sink.blobhash, res.digest);
  res.size = (int64_t) sink.blob_bytes;
  sink_clear (&sink);

  if (res.entries == 0)
    {
      /* Nothing changed: no layer (see the header).  */
      memset (res.digest, 0, sizeof (res.digest));
      res.size = 0;
      memcpy (res.diff_id, HUSK_EMPTY_TAR_DIFF_ID, sizeof (res.diff_id));
      *ret = res;
      *ret_staged = NULL;
      ret_code = 0;
      goto out;
    }
  husk_chain_id (o->parent_chain_id, res.diff_id, res.chain_id);
  {
    cleanup_free char *sizepath = husk_strdup_printf ("%s/size", tmpdir);
    cleanup_free char *sizetext = husk_strdup_printf ("%ju\n", (uintmax_t) res.bytes);
    if (husk_write_file_atomic_at (s->rootfd, sizepath, sizetext, strlen (sizetext), 0644, err) < 0)
      goto out;
  }
  /* Last, so that a failure before leaves the directory where it was.  */
  if (o->mode == HUSK_LAYER_WRITE_MOVE && renameat (dirfd, name, s->rootfd, tmpdiff) < 0)
    {
      husk_error_set (err, errno, "\"%s\": move into \"%s\"", name, tmpdiff);
      goto out;
    }
  *ret = res;
  *ret_staged = TAKE_PTR (tmpdir);
  ret_code = 0;

out:
  if (sink_started)
    {
      /* The archive first, while the sink still takes what closing it writes (libarchive
         leaks a failed archive's format data).  */
      if (a)
        archive_write_free (TAKE_PTR (a));
      sink_end (&sink, thread, false);
      sink_clear (&sink);
    }
  if (tmpdir)
    husk_rm_rf_at (s->rootfd, tmpdir, NULL);
  links_clear (&w.links);
  return ret_code;
}
