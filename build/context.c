/* The build context: selecting COPY/ADD sources, hashing them, and the stat cache.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "context.h"
#include "ignore.h"
#include "safepath.h"
#include "strbuf.h"
#include "util.h"
#include "banned.h"

/* What the stat cache remembers of a regular file: when all of it is unchanged, so is the
   content (git's index makes the same bet, with ctime guarding against a writer that puts
   mtime back).  */
struct stat_entry
{
  char *path;
  uint64_t ino, size;
  int64_t mtime_ns, ctime_ns;
  uint32_t mode, uid, gid;
  char digest[HUSK_DIGEST_LEN + 1];
};

struct husk_ctx
{
  int dirfd;
  char *real;  /* Where DIRFD is, as /proc/self/fd shows it: to name what a link resolves to.  */
  char *where; /* What a missing source is not found in; NULL: the build context.  */
  husk_ctx_filter_fn filter;
  void *filter_arg;
  char *statcache;
  struct stat_entry *cache; /* Sorted by path.  */
  size_t n_cache, cap_cache;
  bool cache_dirty;
};

/* The selection being built.  */
struct select_state
{
  struct husk_ctx *c;
  struct husk_ctx_selection *sel;
  size_t cap_entries, cap_sources;
  int64_t started_ns; /* CLOCK_REALTIME when the selection began.  */
  const struct husk_ctx_select_opts *opts;
  bool exclude_walk; /* --exclude has exceptions: an excluded directory is still walked.  */
  size_t glob_base;  /* In the source being matched: the length of its part before the first
                        component with a glob ("src/" in "src/?.c").  */
  size_t excluded;   /* Glob matches --exclude left out, for the source being matched.  */
  char *pivot;       /* --parents: the source's pivot ("." when it has none).  */
  char buf[1 << 16];
};

static int
stat_entry_cmp (const void *a, const void *b)
{
  return strcmp (((const struct stat_entry *) a)->path, ((const struct stat_entry *) b)->path);
}

static int64_t
ts_ns (const struct timespec *t)
{
  return (int64_t) t->tv_sec * 1000000000 + t->tv_nsec;
}

static struct stat_entry *
cache_find (struct husk_ctx *c, const char *path)
{
  struct stat_entry key = { .path = (char *) path };

  if (c->n_cache == 0)
    return NULL;
  return bsearch (&key, c->cache, c->n_cache, sizeof key, stat_entry_cmp);
}

static bool
cache_matches (const struct stat_entry *e, const struct stat *st)
{
  return e->ino == (uint64_t) st->st_ino && e->size == (uint64_t) st->st_size
         && e->mtime_ns == ts_ns (&st->st_mtim) && e->ctime_ns == ts_ns (&st->st_ctim)
         && e->mode == st->st_mode && e->uid == st->st_uid && e->gid == st->st_gid;
}

static void
cache_put (struct husk_ctx *c, const char *path, const struct stat *st, const char *digest)
{
  struct stat_entry *e = cache_find (c, path);

  if (e == NULL)
    {
      if (c->n_cache == c->cap_cache)
        {
          c->cap_cache = c->cap_cache ? c->cap_cache * 2 : 64;
          c->cache = husk_xrealloc (c->cache, c->cap_cache * sizeof *c->cache);
        }
      /* Kept sorted: insert at the place bsearch would have found.  */
      size_t lo = 0, hi = c->n_cache;
      while (lo < hi)
        {
          size_t mid = lo + (hi - lo) / 2;
          if (strcmp (c->cache[mid].path, path) < 0)
            lo = mid + 1;
          else
            hi = mid;
        }
      memmove (&c->cache[lo + 1], &c->cache[lo], (c->n_cache - lo) * sizeof *c->cache);
      c->n_cache++;
      e = &c->cache[lo];
      memset (e, 0, sizeof *e);
      e->path = husk_xstrdup (path);
    }
  e->ino = st->st_ino;
  e->size = st->st_size;
  e->mtime_ns = ts_ns (&st->st_mtim);
  e->ctime_ns = ts_ns (&st->st_ctim);
  e->mode = st->st_mode;
  e->uid = st->st_uid;
  e->gid = st->st_gid;
  memcpy (e->digest, digest, sizeof e->digest);
  c->cache_dirty = true;
}

/* The stat cache file, written and read only by this code (like git's index, a flat record
   array, since a JSON tree of 2000 entries cost more to parse than the lstat walk it saves):
     header   "HUSKSTAT", u32 version (2), u32 count
     entry    u64 ino, u64 size, i64 mtime_ns, i64 ctime_ns, u32 mode, u32 uid, u32 gid,
              u32 path length, the digest's HUSK_DIGEST_LEN characters, the path's bytes
   in host byte order (the store is this machine's), entries sorted by path.  */
#define STATCACHE_MAGIC "HUSKSTAT"
#define STATCACHE_VERSION 2
#define STATCACHE_FIXED (4 * 8 + 4 * 4 + HUSK_DIGEST_LEN)

static void
put_bytes (struct husk_strbuf *b, const void *p, size_t n)
{
  husk_strbuf_add (b, p, n);
}

/* Read the stat cache; anything wrong with it and it is dropped whole (the files are read
   again, which is only slower).  */
static void
cache_load (struct husk_ctx *c)
{
  cleanup_free char *buf = NULL;
  size_t len, off;
  cleanup_error struct husk_error *err = NULL;
  uint32_t version, n;

  if (husk_read_file_at (AT_FDCWD, c->statcache, 256 << 20, &buf, &len, &err) < 0)
    return;
  if (len < 16 || memcmp (buf, STATCACHE_MAGIC, 8) != 0)
    return;
  memcpy (&version, buf + 8, 4);
  memcpy (&n, buf + 12, 4);
  /* Each entry takes at least STATCACHE_FIXED + 1 bytes: a count past that is a lie.  */
  if (version != STATCACHE_VERSION || n > (len - 16) / (STATCACHE_FIXED + 1))
    return;
  c->cache = husk_xcalloc (n ? n : 1, sizeof *c->cache);
  c->cap_cache = n ? n : 1;
  off = 16;
  for (uint32_t i = 0; i < n; i++)
    {
      struct stat_entry *e = &c->cache[c->n_cache];
      const char *p = buf + off;
      uint32_t plen;

      if (len - off < STATCACHE_FIXED)
        goto bad;
      memcpy (&e->ino, p, 8);
      memcpy (&e->size, p + 8, 8);
      memcpy (&e->mtime_ns, p + 16, 8);
      memcpy (&e->ctime_ns, p + 24, 8);
      memcpy (&e->mode, p + 32, 4);
      memcpy (&e->uid, p + 36, 4);
      memcpy (&e->gid, p + 40, 4);
      memcpy (&plen, p + 44, 4);
      memcpy (e->digest, p + 48, HUSK_DIGEST_LEN);
      e->digest[HUSK_DIGEST_LEN] = '\0';
      off += STATCACHE_FIXED;
      if (plen == 0 || plen >= PATH_MAX || len - off < plen || memchr (buf + off, '\0', plen)
          || !husk_digest_is_sha256 (e->digest))
        goto bad;
      e->path = husk_xmalloc (plen + 1);
      memcpy (e->path, buf + off, plen);
      e->path[plen] = '\0';
      off += plen;
      c->n_cache++;
      if (c->n_cache > 1 && strcmp (c->cache[c->n_cache - 2].path, e->path) >= 0)
        goto bad;
    }
  if (off == len)
    return;
bad:
  /* Not what husk_ctx_save writes: start afresh.  */
  for (size_t j = 0; j < c->n_cache; j++)
    free (c->cache[j].path);
  c->n_cache = 0;
}

/* The path of the open file FD, or NULL.  */
static char *
fd_path (int fd)
{
  char proc[64], buf[PATH_MAX];
  ssize_t n;

  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  n = readlink (proc, buf, sizeof buf - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  return husk_xstrdup (buf);
}

int
husk_ctx_open (const char *dir, const char *statcache, husk_ctx_filter_fn filter, void *filter_arg,
               struct husk_ctx **ret, struct husk_error **err)
{
  struct husk_ctx *c;
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return husk_error_set (err, errno, "build context \"%s\"", dir);
  c = husk_xcalloc (1, sizeof *c);
  c->dirfd = fd;
  c->real = fd_path (fd);
  c->filter = filter;
  c->filter_arg = filter_arg;
  if (statcache)
    {
      c->statcache = husk_xstrdup (statcache);
      cache_load (c);
    }
  *ret = c;
  return 0;
}

int
husk_ctx_open_fd (int dirfd, const char *where, struct husk_ctx **ret, struct husk_error **err)
{
  struct husk_ctx *c;
  int fd = fcntl (dirfd, F_DUPFD_CLOEXEC, 3);

  if (fd < 0)
    return husk_error_set (err, errno, "dup the source's root");
  c = husk_xcalloc (1, sizeof *c);
  c->dirfd = fd;
  c->real = fd_path (fd);
  c->where = where ? husk_xstrdup (where) : NULL;
  *ret = c;
  return 0;
}

int
husk_ctx_dirfd (const struct husk_ctx *c)
{
  return c->dirfd;
}

int
husk_ctx_save (struct husk_ctx *c, struct husk_error **err)
{
  cleanup_strbuf struct husk_strbuf b = { 0 };
  uint32_t version = STATCACHE_VERSION, n = (uint32_t) c->n_cache;
  int r;

  if (c->statcache == NULL || !c->cache_dirty)
    return 0;
  if (c->n_cache > UINT32_MAX)
    return husk_error_set (err, 0, "build context's stat cache: too many files");
  put_bytes (&b, STATCACHE_MAGIC, 8);
  put_bytes (&b, &version, 4);
  put_bytes (&b, &n, 4);
  for (size_t i = 0; i < c->n_cache; i++)
    {
      const struct stat_entry *e = &c->cache[i];
      uint32_t plen = (uint32_t) strlen (e->path);

      put_bytes (&b, &e->ino, 8);
      put_bytes (&b, &e->size, 8);
      put_bytes (&b, &e->mtime_ns, 8);
      put_bytes (&b, &e->ctime_ns, 8);
      put_bytes (&b, &e->mode, 4);
      put_bytes (&b, &e->uid, 4);
      put_bytes (&b, &e->gid, 4);
      put_bytes (&b, &plen, 4);
      put_bytes (&b, e->digest, HUSK_DIGEST_LEN);
      put_bytes (&b, e->path, plen);
    }
  r = husk_write_file_replace_at (AT_FDCWD, c->statcache, b.p, b.len, 0600, err);
  if (r < 0)
    return husk_error_wrap (err, "build context's stat cache");
  c->cache_dirty = false;
  return 0;
}

void
husk_ctx_close (struct husk_ctx *c)
{
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n_cache; i++)
    free (c->cache[i].path);
  free (c->cache);
  free (c->statcache);
  free (c->real);
  free (c->where);
  close (c->dirfd);
  free (c);
}

void
husk_ctx_selection_clear (struct husk_ctx_selection *sel)
{
  for (size_t i = 0; i < sel->n_sources; i++)
    {
      free (sel->sources[i]);
      free (sel->names[i]);
    }
  for (size_t i = 0; sel->keep && i < sel->n_sources; i++)
    free (sel->keep[i]);
  free (sel->sources);
  free (sel->names);
  free (sel->keep);
  free (sel->source_is_dir);
  for (size_t i = 0; i < sel->n_entries; i++)
    {
      free (sel->entries[i].path);
      free (sel->entries[i].link);
    }
  free (sel->entries);
  memset (sel, 0, sizeof *sel);
}

static bool
has_glob (const char *s)
{
  return strpbrk (s, "*?[") != NULL;
}

static enum husk_ctx_filter
filter (struct husk_ctx *c, const char *path, bool is_dir)
{
  if (c->filter == NULL || strcmp (path, ".") == 0)
    return HUSK_CTX_INCLUDE;
  return c->filter (c->filter_arg, path, is_dir);
}

/* --exclude's verdict on PATH, strictly below the current source (its own path in the
   context: the patterns see the part below the source).  */
static enum husk_ctx_filter
exclude_filter (struct select_state *st, const char *path, bool is_dir)
{
  const char *src = st->sel->sources[st->sel->n_sources - 1];
  const char *below = strcmp (src, ".") == 0 ? path : path + strlen (src) + 1;

  if (st->opts == NULL || st->opts->exclude == NULL
      || !husk_ignore_match (st->opts->exclude, below))
    return HUSK_CTX_INCLUDE;
  return is_dir && st->exclude_walk ? HUSK_CTX_EXCLUDE_WALK : HUSK_CTX_EXCLUDE;
}

/* What .dockerignore and --exclude say together: the stricter.  */
static enum husk_ctx_filter
filter_below (struct select_state *st, const char *path, bool is_dir)
{
  enum husk_ctx_filter f = filter (st->c, path, is_dir), x;

  if (f == HUSK_CTX_EXCLUDE)
    return f;
  x = exclude_filter (st, path, is_dir);
  if (x == HUSK_CTX_EXCLUDE)
    return x;
  return f == HUSK_CTX_INCLUDE ? x : f;
}

static char *
join (const char *dir, const char *name)
{
  if (strcmp (dir, ".") == 0)
    return husk_xstrdup (name);
  return husk_strdup_printf ("%s/%s", dir, name);
}

static int
hash_file (struct select_state *st, int dirfd, const char *name, const char *path,
           const struct stat *sb, char out[HUSK_DIGEST_LEN + 1], struct husk_error **err)
{
  struct stat_entry *e = cache_find (st->c, path);
  cleanup_sha256 struct husk_sha256 *h = NULL;
  cleanup_close int fd = -1;
  struct stat after;
  uint64_t total = 0;
  ssize_t n;

  if (e && cache_matches (e, sb))
    {
      memcpy (out, e->digest, HUSK_DIGEST_LEN + 1);
      return 0;
    }
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return husk_error_set (err, errno, "\"%s\"", path);
  if (fstat (fd, &after) < 0)
    return husk_error_set (err, errno, "\"%s\"", path);
  if (!S_ISREG (after.st_mode) || after.st_ino != sb->st_ino)
    return husk_error_set (err, 0, "\"%s\": changed while the build read it", path);
  h = husk_sha256_new ();
  while ((n = read (fd, st->buf, sizeof st->buf)) > 0)
    {
      husk_sha256_update (h, st->buf, n);
      total += n;
    }
  if (n < 0)
    return husk_error_set (err, errno, "read \"%s\"", path);
  husk_sha256_final (h, out);
  st->sel->files_read++;
  st->sel->bytes_read += total;
  /* Remember it only when the file did not change while it was read, and not when it changed
     in the last second: a write in the same clock tick as the one before would leave the same
     times behind (git's "racy" entries, avoided the same way).  */
  if (fstat (fd, &after) == 0 && (uint64_t) after.st_size == total && after.st_ino == sb->st_ino
      && ts_ns (&after.st_mtim) == ts_ns (&sb->st_mtim)
      && ts_ns (&after.st_ctim) == ts_ns (&sb->st_ctim)
      && ts_ns (&after.st_ctim) < st->started_ns - 1000000000)
    cache_put (st->c, path, &after, out);
  return 0;
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in the directory DIRFD (not "." and ".."), sorted byte-wise; NULL-terminated.  */
static char **
list_dir (int dirfd, const char *path, struct husk_error **err)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      husk_error_set (err, errno, "\"%s\"", path);
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n + 2 > cap)
        {
          cap = cap ? cap * 2 : 16;
          names = husk_xrealloc (names, cap * sizeof *names);
        }
      names[n++] = husk_xstrdup (de->d_name);
      errno = 0;
    }
  if (errno != 0)
    {
      husk_error_set (err, errno, "read directory \"%s\"", path);
      for (size_t i = 0; i < n; i++)
        free (names[i]);
      free (names);
      return NULL;
    }
  if (names == NULL)
    names = husk_xcalloc (1, sizeof *names);
  qsort (names, n, sizeof *names, name_cmp);
  names[n] = NULL;
  return names;
}

/* Add the entry PATH (NAME in DIRFD, as SB describes it) under the current source.  */
static int
add_entry (struct select_state *st, int dirfd, const char *name, const char *path,
           const struct stat *sb, struct husk_error **err)
{
  struct husk_ctx_selection *sel = st->sel;
  struct husk_ctx_entry *e;
  size_t root = sel->n_sources - 1;
  size_t srclen = strlen (sel->sources[root]);

  if (sel->n_entries == st->cap_entries)
    {
      st->cap_entries = st->cap_entries ? st->cap_entries * 2 : 64;
      sel->entries = husk_xrealloc (sel->entries, st->cap_entries * sizeof *sel->entries);
    }
  e = &sel->entries[sel->n_entries];
  memset (e, 0, sizeof *e);
  e->path = husk_xstrdup (path);
  e->root = root;
  if (strcmp (path, sel->sources[root]) == 0)
    e->rel = strlen (path);
  else if (strcmp (sel->sources[root], ".") == 0)
    e->rel = 0;
  else
    e->rel = srclen + 1;
  e->mode = sb->st_mode;
  e->uid = sb->st_uid;
  e->gid = sb->st_gid;
  e->ino = sb->st_ino;
  e->mtime = sb->st_mtim;
  e->ctime = sb->st_ctim;
  if (S_ISREG (sb->st_mode))
    {
      e->size = sb->st_size;
      if (hash_file (st, dirfd, name, path, sb, e->digest, err) < 0)
        {
          free (e->path);
          return -1;
        }
    }
  else if (S_ISLNK (sb->st_mode))
    {
      size_t cap = sb->st_size > 0 ? (size_t) sb->st_size + 1 : 256;
      for (;;)
        {
          char *target = husk_xmalloc (cap);
          ssize_t n = readlinkat (dirfd, name, target, cap);
          if (n < 0)
            {
              free (target);
              free (e->path);
              return husk_error_set (err, errno, "readlink \"%s\"", path);
            }
          if ((size_t) n < cap)
            {
              target[n] = '\0';
              e->link = target;
              break;
            }
          free (target);
          cap *= 2;
        }
    }
  sel->n_entries++;
  return 0;
}

/* Everything below the directory DIRFD (PATH), depth first, each directory's names in byte
   order, as the filter keeps it.  */
static int
walk (struct select_state *st, int dirfd, const char *path, struct husk_error **err)
{
  cleanup_strv char **names = list_dir (dirfd, path, err);

  if (names == NULL)
    return -1;
  for (char **n = names; *n; n++)
    {
      cleanup_free char *child = join (path, *n);
      struct stat sb;
      enum husk_ctx_filter f;

      if (fstatat (dirfd, *n, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue; /* Gone since the listing.  */
          return husk_error_set (err, errno, "\"%s\"", child);
        }
      f = filter_below (st, child, S_ISDIR (sb.st_mode));
      if (f == HUSK_CTX_EXCLUDE || (f == HUSK_CTX_EXCLUDE_WALK && !S_ISDIR (sb.st_mode)))
        continue;
      if (f == HUSK_CTX_INCLUDE && add_entry (st, dirfd, *n, child, &sb, err) < 0)
        return -1;
      if (S_ISDIR (sb.st_mode))
        {
          cleanup_close int fd
              = openat (dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (fd < 0)
            return husk_error_set (err, errno, "\"%s\"", child);
          if (walk (st, fd, child, err) < 0)
            return -1;
        }
    }
  return 0;
}

/* A matched path becomes a source: itself, then everything below it.  */
static int
add_source (struct select_state *st, int dirfd, const char *name, const char *path,
            const char *written, const struct stat *sb, struct husk_error **err)
{
  struct husk_ctx_selection *sel = st->sel;

  if (sel->n_sources == st->cap_sources)
    {
      st->cap_sources = st->cap_sources ? st->cap_sources * 2 : 8;
      sel->sources = husk_xrealloc (sel->sources, st->cap_sources * sizeof *sel->sources);
      sel->names = husk_xrealloc (sel->names, st->cap_sources * sizeof *sel->names);
      sel->source_is_dir
          = husk_xrealloc (sel->source_is_dir, st->cap_sources * sizeof *sel->source_is_dir);
      if (st->opts && st->opts->parents)
        sel->keep = husk_xrealloc (sel->keep, st->cap_sources * sizeof *sel->keep);
    }
  if (sel->keep)
    sel->keep[sel->n_sources] = NULL; /* Filled once the source is selected.  */
  sel->sources[sel->n_sources] = husk_xstrdup (path);
  sel->names[sel->n_sources] = husk_xstrdup (written);
  sel->source_is_dir[sel->n_sources] = S_ISDIR (sb->st_mode);
  sel->n_sources++;
  if (filter (st->c, path, S_ISDIR (sb->st_mode)) == HUSK_CTX_INCLUDE
      && add_entry (st, dirfd, name, path, sb, err) < 0)
    return -1;
  if (S_ISDIR (sb->st_mode))
    {
      cleanup_close int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return husk_error_set (err, errno, "\"%s\"", path);
      return walk (st, fd, path, err);
    }
  return 0;
}

/* PATH (relative, clean) resolved inside the context, every symbolic link on the way and last
   followed as if the context were "/": the real path, relative ("." for the context), or NULL
   (ENOENT and the like: nothing there).  */
static char *
resolve (struct husk_ctx *c, const char *path)
{
  cleanup_close int fd = -1;
  cleanup_free char *real = NULL;
  size_t n;

  if (c->real == NULL)
    return NULL;
  fd = husk_open_in_root (c->dirfd, path, O_PATH | O_CLOEXEC, 0, HUSK_RESOLVE_IN_ROOT);
  if (fd < 0)
    return NULL;
  real = fd_path (fd);
  n = strlen (c->real);
  if (real == NULL)
    return NULL;
  if (strcmp (real, c->real) == 0)
    return husk_xstrdup (".");
  if (strncmp (real, c->real, n) != 0 || real[n] != '/')
    return NULL; /* Cannot be: the resolution stays inside.  */
  return husk_xstrdup (real + n + 1);
}

/* The link PATH (as written: WRITTEN) as a source: what it resolves to inside the context,
   which the filter must keep.  0 with nothing added when it leads nowhere.  */
static int
add_link_source (struct select_state *st, const char *path, const char *written, size_t *matches,
                 struct husk_error **err)
{
  cleanup_free char *real = resolve (st->c, path);
  cleanup_free char *parent = NULL;
  cleanup_close int pfd = -1;
  const char *name;
  struct stat sb;
  enum husk_ctx_filter f;

  if (real == NULL)
    return 0;
  if (strcmp (real, ".") == 0)
    {
      if (fstat (st->c->dirfd, &sb) < 0)
        return husk_error_set (err, errno, "the build context");
      (*matches)++;
      return add_source (st, st->c->dirfd, ".", ".", written, &sb, err);
    }
  name = strrchr (real, '/');
  if (name)
    {
      parent = husk_xstrdup (real);
      parent[name - real] = '\0';
    }
  else
    parent = husk_xstrdup (".");
  name = name ? name + 1 : real;
  pfd = husk_open_in_root (st->c->dirfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                           HUSK_RESOLVE_NO_SYMLINKS);
  if (pfd < 0 || fstatat (pfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  /* What .dockerignore keeps out stays out, however it is reached.  */
  for (char *p = real; (p = strchr (p, '/')) != NULL; p++)
    {
      *p = '\0';
      f = filter (st->c, real, true);
      *p = '/';
      if (f == HUSK_CTX_EXCLUDE)
        return 0;
    }
  f = filter (st->c, real, S_ISDIR (sb.st_mode));
  if (f == HUSK_CTX_EXCLUDE || (f == HUSK_CTX_EXCLUDE_WALK && !S_ISDIR (sb.st_mode)))
    return 0;
  (*matches)++;
  return add_source (st, pfd, name, real, written, &sb, err);
}

/* Match the components COMP[I..N) below the directory DIRFD (PATH); each match becomes a
   source.  *MATCHES counts them.  */
static int
match (struct select_state *st, int dirfd, const char *path, char **comp, size_t i, size_t n,
       size_t *matches, struct husk_error **err)
{
  cleanup_strv char **names = NULL;
  char *one[2] = { comp[i], NULL };

  if (has_glob (comp[i]))
    {
      names = list_dir (dirfd, path, err);
      if (names == NULL)
        return -1;
    }
  for (char **nm = names ? names : one; *nm; nm++)
    {
      cleanup_free char *child = join (path, *nm);
      struct stat sb;
      enum husk_ctx_filter f;

      if (names && fnmatch (comp[i], *nm, 0) != 0)
        continue;
      if (fstatat (dirfd, *nm, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            continue;
          return husk_error_set (err, errno, "\"%s\"", child);
        }
      f = filter (st->c, child, S_ISDIR (sb.st_mode));
      if (i + 1 == n)
        {
          /* A directory excluded with exceptions below it is still a source: what the
             exceptions bring back.  */
          if (f == HUSK_CTX_EXCLUDE || (f == HUSK_CTX_EXCLUDE_WALK && !S_ISDIR (sb.st_mode)))
            continue;
          /* --exclude and a glob's match: the reference's "COPY --exclude=*.txt hom*".  */
          if (!S_ISDIR (sb.st_mode) && st->glob_base != SIZE_MAX && st->opts && st->opts->exclude
              && husk_ignore_match (st->opts->exclude, child + st->glob_base))
            {
              st->excluded++;
              continue;
            }
          if (S_ISLNK (sb.st_mode))
            {
              if (add_link_source (st, child, child, matches, err) < 0)
                return -1;
              continue;
            }
          if (add_source (st, dirfd, *nm, child, child, &sb, err) < 0)
            return -1;
          (*matches)++;
          continue;
        }
      if (!S_ISDIR (sb.st_mode) || f == HUSK_CTX_EXCLUDE)
        continue;
      cleanup_close int fd = openat (dirfd, *nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return husk_error_set (err, errno, "\"%s\"", child);
      if (match (st, fd, child, comp, i + 1, n, matches, err) < 0)
        return -1;
    }
  return 0;
}

static int
not_found (const struct husk_ctx *c, const char *source, struct husk_error **err)
{
  if (c->where)
    return husk_error_set (err, 0, "source \"%s\": not found in %s", source, c->where);
  return husk_error_set (err, 0,
                         "source \"%s\": not found in the build context or excluded by "
                         ".dockerignore",
                         source);
}

/* --parents: SOURCE's pivot (what comes before its first "/./", cleaned; "." without one)
   into ST->pivot, and the path to select, the part after the pivot taken as if the pivot were
   "/" (BuildKit's: ".." there stops at the pivot).  NULL when the pivot leaves the context.  */
static char *
split_pivot (struct select_state *st, const char *source)
{
  const char *at = strstr (source, "/./");
  cleanup_free char *before = NULL, *after = NULL;

  if (at == NULL)
    {
      st->pivot = husk_xstrdup (".");
      return husk_path_clean (source, false);
    }
  before = husk_xmalloc ((size_t) (at - source) + 1);
  memcpy (before, source, (size_t) (at - source));
  before[at - source] = '\0';
  st->pivot = husk_path_clean (before, false);
  if (st->pivot == NULL)
    return NULL;
  after = husk_path_clean (at + 3, true);
  if (strcmp (after, "/") == 0)
    return husk_xstrdup (st->pivot);
  if (strcmp (st->pivot, ".") == 0)
    return husk_xstrdup (after + 1);
  return husk_strdup_printf ("%s%s", st->pivot, after);
}

static int
select_one (struct select_state *st, const char *source, struct husk_error **err)
{
  cleanup_free char *clean
      = st->opts && st->opts->parents ? split_pivot (st, source) : husk_path_clean (source, false);
  cleanup_strv char **comp = NULL;
  size_t n = 0, matches = 0;
  char *save = NULL;

  st->glob_base = SIZE_MAX;
  st->excluded = 0;
  if (clean == NULL)
    return husk_error_set (err, 0, "source \"%s\": outside the build context", source);
  if (strcmp (clean, ".") == 0)
    {
      struct stat sb;
      if (fstat (st->c->dirfd, &sb) < 0)
        return husk_error_set (err, errno, "the build context");
      return add_source (st, st->c->dirfd, ".", ".", ".", &sb, err);
    }
  if (!has_glob (clean))
    {
      /* One path, whose links (on the way or last) are followed inside the context.  */
      cleanup_free char *real = resolve (st->c, clean);
      if (real && strcmp (real, clean) != 0)
        {
          if (add_link_source (st, clean, clean, &matches, err) < 0)
            return husk_error_wrap (err, "source \"%s\"", source);
          if (matches == 0)
            return not_found (st->c, source, err);
          return 0;
        }
    }
  comp = husk_xcalloc (strlen (clean) + 2, sizeof *comp);
  cleanup_free char *copy = husk_xstrdup (clean);
  for (char *t = strtok_r (copy, "/", &save); t; t = strtok_r (NULL, "/", &save))
    {
      if (st->glob_base == SIZE_MAX && has_glob (t))
        st->glob_base = (size_t) (t - copy);
      comp[n++] = husk_xstrdup (t);
    }
  if (match (st, st->c->dirfd, ".", comp, 0, n, &matches, err) < 0)
    return husk_error_wrap (err, "source \"%s\"", source);
  if (matches == 0 && st->excluded > 0)
    return 0; /* It matched: --exclude left everything out.  */
  if (matches == 0 && has_glob (clean))
    return husk_error_set (err, 0, "source \"%s\": no file in the build context matches it",
                           source);
  if (matches == 0)
    return not_found (st->c, source, err);
  return 0;
}

/* A field of the hashed record: its length, then its bytes, so that no two different
   selections feed the hash the same bytes.  */
static void
hash_field (struct husk_strbuf *h, const char *s, size_t len)
{
  char n[32];
  int k = snprintf (n, sizeof n, "%zu:", len);

  husk_strbuf_add (h, n, k);
  husk_strbuf_add (h, s, len);
}

static void
hash_str (struct husk_strbuf *h, const char *s)
{
  hash_field (h, s, strlen (s));
}

/* The record is gathered, then hashed with lib/sha256.c: for the few hundred kilobytes of
   even a large context that costs less than loading libcrypto, which a no-change build then
   never does (overlay/lazylibs.c).  */
static void
selection_hash (struct husk_ctx_selection *sel)
{
  cleanup_strbuf struct husk_strbuf hb = { 0 };
  struct husk_strbuf *h = &hb;
  char num[64];
  size_t e = 0;

  hash_str (h, "husk build sources v1");
  for (size_t i = 0; i < sel->n_sources; i++)
    {
      hash_str (h, "source");
      hash_str (h, sel->sources[i]);
      hash_str (h, sel->names[i]);
      if (sel->keep)
        {
          hash_str (h, "keep");
          hash_str (h, sel->keep[i]);
        }
      for (; e < sel->n_entries && sel->entries[e].root == i; e++)
        {
          const struct husk_ctx_entry *x = &sel->entries[e];
          hash_str (h, x->path + x->rel);
          snprintf (num, sizeof num, "%o %u %u", (unsigned) x->mode, (unsigned) x->uid,
                    (unsigned) x->gid);
          hash_str (h, num);
          hash_str (h, x->link ? x->link : x->digest);
        }
    }
  husk_sha256_buf (hb.p, hb.len, sel->hash);
}

/* --parents: what of NAME (a path the source named, at or below PIVOT) is kept.  */
static char *
below_pivot (const char *pivot, const char *name)
{
  size_t n = strlen (pivot);

  if (strcmp (pivot, ".") == 0)
    return husk_xstrdup (strcmp (name, ".") == 0 ? "" : name);
  if (strncmp (name, pivot, n) == 0 && (name[n] == '/' || name[n] == '\0'))
    return husk_xstrdup (name[n] ? name + n + 1 : "");
  return husk_xstrdup (name); /* Cannot be: the source's path starts with its pivot.  */
}

int
husk_ctx_select_opts (struct husk_ctx *c, char *const *sources, size_t n,
                      const struct husk_ctx_select_opts *opts, struct husk_ctx_selection *ret,
                      struct husk_error **err)
{
  cleanup_free struct select_state *st = husk_xcalloc (1, sizeof *st);
  struct husk_ctx_selection sel = { 0 };
  struct timespec now;
  bool exception;

  clock_gettime (CLOCK_REALTIME, &now);
  st->c = c;
  st->sel = &sel;
  st->started_ns = ts_ns (&now);
  st->opts = opts;
  /* BuildKit's copy walks an excluded directory whenever an exception exists.  */
  for (size_t i = 0; opts && opts->exclude && husk_ignore_pattern (opts->exclude, i, &exception);
       i++)
    st->exclude_walk |= exception;
  if (opts && opts->parents)
    sel.keep = husk_xcalloc (1, sizeof *sel.keep);
  for (size_t i = 0; i < n; i++)
    {
      size_t first = sel.n_sources;
      int r = select_one (st, sources[i], err);

      for (size_t j = first; r == 0 && sel.keep && j < sel.n_sources; j++)
        sel.keep[j] = below_pivot (st->pivot, sel.names[j]);
      free (st->pivot);
      st->pivot = NULL;
      if (r < 0)
        {
          husk_ctx_selection_clear (&sel);
          return -1;
        }
    }
  selection_hash (&sel);
  *ret = sel;
  return 0;
}

int
husk_ctx_select (struct husk_ctx *c, char *const *sources, size_t n, struct husk_ctx_selection *ret,
                 struct husk_error **err)
{
  return husk_ctx_select_opts (c, sources, n, NULL, ret, err);
}
