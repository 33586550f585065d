/* Unit tests for overlay/: references, chain IDs, layout specs, and unpacking hostile tars.  */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "diff.h"
#include "layout.h"
#include "reference.h"
#include "safepath.h"
#include "store.h"
#include "tap.h"
#include "userns-root.h"
#include "unpack.h"
#include "util.h"

static void
check_ref (const char *in, const char *expect)
{
  struct husk_reference r;
  struct husk_error *err = NULL;

  if (husk_reference_parse (in, &r, &err) < 0)
    {
      ok (expect == NULL, "reference \"%s\" refused (%s)", in, err->msg);
      husk_error_free (&err);
      return;
    }
  {
    char *s = husk_reference_string (&r);
    is_str (s, expect, "reference \"%s\"", in);
    free (s);
  }
  husk_reference_clear (&r);
}

static void
test_references (void)
{
  check_ref ("busybox", "docker.io/library/busybox:latest");
  check_ref ("busybox:1.36", "docker.io/library/busybox:1.36");
  check_ref ("user/app", "docker.io/user/app:latest");
  check_ref ("index.docker.io/library/alpine:3", "docker.io/library/alpine:3");
  check_ref ("localhost/app", "localhost/app:latest");
  check_ref ("localhost:5000/a/b:v1", "localhost:5000/a/b:v1");
  check_ref ("quay.io/x/y:z", "quay.io/x/y:z");
  check_ref ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest");
  check_ref ("[::1]:5000/app", "[::1]:5000/app:latest");
  check_ref ("app@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
             "docker.io/library/"
             "app@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  check_ref ("a__b-c/e---f", "docker.io/a__b-c/e---f:latest");
  check_ref ("a__b.c-d/e", NULL); /* a dot makes it a registry host, and "_" is not a host */
  check_ref ("Upper", NULL);
  check_ref ("a/../b", NULL);
  check_ref ("app:", NULL);
  check_ref ("app:-bad", NULL);
  check_ref ("app@sha256:xyz", NULL);
  check_ref ("a_-b", NULL);
  check_ref ("", NULL);
}

static void
test_chain_id (void)
{
  const char *d1 = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
  const char *d2 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  char c1[HUSK_DIGEST_LEN + 1], c2[HUSK_DIGEST_LEN + 1], expect[HUSK_DIGEST_LEN + 1];
  char *text;

  husk_chain_id (NULL, d1, c1);
  is_str (c1, d1, "chain ID of the base layer is its diff_id");
  husk_chain_id (c1, d2, c2);
  text = husk_strdup_printf ("%s %s", d1, d2);
  husk_sha256_buf (text, strlen (text), expect);
  free (text);
  is_str (c2, expect, "chain ID of layer 2 hashes \"C1 D2\"");
}

static void
test_layout_split (void)
{
  char *dir = NULL, *tag = NULL;

  husk_layout_split ("/a/b:v1", &dir, &tag, NULL);
  ok (strcmp (dir, "/a/b") == 0 && tag && strcmp (tag, "v1") == 0, "DIR:TAG split");
  free (dir), free (tag);
  husk_layout_split ("/a/b", &dir, &tag, NULL);
  ok (strcmp (dir, "/a/b") == 0 && tag == NULL, "DIR alone");
  free (dir), free (tag);
  husk_layout_split ("/a/b:example.com:5000/team/app:2.0", &dir, &tag, NULL);
  ok (strcmp (dir, "/a/b") == 0 && tag && strcmp (tag, "example.com:5000/team/app:2.0") == 0,
      "the first colon ends the path, as skopeo reads it");
  free (dir), free (tag);
  husk_layout_split ("/a/b:", &dir, &tag, NULL);
  ok (strcmp (dir, "/a/b") == 0 && tag == NULL, "an empty tag is no tag");
  free (dir), free (tag);
}

/* Build a tar in memory with libarchive; entries described as (type, path, target-or-data).  */
struct entry
{
  char type; /* f file, d dir, l symlink, h hardlink */
  const char *path;
  const char *arg;
};

static int
write_tar (const char *path, const struct entry *e, size_t n)
{
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_filename (a, path) != ARCHIVE_OK)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      struct archive_entry *ae = archive_entry_new ();
      archive_entry_set_pathname (ae, e[i].path);
      archive_entry_set_mtime (ae, 1000, 0);
      switch (e[i].type)
        {
        case 'f':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 0644);
          archive_entry_set_size (ae, (la_int64_t) strlen (e[i].arg));
          break;
        case 'd':
          archive_entry_set_filetype (ae, AE_IFDIR);
          archive_entry_set_perm (ae, 0755);
          break;
        case 'l':
          archive_entry_set_filetype (ae, AE_IFLNK);
          archive_entry_set_perm (ae, 0777);
          archive_entry_set_symlink (ae, e[i].arg);
          break;
        case 'h':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 0644);
          archive_entry_set_hardlink (ae, e[i].arg);
          break;
        case 's':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 04755);
          archive_entry_set_size (ae, (la_int64_t) strlen (e[i].arg));
          break;
        }
      archive_write_header (a, ae);
      if (e[i].type == 'f' || e[i].type == 's')
        archive_write_data (a, e[i].arg, strlen (e[i].arg));
      archive_entry_free (ae);
    }
  archive_write_close (a);
  archive_write_free (a);
  return 0;
}

/* Unpack ENTRIES into a fresh directory inside a fresh sandbox; the sandbox also holds a
   "victim" file beside the layer root that no layer may touch.  */
static int
unpack_entries (const struct entry *e, size_t n, char **ret_msg, int *ret_rootfd, char *sandbox)
{
  char tarpath[512];
  struct husk_error *err = NULL;
  struct husk_unpack_stats st = { 0 };
  int sfd, rootfd, tfd, r;

  if (mkdtemp (sandbox) == NULL)
    return -99;
  sfd = open (sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  mkdirat (sfd, "root", 0755);
  close (openat (sfd, "victim", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  rootfd = openat (sfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  snprintf (tarpath, sizeof (tarpath), "%s/layer.tar", sandbox);
  write_tar (tarpath, e, n);
  tfd = open (tarpath, O_RDONLY | O_CLOEXEC);
  r = husk_unpack_fd (tfd, rootfd, true, &st, &err);
  close (tfd);
  close (sfd);
  *ret_msg = err ? husk_xstrdup (err->msg) : NULL;
  husk_error_free (&err);
  *ret_rootfd = rootfd;
  return r;
}

static bool
victim_untouched (const char *sandbox)
{
  char p[512];
  struct stat st;
  snprintf (p, sizeof (p), "%s/victim", sandbox);
  return stat (p, &st) == 0 && st.st_size == 0 && S_ISREG (st.st_mode);
}

static void
hostile (const char *what, const struct entry *e, size_t n, const char *expect_msg)
{
  char sandbox[] = "/tmp/husk-unpack-XXXXXX";
  char *msg = NULL;
  int rootfd = -1;
  int r = unpack_entries (e, n, &msg, &rootfd, sandbox);

  ok (r < 0, "%s: refused", what);
  ok (msg && strstr (msg, expect_msg), "%s: error says \"%s\" (got \"%s\")", what, expect_msg,
      msg ? msg : "");
  ok (victim_untouched (sandbox), "%s: the file beside the layer is untouched", what);
  free (msg);
  if (rootfd >= 0)
    close (rootfd);
  husk_rm_rf_at (AT_FDCWD, sandbox, NULL);
}

static void
test_unpack (void)
{
  {
    static const struct entry e[] = {
      { 'd', "./", NULL },
      { 'd', "./etc", NULL },
      { 'f', "./etc/hello", "hi" },
      { 'l', "./etc/link", "hello" },
      { 'h', "./etc/hard", "etc/hello" },
      { 's', "./bin/suid", "#!" },
      { 'f', "implicit/dir/file", "x" },
    };
    char sandbox[] = "/tmp/husk-unpack-XXXXXX";
    char *msg = NULL;
    int rootfd = -1;
    struct stat a, b;
    int r = unpack_entries (e, sizeof (e) / sizeof (e[0]), &msg, &rootfd, sandbox);

    ok (r == 0, "a plain layer unpacks (%s)", msg ? msg : "ok");
    ok (fstatat (rootfd, "etc/hello", &a, AT_SYMLINK_NOFOLLOW) == 0 && a.st_size == 2
            && a.st_mtim.tv_sec == 1000,
        "regular file with size and mtime");
    ok (fstatat (rootfd, "etc/hard", &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino,
        "hardlink to an earlier entry shares its inode");
    ok (fstatat (rootfd, "etc/link", &b, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (b.st_mode),
        "symlink");
    ok (fstatat (rootfd, "bin/suid", &b, AT_SYMLINK_NOFOLLOW) == 0 && (b.st_mode & 07777) == 04755,
        "setuid bit kept");
    ok (fstatat (rootfd, "implicit/dir/file", &b, 0) == 0, "missing parents are created");
    ok (fstatat (rootfd, "etc", &b, 0) == 0 && b.st_mtim.tv_sec == 1000,
        "directory mtime set after its children");
    free (msg);
    close (rootfd);
    husk_rm_rf_at (AT_FDCWD, sandbox, NULL);
  }
  {
    static const struct entry e[] = {
      { 'd', "dir", NULL },         { 'f', "dir/.wh.gone", "" },
      { 'f', "dir/kept", "k" },     { 'f', "dir/.wh.kept2", "" },
      { 'f', "dir/kept2", "k" },    { 'f', "dir/sub/.wh..wh..opq", "" },
      { 'f', "dir/sub/file", "f" }, { 'f', "dir/early", "e" },
      { 'f', "dir/.wh.early", "" },
    };
    char sandbox[] = "/tmp/husk-unpack-XXXXXX";
    char *msg = NULL;
    int rootfd = -1;
    struct stat st;
    char v[8];
    ssize_t n;
    int r = unpack_entries (e, sizeof (e) / sizeof (e[0]), &msg, &rootfd, sandbox);

    ok (r == 0, "a layer with whiteouts unpacks (%s)", msg ? msg : "ok");
    ok (fstatat (rootfd, "dir/gone", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR (st.st_mode)
            && st.st_rdev == 0,
        "a whiteout becomes a 0:0 character device");
    ok (fstatat (rootfd, "dir/.wh.gone", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT,
        "the marker itself is not written");
    ok (fstatat (rootfd, "dir/kept2", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode),
        "a file after its whiteout in the same layer replaces the whiteout");
    ok (fstatat (rootfd, "dir/early", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR (st.st_mode),
        "a whiteout after a file of the same layer replaces the file");
    ok (fstatat (rootfd, "dir/sub/.wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) < 0,
        "the opaque marker is not written");
    {
      cleanup_close int sfd = openat (rootfd, "dir/sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      n = sfd >= 0 ? fgetxattr (sfd, "user.overlay.opaque", v, sizeof (v)) : -1;
    }
    ok (n == 1 && v[0] == 'y', "the opaque marker sets user.overlay.opaque=y (rootless)");
    ok (fstatat (rootfd, "dir/sub/file", &st, AT_SYMLINK_NOFOLLOW) == 0,
        "the opaque directory keeps this layer's files");
    free (msg);
    close (rootfd);
    husk_rm_rf_at (AT_FDCWD, sandbox, NULL);
  }
  {
    static const struct entry e[] = { { 'f', "../victim", "pwned" } };
    hostile ("\"..\" entry", e, 1, "\"..\" is not allowed");
  }
  {
    static const struct entry e[] = { { 'f', "a/../../victim", "pwned" } };
    hostile ("\"..\" inside a path", e, 1, "\"..\" is not allowed");
  }
  {
    static const struct entry e[] = { { 'l', "esc", ".." }, { 'f', "esc/victim", "pwned" } };
    hostile ("write through a planted symlink", e, 2, "path goes through a symlink");
  }
  {
    static const struct entry e[] = { { 'l', "esc", "/" }, { 'f', "esc/victim", "pwned" } };
    hostile ("write through an absolute symlink", e, 2, "path goes through a symlink");
  }
  {
    static const struct entry e[] = { { 'f', "/victim", "pwned" } };
    hostile ("absolute entry", e, 1, "absolute paths are not allowed");
  }
  {
    static const struct entry e[] = { { 'f', "f", "x" }, { 'h', "h", "/f" } };
    hostile ("absolute hardlink target", e, 2,
             "hardlink to \"/f\": absolute paths are not allowed");
  }
  {
    static const struct entry e[] = { { 'h', "h", "../victim" } };
    hostile ("hardlink outside", e, 1, "\"..\" is not allowed");
  }
  {
    static const struct entry e[] = { { 'l', "esc", ".." }, { 'h', "h", "esc/victim" } };
    hostile ("hardlink through a symlink", e, 2, "path goes through a symlink");
  }
  {
    static const struct entry e[] = { { 'f', "dir/.wh.", "" } };
    hostile ("whiteout naming nothing", e, 1, "names no file");
  }
  {
    static const struct entry e[] = { { 'f', "dir/.wh...", "" } };
    hostile ("whiteout of the parent", e, 1, "names no file");
  }
  {
    static const struct entry e[] = { { 'f', ".wh.dir/file", "x" } };
    hostile ("whiteout marker as a directory", e, 1, "whiteout marker is used as a directory");
  }
  {
    static const struct entry e[] = { { 'l', "esc", ".." }, { 'f', "esc/.wh.victim", "" } };
    hostile ("whiteout through a planted symlink", e, 2, "path goes through a symlink");
  }
  {
    static const struct entry e[]
        = { { 'f', "gone", "x" }, { 'f', ".wh.gone", "" }, { 'h', "link", "gone" } };
    hostile ("hardlink to a whiteout", e, 3, "target not in this layer");
  }
  {
    static const struct entry e[] = { { 'f', "a", "x" }, { 'f', "a/b", "y" } };
    hostile ("file used as a directory", e, 2, "a parent is not a directory");
  }
}

/* A file, directory, whiteout or opaque directory at PATH below the diff tree.  */
static char difftree[] = "/tmp/husk-test-diff.XXXXXX";

static void
mk (char type, const char *path)
{
  char full[512];
  int fd;

  snprintf (full, sizeof (full), "%s/%s", difftree, path);
  switch (type)
    {
    case 'f':
      fd = open (full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0)
        close (fd);
      break;
    case 'd':
      mkdir (full, 0755);
      break;
    case 'w':
      /* Since Linux 5.8 anyone may make a 0:0 character device: overlayfs's whiteout.  */
      if (mknod (full, S_IFCHR | 0000, makedev (0, 0)) < 0)
        printf ("# mknod %s: %s\n", full, strerror (errno));
      break;
    case 'o':
    case 'O':
      mkdir (full, 0755);
      if (setxattr (full,
                    type == 'O' && geteuid () == 0 ? "trusted.overlay.opaque"
                                                   : "user.overlay.opaque",
                    "y", 1, 0)
          < 0)
        printf ("# setxattr %s: %s\n", full, strerror (errno));
      break;
    }
}

static void
test_diff (void)
{
  static const char *const tree[] = {
    /* The base layer.  */
    "dl1",
    "dl1/etc",
    "fl1/etc/motd",
    "fl1/etc/passwd",
    "fl1/gone",
    "dl1/dir",
    "fl1/dir/a",
    "fl1/dir/b",
    "dl1/dir/sub",
    "fl1/dir/sub/x",
    "fl1/wh2",
    "fl1/keep",
    "dl1/l1opq",
    "fl1/l1opq/hidden",
    "dl1/l2dir",
    /* The layer above: a whiteout and an opaque directory of its own.  */
    "dl2",
    "dl2/etc",
    "fl2/etc/motd",
    "wl2/wh2",
    "dl2/l2dir",
    "fl2/l2dir/y",
    "Ol2/l1opq",
    "fl2/l1opq/n",
    /* The container's upper directory.  */
    "dup",
    "dup/etc",
    "fup/etc/motd",
    "wup/gone",
    "fup/new",
    "dup/newdir",
    "fup/newdir/f",
    "oup/dir",
    "fup/dir/a",
    "dup/dir/sub",
    "fup/dir/sub/z",
    "fup/wh2",
    "dup/l1opq",
    "fup/l1opq/hidden",
    "dup/l2dir",
    "wup/l2dir/ghost",
  };
  static const char *const expected[] = {
    "C /dir", "C /dir/a",    "D /dir/b",    "C /dir/sub", "D /dir/sub/x",    "A /dir/sub/z",
    "C /etc", "C /etc/motd", "D /gone",     "C /l1opq",   "A /l1opq/hidden", "C /l2dir",
    "A /new", "A /newdir",   "A /newdir/f", "A /wh2",
  };
  cleanup_error struct husk_error *err = NULL;
  struct husk_change *v = NULL;
  size_t n = 0;
  char l1[512], l2[512], up[512];
  char *lowers[] = { l1, l2, NULL };
  char got[2048] = "", want[2048] = "";
  char xattr_probe[512];

  if (mkdtemp (difftree) == NULL)
    {
      ok (0, "diff: mkdtemp: %s", strerror (errno));
      return;
    }
  snprintf (xattr_probe, sizeof (xattr_probe), "%s", difftree);
  if (setxattr (xattr_probe, "user.husk-probe", "y", 1, 0) < 0)
    {
      printf ("ok %d - # SKIP diff: no user xattrs on /tmp (%s)\n", ++tap_n, strerror (errno));
      rmdir (difftree);
      return;
    }
  for (size_t i = 0; i < sizeof (tree) / sizeof (tree[0]); i++)
    mk (tree[i][0], tree[i] + 1);
  snprintf (l1, sizeof (l1), "%s/l1", difftree);
  snprintf (l2, sizeof (l2), "%s/l2", difftree);
  snprintf (up, sizeof (up), "%s/up", difftree);

  ok (husk_diff_dirs (up, lowers, &v, &n, &err) == 0,
      "diff: a tree with whiteouts and opaque "
      "directories%s%s",
      err ? ": " : "", err ? err->msg : "");
  for (size_t i = 0; i < n; i++)
    snprintf (got + strlen (got), sizeof (got) - strlen (got), "%c %s\n", v[i].kind, v[i].path);
  for (size_t i = 0; i < sizeof (expected) / sizeof (expected[0]); i++)
    snprintf (want + strlen (want), sizeof (want) - strlen (want), "%s\n", expected[i]);
  is_str (got, want, "diff: A, C and D, sorted by path");
  husk_changes_free (v, n);

  /* No layers: everything in upper is new, whiteouts are nothing.  */
  {
    char *none[] = { NULL };
    char sub[512];
    v = NULL;
    n = 0;
    snprintf (sub, sizeof (sub), "%s/up/newdir", difftree);
    ok (husk_diff_dirs (sub, none, &v, &n, &err) == 0 && n == 1 && v[0].kind == HUSK_CHANGE_ADD
            && strcmp (v[0].path, "/f") == 0,
        "diff: no layers");
    husk_changes_free (v, n);
  }

  /* A missing layer is an error that names it.  */
  {
    char missing[600];
    char *bad[] = { missing, NULL };
    snprintf (missing, sizeof (missing), "%s/nope", difftree);
    v = NULL;
    n = 0;
    ok (husk_diff_dirs (up, bad, &v, &n, &err) < 0 && err && strstr (err->msg, "nope"),
        "diff: a missing layer fails");
  }

  {
    cleanup_error struct husk_error *e = NULL;
    int dfd = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    husk_rm_rf_at (dfd, difftree + strlen ("/tmp/"), &e);
    close (dfd);
  }
}

/* A memfd holding one file "f" ("hi") as a tar (TAR) or the bytes alone, through FILTER
   (an archive_write_add_filter_by_name name, or "none").  */
static int
archive_memfd (bool tar, const char *filter)
{
  int fd = memfd_create ("archive", MFD_CLOEXEC);
  struct archive *a = archive_write_new ();
  struct archive_entry *ae = archive_entry_new ();

  if (tar)
    archive_write_set_format_pax_restricted (a);
  else
    archive_write_set_format_raw (a);
  if (strcmp (filter, "none") != 0)
    archive_write_add_filter_by_name (a, filter);
  archive_write_open_fd (a, fd);
  archive_entry_set_pathname (ae, "f");
  archive_entry_set_filetype (ae, AE_IFREG);
  archive_entry_set_perm (ae, 0644);
  archive_entry_set_size (ae, 2);
  archive_write_header (a, ae);
  archive_write_data (a, "hi", 2);
  archive_entry_free (ae);
  archive_write_close (a);
  archive_write_free (a);
  lseek (fd, 0, SEEK_SET);
  return fd;
}

/* ADD's archive test: a tar however compressed is one; a compressed file without a tar is
   not (Docker copies it as it is).  */
static void
test_is_archive (void)
{
  static const char *const filters[] = { "none", "gzip", "bzip2", "xz", "zstd" };
  int fd;

  for (size_t i = 0; i < sizeof (filters) / sizeof (filters[0]); i++)
    {
      fd = archive_memfd (true, filters[i]);
      ok (husk_unpack_is_archive (fd), "a tar through %s is an archive", filters[i]);
      close (fd);
      fd = archive_memfd (false, filters[i]);
      ok (!husk_unpack_is_archive (fd), "\"hi\" through %s is not", filters[i]);
      close (fd);
    }
  fd = memfd_create ("empty", MFD_CLOEXEC);
  ok (!husk_unpack_is_archive (fd), "an empty file is not");
  close (fd);
}

int
main (void)
{
  test_become_userns_root ();
  test_references ();
  test_chain_id ();
  test_layout_split ();
  test_unpack ();
  test_is_archive ();
  test_diff ();
  husk_safepath_force_fallback (true);
  test_unpack ();
  return tap_done ();
}
