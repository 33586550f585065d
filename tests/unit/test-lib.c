/* Unit tests for lib/: errors, JSON, digests, safe path resolution.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "passwd.h"
#include "json.h"
#include "safepath.h"
#include "signame.h"
#include "tap.h"
#include "util.h"

static void
test_errors (void)
{
  struct husk_error *err = NULL;
  int r = husk_error_set (&err, ENOENT, "open \"%s\"", "x");
  ok (r == -ENOENT, "husk_error_set returns -errno");
  is_str (err->msg, "open \"x\": No such file or directory", "message carries strerror");
  husk_error_wrap (&err, "layer %d", 3);
  is_str (err->msg, "layer 3: open \"x\": No such file or directory", "wrap adds context in front");
  ok (husk_error_status (err, 7) == 7, "default status when none set");
  husk_error_free (&err);
  ok (err == NULL, "free clears the pointer");
  ok (husk_error_set (NULL, 0, "ignored") == -1, "a NULL error pointer is allowed");
}

static void
test_json (void)
{
  struct husk_error *err = NULL;
  const char *doc = "{\"a\":\"b\",\"n\":42,\"arr\":[\"x\",\"y\"],\"t\":true,\"bad\":[1]}";
  husk_json *j = husk_json_parse (doc, strlen (doc), &err);
  int64_t n = 0;
  bool t = false;
  char **v;

  ok (j != NULL, "parse a document");
  is_str (husk_json_get_string (j, "a"), "b", "string member");
  ok (husk_json_int64 (husk_json_get (j, "n"), &n) && n == 42, "integer member");
  ok (husk_json_bool (husk_json_get (j, "t"), &t) && t, "boolean member");
  ok (husk_json_get (j, "missing") == NULL, "missing member is NULL");
  ok (husk_json_get_string (j, "n") == NULL, "type mismatch is NULL");
  v = husk_json_strv (husk_json_get (j, "arr"), "arr", &err);
  ok (v && husk_strv_len (v) == 2 && strcmp (v[1], "y") == 0, "string array");
  husk_strv_free (v);
  v = husk_json_strv (husk_json_get (j, "bad"), "bad", &err);
  ok (v == NULL && err && strstr (err->msg, "not a string"), "non-string array element refused");
  husk_error_free (&err);
  husk_json_free (j);

  {
    const char bad[] = "{\"a\":";
    ok (husk_json_parse (bad, strlen (bad), &err) == NULL && err != NULL, "truncated json refused");
    ok (strstr (err->msg, "invalid json") != NULL, "error says invalid json: %s", err->msg);
    husk_error_free (&err);
  }
  {
    const char nul[] = "{\"a\":\"b\"}\0{}";
    ok (husk_json_parse (nul, sizeof (nul) - 1, &err) == NULL, "embedded NUL refused");
    husk_error_free (&err);
  }
  {
    husk_jgen *g = husk_jgen_new (false);
    size_t len;
    husk_jgen_map_open (g);
    husk_jgen_key (g, "k\"q");
    husk_jgen_int (g, -3);
    husk_jgen_map_close (g);
    is_str (husk_jgen_buf (g, &len), "{\"k\\\"q\":-3}", "generator escapes keys");
    husk_jgen_free (g);
  }
}

static void
test_digest (void)
{
  char d[HUSK_DIGEST_LEN + 1];
  struct husk_error *err = NULL;

  husk_sha256_buf ("", 0, d);
  is_str (d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          "sha256 of nothing");
  husk_sha256_buf ("{}", 2, d);
  is_str (d, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
          "sha256 of the OCI empty descriptor");
  ok (husk_digest_is_sha256 (d), "valid digest accepted");
  ok (!husk_digest_is_sha256 (
          "sha256:44136FA355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
      "uppercase hex refused");
  ok (!husk_digest_is_sha256 ("sha256:abc"), "short digest refused");
  ok (!husk_digest_is_sha256 ("sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
      "path in a digest refused");
  ok (husk_digest_check ("sha512:abcd", &err) < 0 && strstr (err->msg, "not supported"),
      "other algorithm named as unsupported");
  husk_error_free (&err);

  /* The small-document SHA-256 (sha256.c) against OpenSSL's streams (digest.c), across the
     padding's one-block and two-block cases and several blocks.  */
  {
    static const size_t lens[] = { 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4099 };
    unsigned char data[4099];
    bool same = true;

    for (size_t i = 0; i < sizeof (data); i++)
      data[i] = (unsigned char) (i * 131 + 7);
    for (size_t i = 0; i < sizeof (lens) / sizeof (lens[0]); i++)
      {
        char a[HUSK_DIGEST_LEN + 1], b[HUSK_DIGEST_LEN + 1];
        struct husk_sha256 *h = husk_sha256_new ();
        husk_sha256_update (h, data, lens[i]);
        husk_sha256_final (h, b);
        husk_sha256_free (h);
        husk_sha256_buf (data, lens[i], a);
        if (strcmp (a, b) != 0)
          {
            printf ("# length %zu: %s, OpenSSL %s\n", lens[i], a, b);
            same = false;
          }
      }
    ok (same, "sha256 of small documents equals OpenSSL's for 13 lengths");
    husk_sha256_buf ("abc", 3, d);
    is_str (d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256 of \"abc\" (FIPS 180-4 example)");
  }
}

/* A tree for path resolution:
   root/dir/file, root/link-abs -> /dir, root/link-up -> ../../../dir, root/loop -> loop,
   root/file-link -> dir/file  */
static int
make_tree (char *tmpl)
{
  int rootfd;

  if (mkdtemp (tmpl) == NULL)
    return -1;
  rootfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  mkdirat (rootfd, "dir", 0755);
  close (openat (rootfd, "dir/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  symlinkat ("/dir", rootfd, "link-abs");
  symlinkat ("../../../dir", rootfd, "link-up");
  symlinkat ("loop", rootfd, "loop");
  symlinkat ("dir/file", rootfd, "file-link");
  return rootfd;
}

static void
test_safepath_mode (int rootfd, const char *mode)
{
  int fd;
  struct stat a, b;

  fd = husk_open_in_root (rootfd, "dir/file", O_RDONLY, 0, HUSK_RESOLVE_IN_ROOT);
  ok (fd >= 0, "[%s] plain path opens", mode);
  if (fd >= 0)
    close (fd);

  fd = husk_open_in_root (rootfd, "link-abs/file", O_RDONLY, 0, HUSK_RESOLVE_IN_ROOT);
  ok (fd >= 0, "[%s] absolute symlink resolves inside the root", mode);
  if (fd >= 0)
    {
      fstat (fd, &a);
      fstatat (rootfd, "dir/file", &b, 0);
      ok (a.st_ino == b.st_ino, "[%s] ... to the root's own file", mode);
      close (fd);
    }
  else
    ok (0, "[%s] ... to the root's own file", mode);

  fd = husk_open_in_root (rootfd, "link-up/file", O_RDONLY, 0, HUSK_RESOLVE_IN_ROOT);
  ok (fd >= 0, "[%s] .. in a symlink stops at the root", mode);
  if (fd >= 0)
    close (fd);

  fd = husk_open_in_root (rootfd, "../../../../etc/passwd", O_RDONLY, 0, HUSK_RESOLVE_IN_ROOT);
  ok (fd == -ENOENT, "[%s] ../../etc/passwd stays inside (got %d)", mode, fd);
  if (fd >= 0)
    close (fd);

  fd = husk_open_in_root (rootfd, "loop", O_RDONLY, 0, HUSK_RESOLVE_IN_ROOT);
  ok (fd == -ELOOP, "[%s] symlink loop gives ELOOP (got %d)", mode, fd);

  fd = husk_open_in_root (rootfd, "link-abs/file", O_RDONLY, 0, HUSK_RESOLVE_NO_SYMLINKS);
  ok (fd == -ELOOP, "[%s] no-symlinks refuses a symlinked parent (got %d)", mode, fd);

  fd = husk_open_in_root (rootfd, "../x", O_RDONLY, 0, HUSK_RESOLVE_NO_SYMLINKS);
  ok (fd == -EXDEV, "[%s] no-symlinks refuses .. above the root (got %d)", mode, fd);

  fd = husk_open_in_root (rootfd, "file-link", O_PATH | O_NOFOLLOW, 0, HUSK_RESOLVE_NO_SYMLINKS);
  ok (fd >= 0, "[%s] a trailing symlink opens itself with O_PATH|O_NOFOLLOW", mode);
  if (fd >= 0)
    {
      fstat (fd, &a);
      ok (S_ISLNK (a.st_mode), "[%s] ... and is the link", mode);
      close (fd);
    }
  else
    ok (0, "[%s] ... and is the link", mode);

  fd = husk_open_in_root (rootfd, "file-link", O_RDONLY, 0, HUSK_RESOLVE_IN_ROOT);
  ok (fd >= 0, "[%s] a trailing symlink is followed in-root", mode);
  if (fd >= 0)
    close (fd);

  fd = husk_mkdirs_in_root (rootfd, "new/a/b", 0755, HUSK_RESOLVE_NO_SYMLINKS);
  ok (fd >= 0 && fstatat (rootfd, "new/a/b", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (a.st_mode),
      "[%s] mkdirs creates missing components", mode);
  if (fd >= 0)
    close (fd);
  fd = husk_mkdirs_in_root (rootfd, "link-abs/sub", 0755, HUSK_RESOLVE_NO_SYMLINKS);
  ok (fd == -ELOOP && fstatat (rootfd, "dir/sub", &a, 0) < 0,
      "[%s] mkdirs never goes through a symlink (got %d)", mode, fd);
  husk_rm_rf_at (rootfd, "new", NULL);
}

/* husk_mkdirs_in_root makes what PATH names, never what a symlink on the way points at
   (unlike husk_mkpath_in_root, which makes both): through a dangling link it is ENOENT.  It
   goes through a link to a directory that is there, and makes directories with its MODE.  */
static void
test_mkdirs_links_mode (int rootfd, const char *mode)
{
  struct stat st;
  int fd;

  symlinkat ("/gone/deeper", rootfd, "dangling");
  fd = husk_mkdirs_in_root (rootfd, "dangling/sub", 0755, HUSK_RESOLVE_IN_ROOT);
  ok (fd == -ENOENT && faccessat (rootfd, "gone", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
      "[%s] mkdirs through a dangling link is ENOENT and makes nothing (got %d)", mode, fd);
  if (fd >= 0)
    close (fd);
  fd = husk_mkdirs_in_root (rootfd, "dangling", 0755, HUSK_RESOLVE_IN_ROOT);
  ok (fd == -ENOENT && faccessat (rootfd, "gone", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
      "[%s] ... also as the last component (got %d)", mode, fd);
  if (fd >= 0)
    close (fd);
  fd = husk_mkdirs_in_root (rootfd, "link-abs/made/in", 0700, HUSK_RESOLVE_IN_ROOT);
  ok (fd >= 0 && fstatat (rootfd, "dir/made/in", &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISDIR (st.st_mode) && (st.st_mode & 07777) == 0700,
      "[%s] mkdirs goes through a link to a directory, with its mode", mode);
  if (fd >= 0)
    close (fd);
  fd = husk_mkpath_in_root (rootfd, "dangling/sub", HUSK_MKPATH_DIR, false);
  ok (fd >= 0 && fstatat (rootfd, "gone/deeper/sub", &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISDIR (st.st_mode),
      "[%s] mkpath through the same link makes its target", mode);
  if (fd >= 0)
    close (fd);
  unlinkat (rootfd, "dangling", 0);
  husk_rm_rf_at (rootfd, "gone", NULL);
  husk_rm_rf_at (rootfd, "dir/made", NULL);
}

static void
test_safepath (void)
{
  char tmpl[] = "/tmp/husk-test-XXXXXX";
  int rootfd = make_tree (tmpl);
  struct husk_error *err = NULL;

  ok (rootfd >= 0, "test tree made");
  husk_safepath_force_fallback (false);
  test_safepath_mode (rootfd, "openat2");
  test_mkdirs_links_mode (rootfd, "openat2");
  husk_safepath_force_fallback (true);
  test_safepath_mode (rootfd, "fallback");
  test_mkdirs_links_mode (rootfd, "fallback");
  husk_safepath_force_fallback (false);

  ok (husk_rm_rf_at (AT_FDCWD, tmpl, &err) == 0, "rm -rf of the tree");
  ok (access (tmpl, F_OK) < 0, "tree is gone");
  close (rootfd);
}

/* husk_chmod_at_nofollow: a fifo's mode changes; a symlink at the name is not followed, so
   what it points at keeps its mode.  Both the fchmodat2 call and the fallback.  */
static void
test_chmod_nofollow (void)
{
  char tmpl[] = "/tmp/husk-test-XXXXXX";
  struct husk_error *err = NULL;
  const char *modes[] = { "fchmodat2", "fallback" };
  cleanup_close int dirfd = -1;
  struct stat st;
  int fd, r;

  ok (mkdtemp (tmpl) != NULL, "chmod-nofollow: temporary directory");
  dirfd = open (tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
  fd = openat (dirfd, "target", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ok (fd >= 0 && fchmod (fd, 0600) == 0, "chmod-nofollow: target file 0600");
  if (fd >= 0)
    close (fd);
  ok (symlinkat ("target", dirfd, "link") == 0, "chmod-nofollow: symlink to it");
  ok (mknodat (dirfd, "fifo", S_IFIFO | 0600, 0) == 0, "chmod-nofollow: fifo");
  for (int i = 0; i < 2; i++)
    {
      husk_safepath_force_chmod_fallback (i == 1);
      r = husk_chmod_at_nofollow (dirfd, "fifo", 0640 + i);
      ok (r == 0 && fstatat (dirfd, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0
              && (st.st_mode & 07777) == (mode_t) (0640 + i),
          "[%s] a fifo's mode is set (got %d)", modes[i], r);
      r = husk_chmod_at_nofollow (dirfd, "link", 0666);
      ok (r < 0 && fstatat (dirfd, "target", &st, 0) == 0 && (st.st_mode & 07777) == 0600,
          "[%s] a symlink is not followed (got %d)", modes[i], r);
    }
  r = husk_chmod_at_nofollow (dirfd, "target", 0644);
  ok (r == -ENXIO && fstatat (dirfd, "target", &st, 0) == 0 && (st.st_mode & 07777) == 0600,
      "[fallback] only a fifo is changed (got %d)", r);
  husk_safepath_force_chmod_fallback (false);
  ok (husk_rm_rf_at (AT_FDCWD, tmpl, &err) == 0, "chmod-nofollow: cleaned up");
}

/* husk_rm_rf_at_freed counts what went as du does: each directory and file by its blocks, a
   file with two links in the tree once, a file also linked from outside not at all.  */
static void
test_rm_rf_freed (void)
{
  char tmpl[] = "/tmp/husk-test-XXXXXX";
  struct husk_error *err = NULL;
  cleanup_close int dirfd = -1;
  cleanup_free char *buf = husk_xcalloc (1, 20000);
  struct stat st;
  uint64_t want = 0, freed = 0;
  int fd;

  ok (mkdtemp (tmpl) != NULL, "rm-freed: temporary directory");
  dirfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  mkdirat (dirfd, "t", 0755);
  mkdirat (dirfd, "t/sub", 0755);
  memset (buf, 'x', 20000);
  fd = openat (dirfd, "t/sub/f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ok (fd >= 0 && husk_write_all (fd, buf, 20000) == 0, "rm-freed: a file of 20000 bytes");
  if (fd >= 0)
    close (fd);
  linkat (dirfd, "t/sub/f", dirfd, "t/f-again", 0);
  fd = openat (dirfd, "t/kept", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0)
    {
      husk_write_all (fd, buf, 8192);
      close (fd);
    }
  linkat (dirfd, "t/kept", dirfd, "outside", 0);
  symlinkat ("/etc/passwd", dirfd, "t/link");
  for (const char *const *p = (const char *const[]){ "t", "t/sub", "t/sub/f", "t/link", NULL }; *p;
       p++)
    if (fstatat (dirfd, *p, &st, AT_SYMLINK_NOFOLLOW) == 0)
      want += (uint64_t) st.st_blocks * 512;
  ok (husk_rm_rf_at_freed (dirfd, "t", &freed, &err) == 0 && freed == want && want >= 20000,
      "rm-freed: the tree's blocks, a twice-linked file once, one linked outside not (%ju, want "
      "%ju)",
      (uintmax_t) freed, (uintmax_t) want);
  ok (fstatat (dirfd, "outside", &st, 0) == 0 && st.st_size == 8192,
      "rm-freed: the file linked outside is still there");
  ok (husk_rm_rf_at (AT_FDCWD, tmpl, &err) == 0, "rm-freed: cleaned up");
}

static void
test_util (void)
{
  uint64_t v = 0;
  char **sv = NULL;

  ok (husk_parse_u64 ("65536", UINT32_MAX, &v) == 0 && v == 65536, "parse a number");
  ok (husk_parse_u64 ("4294967296", UINT32_MAX, &v) == -ERANGE, "overflow refused");
  ok (husk_parse_u64 ("12x", UINT32_MAX, &v) == -EINVAL, "trailing garbage refused");
  ok (husk_parse_u64 ("", UINT32_MAX, &v) == -EINVAL, "empty refused");
  husk_strv_append (&sv, "a");
  husk_strv_append (&sv, "b");
  ok (husk_strv_len (sv) == 2 && strcmp (sv[1], "b") == 0, "strv append");
  husk_strv_free (sv);
}

static void
test_passwd (void)
{
  char path[] = "/tmp/husk-passwd-XXXXXX";
  static const char text[] = "root:x:0:0:root:/root:/bin/bash\n"
                             "# not an entry\n"
                             "short:x:7\n"
                             "alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n"
                             "nohome:x:1001:1001::\n"
                             "last:x:4294967294:1:no newline:/l:/bin/sh";
  char *name = NULL, *home = NULL;
  int fd = mkstemp (path);

  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t) strlen (text))
    {
      ok (0, "write a passwd file");
      return;
    }
  close (fd);
  ok (husk_host_passwd (path, 1000, &name, &home) == 0 && name && home, "a uid is found");
  is_str (name, "alice", "its name");
  is_str (home, "/home/alice", "its home");
  free (name), free (home), name = home = NULL;
  ok (husk_host_passwd (path, 1001, &name, &home) == 0 && home == NULL, "an empty home is NULL");
  free (name), name = NULL;
  ok (husk_host_passwd (path, 4294967294U, &name, NULL) == 0, "the last line without a newline");
  is_str (name, "last", "its name");
  free (name), name = NULL;
  ok (husk_host_passwd (path, 7, &name, &home) < 0 && name == NULL && home == NULL,
      "a line with too few fields is no entry");
  ok (husk_host_passwd (path, 4242, &name, NULL) < 0, "an unknown uid is not found");
  ok (husk_host_passwd ("/nonexistent/passwd", 0, &name, NULL) < 0, "a missing file finds nothing");
  unlink (path);
}

/* docker's names and numbers (moby/sys signal_linux.go): RTMIN is 34, every case, with or
   without SIG.  */
static void
test_signals (void)
{
  static const struct
  {
    const char *spec;
    int sig;
  } good[] = {
    { "SIGTERM", SIGTERM },
    { "term", SIGTERM },
    { "SigTerm", SIGTERM },
    { "15", 15 },
    { "1", 1 },
    { "64", 64 },
    { "KILL", SIGKILL },
    { "sigusr1", SIGUSR1 },
    { "SIGCLD", SIGCHLD },
    { "IOT", SIGABRT },
    { "SIGPOLL", SIGIO },
    { "SIGWINCH", SIGWINCH },
    { "SIGPWR", SIGPWR },
    { "SIGSYS", SIGSYS },
    { "STKFLT", 16 },
    { "SIGRTMIN", 34 },
    { "RTMIN", 34 },
    { "SIGRTMIN+3", 37 },
    { "rtmin+3", 37 },
    { "sigRtMin+15", 49 },
    { "SIGRTMIN+30", 64 },
    { "SIGRTMAX", 64 },
    { "RTMAX-1", 63 },
    { "SIGRTMAX-14", 50 },
    { "SIGRTMAX-30", 34 },
    { "RTMIN+0", 34 },
  };
  static const char *const bad[] = { "",         "0",        "65",       "99999999999999999999",
                                     "-1",       "+3",       "15x",      "SIG",
                                     "SIGFOO",   "TERM ",    " TERM",    "SIGSIGTERM",
                                     "RTMIN+",   "RTMIN+31", "RTMIN-1",  "RTMAX+1",
                                     "RTMAX-31", "RTMIN+-1", "RTMIN+3x", "SIGRTMIN3",
                                     "RTMIN++3", "SIGRT" };
  struct husk_error *err = NULL;

  for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++)
    {
      int sig = husk_signal_parse (good[i].spec, &err);
      ok (sig == good[i].sig && err == NULL, "signal \"%s\" is %d (got %d)", good[i].spec,
          good[i].sig, sig);
      husk_error_free (&err);
    }
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      int sig = husk_signal_parse (bad[i], &err);
      ok (sig < 0 && err != NULL && strncmp (err->msg, "signal \"", 8) == 0,
          "signal \"%s\" refused (got %d: %s)", bad[i], sig, err ? err->msg : "no error");
      husk_error_free (&err);
    }
  husk_signal_parse ("SIGFOO", &err);
  is_str (err->msg,
          "signal \"SIGFOO\": unknown (a name such as SIGTERM or SIGRTMIN+3, or a number from 1 "
          "to 64)",
          "an unknown name says what is known");
  husk_error_free (&err);
  husk_signal_parse ("65", &err);
  is_str (err->msg, "signal \"65\": out of range (signals are 1 to 64)",
          "a number past 64 says the range");
  husk_error_free (&err);
  /* Every number docker's table names is reachable by name too.  */
  for (int n = 1; n <= 64; n++)
    {
      char spec[16];
      int sig;
      if (n == 32 || n == 33)
        continue;
      if (n >= 34)
        snprintf (spec, sizeof (spec), "SIGRTMIN+%d", n - 34);
      else
        snprintf (spec, sizeof (spec), "%d", n);
      sig = husk_signal_parse (spec, &err);
      husk_error_free (&err);
      if (sig != n)
        {
          ok (false, "signal %d by name \"%s\" (got %d)", n, spec, sig);
          return;
        }
    }
  ok (true, "SIGRTMIN+0..30 are 34..64");
}

/* husk_mkpath_in_root: the last symlink followed inside the root, what is missing made,
   loops and /proc refused.  */
static void
test_mkpath (void)
{
  char tmpl[] = "/tmp/husk-mkpath-XXXXXX";
  int rootfd, fd;
  struct stat st = { 0 }, want;

  if (mkdtemp (tmpl) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  rootfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  mkdirat (rootfd, "etc", 0755);
  symlinkat ("/usr/share/zoneinfo/Europe/Paris", rootfd, "etc/localtime");
  symlinkat ("../../../../../etc", rootfd, "up");
  symlinkat ("a", rootfd, "b");
  symlinkat ("b", rootfd, "a");
  symlinkat ("/proc/self", rootfd, "p");

  fd = husk_mkpath_in_root (rootfd, "/etc/localtime", HUSK_MKPATH_NONE, true);
  ok (fd == -ENOENT, "a dangling link with nothing to make is ENOENT (%d)", fd);
  ok (faccessat (rootfd, "usr", F_OK, AT_SYMLINK_NOFOLLOW) < 0, "and made nothing");
  fd = husk_mkpath_in_root (rootfd, "/etc/localtime", HUSK_MKPATH_FILE, true);
  ok (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode), "its target is made a file");
  ok (fstatat (rootfd, "usr/share/zoneinfo/Europe/Paris", &want, AT_SYMLINK_NOFOLLOW) == 0
          && fd >= 0 && want.st_ino == st.st_ino,
      "inside the root, at the link's target");
  if (fd >= 0)
    close (fd);
  fd = husk_mkpath_in_root (rootfd, "up/new", HUSK_MKPATH_DIR, true);
  ok (fd >= 0 && fstatat (rootfd, "etc/new", &want, 0) == 0 && S_ISDIR (want.st_mode),
      "a climb out stops at the root");
  if (fd >= 0)
    close (fd);
  ok (husk_mkpath_in_root (rootfd, "a", HUSK_MKPATH_DIR, true) == -ELOOP, "a loop is ELOOP");
  ok (husk_mkpath_in_root (rootfd, "/", HUSK_MKPATH_DIR, true) >= 0, "the root itself");
  close (rootfd);
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ok (husk_mkpath_in_root (rootfd, "/proc/self/fd", HUSK_MKPATH_NONE, true) == -EXDEV,
      "a step onto procfs is EXDEV");
  close (rootfd);
}

/* husk_path_clean: Go's path.Clean, rooted (inside a container) or relative (a context).  */
static void
test_path_clean (void)
{
  static const char *const rooted[][2] = {
    { "", "/" },           { "/", "/" },           { "a/b", "/a/b" },  { "/a//b/./c/", "/a/b/c" },
    { "/..", "/" },        { "/a/../../b", "/b" }, { "a/b/..", "/a" }, { "/a/b/../c/.", "/a/c" },
    { "..a/b", "/..a/b" }, { "/a/...", "/a/..." },
  };
  static const char *const relative[][2] = {
    { "", "." },
    { "/", "." },
    { "./", "." },
    { "/x", "x" },
    { "a//b/./c/", "a/b/c" },
    { "a/b/../c", "a/c" },
    { "a/..", "." },
    { "..", NULL },
    { "a/../..", NULL },
    { "/../x", NULL },
    { "a/..b", "a/..b" },
  };
  for (size_t i = 0; i < sizeof rooted / sizeof rooted[0]; i++)
    {
      char *got = husk_path_clean (rooted[i][0], true);
      is_str (got, rooted[i][1], "path_clean rooted \"%s\"", rooted[i][0]);
      free (got);
    }
  for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++)
    {
      char *got = husk_path_clean (relative[i][0], false);
      is_str (got, relative[i][1], "path_clean relative \"%s\"", relative[i][0]);
      free (got);
    }
}

int
main (void)
{
  test_errors ();
  test_json ();
  test_digest ();
  test_safepath ();
  test_mkpath ();
  test_chmod_nofollow ();
  test_rm_rf_freed ();
  test_util ();
  test_passwd ();
  test_signals ();
  test_path_clean ();
  return tap_done ();
}
