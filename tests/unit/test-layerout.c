/* Unit tests for overlay/layerout.c: an upper directory out as a layer, checked against what
   unpacking its blob gives, the tar's own entries, the digests and the clamp.  Runs as root of
   a user namespace when started by a user (as husk's own unpack does), with user.* xattrs.  */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "layerout.h"
#include "store.h"
#include "tap.h"
#include "userns-root.h"
#include "unpack.h"
#include "util.h"
#include "whiteout.h"

static bool real_root;
static bool rootless;
static bool user_xattrs;
static char sandbox[] = "/tmp/husk-layerout-XXXXXX";

static char *
sb (const char *rel)
{
  return husk_strdup_printf ("%s/%s", sandbox, rel);
}

static void
put_file (const char *rel, const void *data, size_t len, mode_t mode, time_t mtime)
{
  cleanup_free char *p = sb (rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  struct timespec ts[2] = { { mtime, 123 }, { mtime, 456789 } };

  if (fd < 0 || husk_write_all (fd, data, len) < 0)
    printf ("# write %s: %s\n", p, strerror (errno));
  fchmod (fd, mode);
  futimens (fd, ts);
  close (fd);
}

static void
put_dir (const char *rel, mode_t mode)
{
  cleanup_free char *p = sb (rel);
  if (mkdir (p, mode) < 0)
    printf ("# mkdir %s: %s\n", p, strerror (errno));
  chmod (p, mode);
}

static void
set_xattr (const char *rel, const char *name, const char *value)
{
  cleanup_free char *p = sb (rel);
  if (lsetxattr (p, name, value, strlen (value), 0) < 0)
    printf ("# setxattr %s %s: %s\n", p, name, strerror (errno));
}

static void
set_times (const char *rel, time_t t)
{
  cleanup_free char *p = sb (rel);
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };
  utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

/* The upper directory of a container that changed things: REL (below the sandbox).  */
static void
make_upper (const char *up)
{
  cleanup_free char *a = husk_strdup_printf ("%s/a", up);
  cleanup_free char *afile = husk_strdup_printf ("%s/a/file", up);
  cleanup_free char *ahard = husk_strdup_printf ("%s/a/hard", up);
  cleanup_free char *gone = husk_strdup_printf ("%s/gone", up);
  cleanup_free char *lnk = husk_strdup_printf ("%s/link", up);
  cleanup_free char *fifo = husk_strdup_printf ("%s/fifo", up);
  cleanup_free char *opq = husk_strdup_printf ("%s/opq", up);
  cleanup_free char *opqx = husk_strdup_printf ("%s/opq/x", up);
  cleanup_free char *suid = husk_strdup_printf ("%s/suid", up);
  cleanup_free char *big = husk_strdup_printf ("%s/big", up);
  cleanup_free char *empty = husk_strdup_printf ("%s/emptydir", up);
  cleanup_free char *sortb = husk_strdup_printf ("%s/B", up);
  cleanup_free char *sortab = husk_strdup_printf ("%s/a-b", up);
  cleanup_free char *longname = NULL;
  cleanup_free char *p = NULL;
  char lname[200];
  unsigned char *bigdata = husk_xmalloc (3 * 1024 * 1024 + 17);

  for (size_t i = 0; i < 3 * 1024 * 1024 + 17; i++)
    bigdata[i] = (unsigned char) ((i * 2654435761u) >> 13);
  put_dir (up, 0755);
  put_dir (a, 0750);
  put_file (afile, "hello\n", 6, 0640, 2000000000);
  p = sb (afile);
  {
    cleanup_free char *h = sb (ahard);
    if (link (p, h) < 0)
      printf ("# link: %s\n", strerror (errno));
  }
  {
    cleanup_free char *g = sb (gone);
    if (mknod (g, S_IFCHR | 0000, makedev (0, 0)) < 0)
      printf ("# mknod whiteout: %s\n", strerror (errno));
  }
  {
    cleanup_free char *l = sb (lnk);
    if (symlink ("a/file", l) < 0)
      printf ("# symlink: %s\n", strerror (errno));
    set_times (lnk, 1000000000);
  }
  {
    cleanup_free char *f = sb (fifo);
    if (mkfifo (f, 0620) < 0 || chmod (f, 0620) < 0)
      printf ("# mkfifo: %s\n", strerror (errno));
    set_times (fifo, 1100000000);
  }
  put_dir (opq, 0711);
  put_file (opqx, "x", 1, 0644, 1200000000);
  if (real_root)
    set_xattr (opq, "trusted.overlay.opaque", "y");
  else if (user_xattrs)
    set_xattr (opq, "user.overlay.opaque", "y");
  set_times (opq, 1300000000);
  put_file (suid, "#!/bin/sh\n", 10, 04755, 1400000000);
  if (user_xattrs)
    {
      set_xattr (suid, "user.test", "kept");
      /* overlayfs's own: never in a layer.  */
      set_xattr (suid, "user.overlay.origin", "x");
    }
  put_file (big, bigdata, 3 * 1024 * 1024 + 17, 0600, 1500000000);
  put_dir (empty, 0700);
  set_times (empty, 1000);
  put_file (sortb, "B", 1, 0644, 1000);
  put_file (sortab, "", 0, 0644, 1000);
  memset (lname, 'n', sizeof (lname) - 1);
  lname[sizeof (lname) - 1] = '\0';
  longname = husk_strdup_printf ("%s/a/%s", up, lname);
  put_file (longname, "long", 4, 0644, 1000);
  set_times (a, 1600000000);
  if (real_root)
    {
      /* Owners other than root, and a device node: in the tar, never in the store.  */
      cleanup_free char *o = sb (sortb);
      cleanup_free char *dev = husk_strdup_printf ("%s/%s/null", sandbox, up);
      if (chown (o, 1234, 5678) < 0)
        printf ("# chown: %s\n", strerror (errno));
      if (mknod (dev, S_IFCHR | 0666, makedev (1, 3)) < 0)
        printf ("# mknod: %s\n", strerror (errno));
    }
  set_times (up, 1000);
  free (bigdata);
}

/* ------------------------------------------------------------------ comparing trees */

static void
describe (int dirfd, const char *rel, const char *name, char *out, size_t outlen)
{
  struct stat st;
  char xl[1024] = "";
  cleanup_free char *path = husk_strdup_printf ("/proc/self/fd/%d/%s", dirfd, name);
  ssize_t n;
  size_t o = 0;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      snprintf (out, outlen, "%s: missing", rel);
      return;
    }
  n = llistxattr (path, xl, sizeof (xl));
  o += (size_t) snprintf (out + o, outlen - o, "%s: mode %o uid %u gid %u", rel,
                          (unsigned) st.st_mode, (unsigned) st.st_uid, (unsigned) st.st_gid);
  /* A whiteout's time is when it was made, in the copy as in an unpacked layer.  */
  if (!(S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0)))
    o += (size_t) snprintf (out + o, outlen - o, " mtime %lld", (long long) st.st_mtim.tv_sec);
  if (S_ISREG (st.st_mode))
    o += (size_t) snprintf (out + o, outlen - o, " size %lld nlink %u", (long long) st.st_size,
                            (unsigned) st.st_nlink);
  if (S_ISCHR (st.st_mode))
    o += (size_t) snprintf (out + o, outlen - o, " rdev %u:%u", major (st.st_rdev),
                            minor (st.st_rdev));
  if (S_ISLNK (st.st_mode))
    {
      char t[256];
      ssize_t tn = readlinkat (dirfd, name, t, sizeof (t) - 1);
      t[tn > 0 ? tn : 0] = '\0';
      o += (size_t) snprintf (out + o, outlen - o, " -> %s", t);
    }
  for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t) strlen (xl + i) + 1)
    {
      char v[64];
      ssize_t vn = lgetxattr (path, xl + i, v, sizeof (v) - 1);
      v[vn > 0 ? vn : 0] = '\0';
      o += (size_t) snprintf (out + o, outlen - o, " %s=%s", xl + i, v);
    }
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Append to OUT one line per entry under DIRFD, sorted, with contents hashed.  */
static void
listing (int dirfd, const char *rel, char **out)
{
  DIR *d = fdopendir (dup (dirfd));
  struct dirent *de;
  char **names = NULL;
  size_t n = 0;

  while (d && (de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      {
        names = husk_xrealloc (names, (n + 1) * sizeof (char *));
        names[n++] = husk_xstrdup (de->d_name);
      }
  if (d)
    closedir (d);
  if (n)
    qsort (names, n, sizeof (char *), cmp_str);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *sub = husk_strdup_printf ("%s/%s", rel, names[i]);
      char line[2048];
      struct stat st;
      char *t;

      describe (dirfd, sub, names[i], line, sizeof (line));
      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
        {
          cleanup_close int fd = openat (dirfd, names[i], O_RDONLY | O_CLOEXEC);
          cleanup_free char *buf = husk_xmalloc ((size_t) st.st_size + 1);
          char dg[HUSK_DIGEST_LEN + 1];
          husk_read_all (fd, buf, (size_t) st.st_size);
          husk_sha256_buf (buf, (size_t) st.st_size, dg);
          snprintf (line + strlen (line), sizeof (line) - strlen (line), " %.19s", dg);
        }
      t = husk_strdup_printf ("%s%s\n", *out, line);
      free (*out);
      *out = t;
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int sfd = openat (dirfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          listing (sfd, sub, out);
        }
      free (names[i]);
    }
  free (names);
}

static char *
tree_listing (int rootfd, const char *rel)
{
  char *out = husk_xstrdup ("");
  cleanup_close int fd = openat (rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    listing (fd, "", &out);
  return out;
}

/* ------------------------------------------------------------------ reading the blob */

/* The gunzipped blob's sha256 and its entries, "NAME type perm uid:gid mtime [-> link]" a
   line, through libarchive (a reader other than husk's own).  */
static int
read_blob (const char *path, char dg[HUSK_DIGEST_LEN + 1], char **ret_list)
{
  struct archive *raw = archive_read_new ();
  struct archive *tar = archive_read_new ();
  struct archive_entry *e;
  struct husk_sha256 *h = husk_sha256_new ();
  char *list = husk_xstrdup ("");
  char buf[65536];
  la_ssize_t n;
  int r = -1;

  archive_read_support_filter_gzip (raw);
  archive_read_support_format_raw (raw);
  if (archive_read_open_filename (raw, path, 65536) != ARCHIVE_OK
      || archive_read_next_header (raw, &e) != ARCHIVE_OK)
    goto out;
  while ((n = archive_read_data (raw, buf, sizeof (buf))) > 0)
    husk_sha256_update (h, buf, (size_t) n);
  if (n < 0)
    goto out;
  husk_sha256_final (h, dg);

  archive_read_support_filter_gzip (tar);
  archive_read_support_format_tar (tar);
  if (archive_read_open_filename (tar, path, 65536) != ARCHIVE_OK)
    goto out;
  while (archive_read_next_header (tar, &e) == ARCHIVE_OK)
    {
      const char *xn;
      const void *xv;
      size_t xs;
      char *t = husk_strdup_printf (
          "%s%s %c %o %jd:%jd %jd%s%s%s%s", list, archive_entry_pathname (e),
          archive_entry_hardlink (e)               ? 'h'
          : archive_entry_filetype (e) == AE_IFDIR ? 'd'
          : archive_entry_filetype (e) == AE_IFLNK ? 'l'
          : archive_entry_filetype (e) == AE_IFIFO ? 'p'
          : archive_entry_filetype (e) == AE_IFCHR ? 'c'
                                                   : 'f',
          (unsigned) archive_entry_perm (e), (intmax_t) archive_entry_uid (e),
          (intmax_t) archive_entry_gid (e), (intmax_t) archive_entry_mtime (e),
          archive_entry_symlink (e) ? " -> " : "",
          archive_entry_symlink (e) ? archive_entry_symlink (e) : "",
          archive_entry_hardlink (e) ? " => " : "",
          archive_entry_hardlink (e) ? archive_entry_hardlink (e) : "");
      free (list);
      list = t;
      archive_entry_xattr_reset (e);
      while (archive_entry_xattr_next (e, &xn, &xv, &xs) == ARCHIVE_OK)
        {
          t = husk_strdup_printf ("%s %s=%.*s", list, xn, (int) xs, (const char *) xv);
          free (list);
          list = t;
        }
      t = husk_strdup_printf ("%s\n", list);
      free (list);
      list = t;
    }
  r = 0;
out:
  husk_sha256_free (h);
  archive_read_free (raw);
  archive_read_free (tar);
  *ret_list = list;
  return r;
}

static char *
file_sha (int rootfd, const char *rel, int64_t *ret_size)
{
  cleanup_close int fd = openat (rootfd, rel, O_RDONLY | O_CLOEXEC);
  struct husk_sha256 *h = husk_sha256_new ();
  char buf[65536], dg[HUSK_DIGEST_LEN + 1];
  ssize_t n;
  int64_t size = 0;

  while (fd >= 0 && (n = read (fd, buf, sizeof (buf))) > 0)
    {
      husk_sha256_update (h, buf, (size_t) n);
      size += n;
    }
  husk_sha256_final (h, dg);
  husk_sha256_free (h);
  *ret_size = size;
  return husk_xstrdup (dg);
}

/* Line of LIST that starts with NAME followed by a space, or NULL.  */
static const char *
find_line (const char *list, const char *name)
{
  size_t n = strlen (name);
  for (const char *l = list; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    if (strncmp (l, name, n) == 0 && l[n] == ' ')
      return l;
  return NULL;
}

static size_t
line_index (const char *list, const char *name)
{
  const char *l = find_line (list, name);
  size_t i = 0;
  if (l == NULL)
    return (size_t) -1;
  for (const char *p = list; p < l; p++)
    i += *p == '\n';
  return i;
}

/* ------------------------------------------------------------------ the tests */

static void
test_write (struct husk_store *s, int sbfd, enum husk_layer_write_mode mode)
{
  const char *mname = mode == HUSK_LAYER_WRITE_COPY ? "copy" : "move";
  cleanup_free char *up = husk_strdup_printf ("up-%s", mname);
  cleanup_free char *before = NULL;
  cleanup_free char *staged = NULL;
  cleanup_free char *blobpath = NULL;
  cleanup_free char *list = NULL;
  cleanup_free char *staged_tree = NULL;
  cleanup_free char *unpacked_tree = NULL;
  cleanup_free char *upper_after = NULL;
  cleanup_free char *blobsha = NULL;
  cleanup_error struct husk_error *err = NULL;
  struct husk_layer_write_opts o = {
    .mode = mode,
    .rootless = rootless,
    .clamp_mtime = 1500000000,
    .gzip_level = 1,
  };
  struct husk_layer_written res;
  char dg[HUSK_DIGEST_LEN + 1];
  int64_t blobsize;
  int rootfd = husk_store_rootfd (s);

  make_upper (up);
  before = tree_listing (sbfd, up);
  ok (husk_layer_write (s, sbfd, up, &o, &res, &staged, &err) == 0, "%s: written%s%s", mname,
      err ? ": " : "", err ? err->msg : "");
  if (staged == NULL)
    return;
  blobpath = husk_strdup_printf ("%s/%s/blob", husk_store_root (s), staged);
  blobsha = file_sha (rootfd, blobpath + strlen (husk_store_root (s)) + 1, &blobsize);
  is_str (blobsha, res.digest, "%s: the digest is the blob's sha256", mname);
  ok (blobsize == res.size, "%s: the size is the blob's (%jd, %jd)", mname, (intmax_t) blobsize,
      (intmax_t) res.size);
  ok (read_blob (blobpath, dg, &list) == 0, "%s: the blob reads as a gzip tar", mname);
  is_str (dg, res.diff_id, "%s: the diff ID is the sha256 of the gunzipped blob", mname);
  {
    char chain[HUSK_DIGEST_LEN + 1];
    husk_chain_id (NULL, res.diff_id, chain);
    is_str (res.chain_id, chain, "%s: a base layer's chain ID is its diff ID", mname);
  }
  printf ("# tar:\n");
  for (const char *l = list; *l;)
    {
      const char *nl = strchr (l, '\n');
      printf ("#   %.*s\n", (int) (nl - l), l);
      l = nl + 1;
    }

  /* The tar's entries: order, whiteouts, links, owners, times.  */
  ok (find_line (list, "./") == NULL && find_line (list, "") == NULL,
      "%s: the directory itself is no entry", mname);
  ok (line_index (list, "B") < line_index (list, "a/")
          && line_index (list, "a/") < line_index (list, "a-b")
          && line_index (list, "a-b") < line_index (list, "big"),
      "%s: names in byte-wise order (B, a/, a-b, big)", mname);
  ok (line_index (list, "a/") < line_index (list, "a/file")
          && line_index (list, "a/file") < line_index (list, "a/hard"),
      "%s: a directory before what it holds", mname);
  ok (find_line (list, ".wh.gone") != NULL
          && strncmp (find_line (list, ".wh.gone"), ".wh.gone f 0 ", 13) == 0
          && find_line (list, "gone") == NULL,
      "%s: a 0:0 device is the empty file \".wh.gone\"", mname);
  ok (line_index (list, ".wh.gone") > line_index (list, "fifo")
          && line_index (list, ".wh.gone") < line_index (list, "link"),
      "%s: the whiteout at its name's place in the order", mname);
  if (real_root || user_xattrs)
    ok (find_line (list, "opq/.wh..wh..opq")
            && strncmp (find_line (list, "opq/.wh..wh..opq"), "opq/.wh..wh..opq f 711 ", 23) == 0
            && line_index (list, "opq/.wh..wh..opq") == line_index (list, "opq/") + 1
            && line_index (list, "opq/x") == line_index (list, "opq/") + 2,
        "%s: the opaque marker right after its directory, before its files, with its permissions",
        mname);
  ok (find_line (list, "a/hard") && strstr (find_line (list, "a/hard"), " h ")
          && strstr (find_line (list, "a/hard"), " => a/file\n"),
      "%s: a second link is a hard link entry to the first", mname);
  ok (find_line (list, "link") && strstr (find_line (list, "link"), " -> a/file"), "%s: a symlink",
      mname);
  ok (find_line (list, "fifo") && strncmp (find_line (list, "fifo"), "fifo p 620 ", 11) == 0,
      "%s: a fifo with its mode", mname);
  ok (find_line (list, "suid") && strncmp (find_line (list, "suid"), "suid f 4755 ", 12) == 0,
      "%s: set-id bits kept", mname);
  ok (find_line (list, "a/file") && strstr (find_line (list, "a/file"), " 1500000000")
          && find_line (list, "big") && strstr (find_line (list, "big"), " 1500000000")
          && find_line (list, "link") && strstr (find_line (list, "link"), " 1000000000"),
      "%s: mtimes later than the clamp are the clamp, earlier ones stay", mname);
  if (user_xattrs)
    ok (find_line (list, "suid") && strstr (find_line (list, "suid"), "user.test=kept")
            && !strstr (list, "overlay."),
        "%s: xattrs kept but overlay's own", mname);
  if (real_root)
    {
      ok (find_line (list, "B") && strstr (find_line (list, "B"), " 1234:5678 "),
          "%s: owners as they are", mname);
      ok (find_line (list, "null") && strncmp (find_line (list, "null"), "null c ", 7) == 0,
          "%s: a device node is in the tar", mname);
      ok (res.skipped_devices == 1, "%s: and counted as kept out of the store", mname);
    }
  ok (res.bytes == 6 + 1 + 10 + 3 * 1024 * 1024 + 17 + 1 + 4,
      "%s: bytes count file data once (%ju)", mname, (uintmax_t) res.bytes);

  /* The staged directory is what unpacking the blob gives.  */
  {
    cleanup_free char *udir = husk_strdup_printf ("unpacked-%s", mname);
    cleanup_free char *diffrel = husk_strdup_printf ("%s/diff", staged);
    cleanup_error struct husk_error *uerr = NULL;
    struct husk_unpack_stats st = { 0 };
    cleanup_close int ufd = -1;
    cleanup_close int bfd
        = openat (rootfd, blobpath + strlen (husk_store_root (s)) + 1, O_RDONLY | O_CLOEXEC);
    mkdirat (sbfd, udir, 0755);
    ufd = openat (sbfd, udir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok (husk_unpack_fd (bfd, ufd, rootless, &st, &uerr) == 0, "%s: the blob unpacks%s%s", mname,
        uerr ? ": " : "", uerr ? uerr->msg : "");
    staged_tree = tree_listing (rootfd, diffrel);
    unpacked_tree = tree_listing (sbfd, udir);
    is_str (staged_tree, unpacked_tree, "%s: the staged layer is what the blob unpacks to", mname);
    ok (strstr (staged_tree, "/gone: mode 20000 uid 0 gid 0") != NULL,
        "%s: the staged layer has the whiteout as a 0:0 device", mname);
    if (real_root || user_xattrs)
      ok (strstr (staged_tree,
                  real_root
                      ? "/opq: mode 40711 uid 0 gid 0 mtime 1300000000 trusted.overlay.opaque=y"
                      : "/opq: mode 40711 uid 0 gid 0 mtime 1300000000 user.overlay.opaque=y")
              != NULL,
          "%s: and the opaque directory with the store's xattr", mname);
    ok (strstr (staged_tree, "overlay.origin") == NULL, "%s: and none of overlay's other xattrs",
        mname);
    {
      int64_t n;
      cleanup_free char *sizerel = husk_strdup_printf ("%s/size", staged);
      cleanup_free char *text = NULL;
      husk_read_file_at (rootfd, sizerel, 64, &text, NULL, NULL);
      n = text ? strtoll (text, NULL, 10) : -1;
      ok (n == (int64_t) res.bytes, "%s: the size file says the bytes", mname);
    }
  }
  {
    struct stat st;
    bool gone = fstatat (sbfd, up, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
    if (mode == HUSK_LAYER_WRITE_MOVE)
      ok (gone, "move: the directory is moved into the layer");
    else
      {
        upper_after = tree_listing (sbfd, up);
        is_str (upper_after, before, "copy: the directory is left as it was");
      }
  }

  /* Published, it is a layer of the store.  */
  {
    struct husk_layer_desc desc = { .digest = res.digest,
                                    .size = res.size,
                                    .media_type = HUSK_MT_OCI_LAYER_GZIP,
                                    .diff_id = res.diff_id,
                                    .chain_id = res.chain_id };
    ok (husk_layer_publish (s, staged, &desc, &err) == 0 && husk_store_has_layer (s, res.chain_id)
            && husk_store_has_blob (s, res.digest),
        "%s: published: the layer and its blob are in the store", mname);
  }
}

static void
test_same_twice (struct husk_store *s, int sbfd)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_layer_write_opts o
      = { .mode = HUSK_LAYER_WRITE_COPY, .rootless = rootless, .clamp_mtime = -1, .gzip_level = 1 };
  struct husk_layer_written r1, r2;
  cleanup_free char *s1 = NULL, *s2 = NULL;

  make_upper ("up-twice");
  ok (husk_layer_write (s, sbfd, "up-twice", &o, &r1, &s1, &err) == 0
          && husk_layer_write (s, sbfd, "up-twice", &o, &r2, &s2, &err) == 0,
      "twice: written twice%s%s", err ? ": " : "", err ? err->msg : "");
  is_str (r1.digest, r2.digest, "twice: the same tree gives the same blob");
  if (s1)
    husk_layer_discard (s, s1);
  if (s2)
    husk_layer_discard (s, s2);
}

static void
test_empty (struct husk_store *s, int sbfd)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_layer_write_opts o
      = { .mode = HUSK_LAYER_WRITE_MOVE, .rootless = rootless, .clamp_mtime = -1, .gzip_level = 1 };
  struct husk_layer_written res;
  char *staged = (char *) "untouched";
  struct stat st;

  mkdirat (sbfd, "up-empty", 0755);
  ok (husk_layer_write (s, sbfd, "up-empty", &o, &res, &staged, &err) == 0 && res.entries == 0
          && staged == NULL,
      "empty: no entries, nothing staged%s%s", err ? ": " : "", err ? err->msg : "");
  is_str (res.diff_id, HUSK_EMPTY_TAR_DIFF_ID, "empty: the diff ID of an empty tar");
  ok (fstatat (sbfd, "up-empty", &st, 0) == 0, "empty: the directory stays where it was");
  {
    cleanup_free char *tmp = husk_strdup_printf ("%s/tmp", husk_store_root (s));
    cleanup_dir DIR *d = opendir (tmp);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir (d)) != NULL)
      n += de->d_name[0] != '.';
    ok (n == 0, "empty: and the store's tmp/ holds nothing (%d)", n);
  }
}

static void
test_errors (struct husk_store *s, int sbfd)
{
  cleanup_error struct husk_error *err = NULL;
  struct husk_layer_write_opts o
      = { .mode = HUSK_LAYER_WRITE_COPY, .rootless = rootless, .clamp_mtime = -1, .gzip_level = 9 };
  struct husk_layer_written res;
  char *staged = NULL;

  ok (husk_layer_write (s, sbfd, "up-twice", &o, &res, &staged, &err) < 0 && err
          && strstr (err->msg, "gzip level 9"),
      "errors: a gzip level ISA-L has not is refused");
  husk_error_free (&err);
  o.gzip_level = 1;
  ok (husk_layer_write (s, sbfd, "nope", &o, &res, &staged, &err) < 0 && err
          && strstr (err->msg, "\"nope\""),
      "errors: a missing directory is named");
  husk_error_free (&err);
  if (user_xattrs && !real_root)
    {
      mkdirat (sbfd, "up-redirect", 0755);
      mkdirat (sbfd, "up-redirect/d", 0755);
      set_xattr ("up-redirect/d", "user.overlay.redirect", "/elsewhere");
      ok (husk_layer_write (s, sbfd, "up-redirect", &o, &res, &staged, &err) < 0 && err
              && strstr (err->msg, "\"/d\"") && strstr (err->msg, "redirect"),
          "errors: a redirected directory is refused, named");
    }
}

int
main (void)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *storepath = NULL;
  struct husk_store *s = NULL;
  int sbfd;

  real_root = test_become_userns_root ();
  rootless = !real_root;
  umask (022);
  if (mkdtemp (sandbox) == NULL)
    {
      printf ("Bail out! mkdtemp: %s\n", strerror (errno));
      return 1;
    }
  user_xattrs = setxattr (sandbox, "user.husk-probe", "y", 1, 0) == 0;
  if (!user_xattrs)
    printf ("# no user xattrs on /tmp: their tests are skipped\n");
  sbfd = open (sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  storepath = sb ("store");
  if (husk_store_open (storepath, &s, &err) < 0)
    {
      printf ("Bail out! store: %s\n", err->msg);
      return 1;
    }
  /* Held throughout, as husk_layer_write's callers hold it (taking it sweeps tmp/).  */
  husk_store_lock (s, &err);
  test_write (s, sbfd, HUSK_LAYER_WRITE_COPY);
  test_write (s, sbfd, HUSK_LAYER_WRITE_MOVE);
  test_same_twice (s, sbfd);
  test_empty (s, sbfd);
  test_errors (s, sbfd);
  husk_store_unlock (s);
  husk_store_close (s);
  close (sbfd);
  husk_rm_rf_at (AT_FDCWD, sandbox, NULL);
  return tap_done ();
}
