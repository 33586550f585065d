#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "passwd.h"
#include "store.h"
#include "store-struct.h"
#include "util.h"
#include "banned.h"

char *
husk_store_default_root (void)
{
  const char *xdg = getenv ("XDG_DATA_HOME");
  const char *home = getenv ("HOME");
  cleanup_free char *pwhome = NULL;

  if (geteuid () == 0)
    return husk_xstrdup ("/var/lib/husk");
  if (xdg && *xdg == '/')
    return husk_strdup_printf ("%s/husk", xdg);
  if (home == NULL || *home != '/')
    {
      husk_host_passwd (NULL, geteuid (), NULL, &pwhome);
      home = pwhome;
    }
  if (home == NULL)
    return NULL;
  return husk_strdup_printf ("%s/.local/share/husk", home);
}

int
husk_store_open (const char *root, struct husk_store **ret, struct husk_error **err)
{
  static const char *const dirs[] = { "blobs", "blobs/sha256", "layers", "tmp" };
  struct husk_store *s;
  int fd;

  if (husk_mkdir_p (root, 0700, err) < 0)
    return husk_error_wrap (err, "store \"%s\"", root);
  fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_set (err, errno, "store \"%s\"", root);
  for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
    if (mkdirat (fd, dirs[i], 0700) < 0 && errno != EEXIST)
      {
        int e = errno;
        close (fd);
        return husk_error_set (err, e, "store \"%s\": mkdir \"%s\"", root, dirs[i]);
      }
  s = husk_xcalloc (1, sizeof (*s));
  s->root = husk_xstrdup (root);
  s->rootfd = fd;
  s->lockfd = -1;
  s->gclockfd = -1;
  *ret = s;
  return 0;
}

const char *
husk_store_root (const struct husk_store *s)
{
  return s->root;
}

int
husk_store_rootfd (const struct husk_store *s)
{
  return s->rootfd;
}

int
husk_store_open_subdir (struct husk_store *s, const char *name, bool create,
                        struct husk_error **err)
{
  int fd;

  if (create && mkdirat (s->rootfd, name, 0700) < 0 && errno != EEXIST)
    {
      husk_error_set (err, errno, "store \"%s\": create \"%s\"", s->root, name);
      return -1;
    }
  fd = openat (s->rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      husk_error_set (err, errno, "store \"%s\": open \"%s\"", s->root, name);
      return -1;
    }
  return fd;
}

void
husk_store_close (struct husk_store *s)
{
  if (s == NULL)
    return;
  if (s->lockfd >= 0)
    close (s->lockfd);
  if (s->gclockfd >= 0)
    close (s->gclockfd);
  close (s->rootfd);
  free (s->root);
  free (s);
}

/* Everything under tmp/ is made while the lock is held, so whatever is there when it is taken
   was left by a command that died (kill -9, a crash): nothing in it is trusted or kept.  */
static void
sweep_tmp (struct husk_store *s)
{
  cleanup_close int fd = openat (s->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    return;
  fd = -1; /* Owned by d now.  */
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      husk_rm_rf_at (dirfd (d), de->d_name, NULL);
}

int
husk_store_lock (struct husk_store *s, struct husk_error **err)
{
  if (s->lock_depth++ > 0)
    return 0;
  if (s->lockfd < 0)
    {
      s->lockfd = openat (s->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (s->lockfd < 0)
        {
          s->lock_depth--;
          return husk_error_set (err, errno, "store \"%s\": open lock", s->root);
        }
    }
  while (flock (s->lockfd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        s->lock_depth--;
        return husk_error_set (err, errno, "store \"%s\": lock", s->root);
      }
  sweep_tmp (s);
  return 0;
}

int
husk_store_gc_lock (struct husk_store *s, bool exclusive, struct husk_error **err)
{
  if (s->gclockfd < 0)
    {
      /* The lock is on the root directory itself, through a descriptor of its own (a flock
         belongs to its open file description): no file to create.  */
      s->gclockfd = openat (s->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (s->gclockfd < 0)
        return husk_error_set (err, errno, "store \"%s\": open for the images-in-use lock",
                               s->root);
    }
  while (flock (s->gclockfd, exclusive ? LOCK_EX : LOCK_SH) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "store \"%s\": images-in-use lock", s->root);
  return 0;
}

void
husk_store_gc_unlock (struct husk_store *s)
{
  if (s->gclockfd >= 0)
    flock (s->gclockfd, LOCK_UN);
}

void
husk_store_unlock (struct husk_store *s)
{
  if (s->lock_depth > 0 && --s->lock_depth == 0)
    flock (s->lockfd, LOCK_UN);
}

static char *
blob_relpath (const char *digest)
{
  return husk_strdup_printf ("blobs/sha256/%s", husk_digest_hex (digest));
}

bool
husk_store_has_blob (struct husk_store *s, const char *digest)
{
  cleanup_free char *p = NULL;
  if (!husk_digest_is_sha256 (digest))
    return false;
  p = blob_relpath (digest);
  return faccessat (s->rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
husk_store_open_blob (struct husk_store *s, const char *digest, uint64_t *ret_size,
                      struct husk_error **err)
{
  cleanup_free char *p = NULL;
  struct stat st;
  int fd;

  if (husk_digest_check (digest, err) < 0)
    return -1;
  p = blob_relpath (digest);
  fd = openat (s->rootfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return husk_error_set (err, errno, "blob %s: not in the store", digest);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return husk_error_set (err, EINVAL, "blob %s: not a regular file", digest);
    }
  *ret_size = (uint64_t) st.st_size;
  return fd;
}

int
husk_store_put_blob (struct husk_store *s, const char *digest, const void *buf, size_t len,
                     struct husk_error **err)
{
  cleanup_free char *p = NULL;
  char got[HUSK_DIGEST_LEN + 1];

  if (husk_digest_check (digest, err) < 0)
    return -1;
  husk_sha256_buf (buf, len, got);
  if (strcmp (got, digest) != 0)
    return husk_error_set (err, 0, "blob %s: digest mismatch (content is %s)", digest, got);
  p = blob_relpath (digest);
  if (husk_write_file_atomic_at (s->rootfd, p, buf, len, 0644, err) < 0)
    return husk_error_wrap (err, "store blob %s", digest);
  return 0;
}

int
husk_store_read_blob (struct husk_store *s, const char *digest, size_t max, char **ret_buf,
                      size_t *ret_len, struct husk_error **err)
{
  cleanup_free char *p = NULL;
  cleanup_free char *buf = NULL;
  char got[HUSK_DIGEST_LEN + 1];
  size_t len;

  if (husk_digest_check (digest, err) < 0)
    return -1;
  p = blob_relpath (digest);
  if (husk_read_file_at (s->rootfd, p, max, &buf, &len, err) < 0)
    return husk_error_wrap (err, "blob %s", digest);
  husk_sha256_buf (buf, len, got);
  if (strcmp (got, digest) != 0)
    return husk_error_set (err, 0, "blob %s: digest mismatch in the store (content is %s)", digest,
                           got);
  *ret_buf = TAKE_PTR (buf);
  if (ret_len)
    *ret_len = len;
  return 0;
}

int
husk_store_mkdtemp (struct husk_store *s, const char *prefix, char **ret_relpath,
                    struct husk_error **err)
{
  for (int tries = 0; tries < 16; tries++)
    {
      char rnd[17];
      cleanup_free char *p = NULL;

      if (husk_random_hex (rnd, 16, err) < 0)
        return -1;
      p = husk_strdup_printf ("tmp/%s-%s", prefix, rnd);
      if (mkdirat (s->rootfd, p, 0700) == 0)
        {
          *ret_relpath = TAKE_PTR (p);
          return 0;
        }
      if (errno != EEXIST)
        return husk_error_set (err, errno, "store \"%s\": mkdir \"%s\"", s->root, p);
    }
  return husk_error_set (err, EEXIST, "store \"%s\": temporary directory", s->root);
}

char *
husk_store_layer_relpath (const char *chain_id)
{
  return husk_strdup_printf ("layers/%s/diff", husk_digest_hex (chain_id));
}

char *
husk_store_layer_dir (struct husk_store *s, const char *chain_id, struct husk_error **err)
{
  if (husk_digest_check (chain_id, err) < 0)
    return NULL;
  return husk_strdup_printf ("%s/layers/%s/diff", s->root, husk_digest_hex (chain_id));
}

char **
husk_store_list_layers (struct husk_store *s)
{
  cleanup_close int fd = openat (s->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_dir DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  char **out = husk_xcalloc (1, sizeof (char *));
  struct dirent *de;

  if (d)
    fd = -1; /* Owned by d now.  */
  while (d && (de = readdir (d)) != NULL)
    {
      cleanup_free char *chain = NULL;
      if (de->d_name[0] == '.')
        continue;
      chain = husk_strdup_printf ("sha256:%s", de->d_name);
      husk_strv_append (&out, chain);
    }
  return out;
}

bool
husk_store_has_layer (struct husk_store *s, const char *chain_id)
{
  cleanup_free char *p = NULL;
  struct stat st;

  if (!husk_digest_is_sha256 (chain_id))
    return false;
  p = husk_store_layer_relpath (chain_id);
  return fstatat (s->rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

void
husk_chain_id (const char *parent, const char *diff_id, char out[HUSK_DIGEST_LEN + 1])
{
  cleanup_free char *text = NULL;

  if (parent == NULL)
    {
      memcpy (out, diff_id, HUSK_DIGEST_LEN + 1);
      return;
    }
  text = husk_strdup_printf ("%s %s", parent, diff_id);
  husk_sha256_buf (text, strlen (text), out);
}
