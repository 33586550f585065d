/* Unit tests for runtime/: USER resolution, capability names, seccomp filters.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "diff.h"
#include "seccomp-filter.h"
#include "tap.h"
#include "user.h"
#include "util.h"

static char etc[] = "/tmp/husk-test-etc.XXXXXX";

static void
write_file (const char *name, const char *text)
{
  char path[256];
  FILE *f;
  snprintf (path, sizeof (path), "%s/%s", etc, name);
  f = fopen (path, "we");
  if (f)
    {
      fputs (text, f);
      fclose (f);
    }
}

static void
test_user (void)
{
  struct husk_user u;
  struct husk_error *err = NULL;

  if (mkdtemp (etc) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  write_file ("passwd", "root:x:0:0:root:/root:/bin/sh\n"
                        "# a comment line is skipped\n"
                        "broken line\n"
                        "app:x:1000:1000:app:/home/app:/bin/sh\n"
                        "nohome:x:1001:50:::/bin/sh\n");
  write_file ("group", "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:63:other,app\n"
                       "video:x:44:\n");

  ok (husk_user_resolve (NULL, etc, &u, &err) == 0 && u.uid == 0 && u.gid == 0
          && strcmp (u.home, "/root") == 0,
      "no user is root, home /root");
  ok (husk_user_resolve ("app", etc, &u, &err) == 0 && u.uid == 1000 && u.gid == 1000
          && u.n_groups == 2 && u.groups[0] == 50 && u.groups[1] == 63
          && strcmp (u.home, "/home/app") == 0,
      "a name: ids, home and supplementary groups from passwd and group");
  ok (husk_user_resolve ("1000", etc, &u, &err) == 0 && u.uid == 1000 && u.n_groups == 2,
      "a number with a passwd entry gets its groups");
  ok (husk_user_resolve ("4242", etc, &u, &err) == 0 && u.uid == 4242 && u.gid == 0
          && u.n_groups == 0 && strcmp (u.home, "/") == 0,
      "a number without an entry: gid 0, home /");
  ok (husk_user_resolve ("app:video", etc, &u, &err) == 0 && u.gid == 44,
      "name:group by name");
  ok (husk_user_resolve ("4242:77", etc, &u, &err) == 0 && u.uid == 4242 && u.gid == 77,
      "uid:gid numbers");
  ok (husk_user_resolve ("nohome", etc, &u, &err) == 0 && u.gid == 50
          && strcmp (u.home, "/") == 0,
      "an empty home field becomes /");

  ok (husk_user_resolve ("ghost", etc, &u, &err) < 0 && err
          && strstr (err->msg, "user \"ghost\": no such user") != NULL,
      "an unknown name is an error naming it");
  husk_error_free (&err);
  ok (husk_user_resolve ("app:ghosts", etc, &u, &err) < 0 && err
          && strstr (err->msg, "no such group") != NULL,
      "an unknown group is an error");
  husk_error_free (&err);
  ok (husk_user_resolve ("4294967295", etc, &u, &err) < 0, "the invalid id -1 is not a number");
  husk_error_free (&err);

  {
    char path[256];
    snprintf (path, sizeof (path), "%s/passwd", etc);
    unlink (path);
    snprintf (path, sizeof (path), "%s/group", etc);
    unlink (path);
    rmdir (etc);
  }
  ok (husk_user_resolve ("0:0", etc, &u, &err) == 0 && u.uid == 0,
      "numbers work without /etc/passwd");
  ok (husk_user_resolve ("app", etc, &u, &err) < 0, "names do not");
  husk_error_free (&err);
}

static void
test_caps (void)
{
  struct husk_error *err = NULL;
  uint64_t m = 0;

  ok (husk_caps_default () == UINT64_C (0xa80425fb), "the default set is Docker's");
  ok (husk_caps_parse ("NET_ADMIN", &m, &err) == 0 && m == (UINT64_C (1) << CAP_NET_ADMIN),
      "NET_ADMIN");
  ok (husk_caps_parse ("cap_sys_admin", &m, &err) == 0 && m == (UINT64_C (1) << CAP_SYS_ADMIN),
      "cap_sys_admin, lowercase with prefix");
  ok (husk_caps_parse ("all", &m, &err) == 0 && m == husk_caps_all (), "ALL in any case");
  ok ((husk_caps_all () & husk_caps_default ()) == husk_caps_default (), "ALL covers the default");
  ok (husk_caps_parse ("NOPE", &m, &err) < 0 && strstr (err->msg, "\"NOPE\"") != NULL,
      "an unknown name is an error naming it");
  husk_error_free (&err);
  ok (husk_caps_parse ("", &m, &err) < 0, "the empty name is an error");
  husk_error_free (&err);
}

static void
test_seccomp (void)
{
  struct husk_error *err = NULL;
  struct husk_seccomp_prog p = { 0 }, q = { 0 };
  static const char good[]
      = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\","
        "\"no_such_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"name\":\"personality\","
        "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
        "[\"CAP_SYS_ADMIN\"]}}]}";

  ok (husk_seccomp_build_default (husk_caps_default (), &p, &err) == 0 && p.len > 100,
      "the default filter compiles");
  ok (husk_seccomp_build_default (husk_caps_all (), &q, &err) == 0 && q.len != p.len,
      "CAP_SYS_ADMIN changes the filter");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);
  ok (p.filter == NULL && p.len == 0, "clear empties it");

  ok (husk_seccomp_build_profile (good, strlen (good), husk_caps_default (), &p, &err) == 0
          && p.len > 0,
      "a profile with names, name, args, includes and an unknown syscall compiles");
  husk_seccomp_prog_clear (&p);

#define BAD(json, what, needle)                                                                    \
  do                                                                                               \
    {                                                                                              \
      ok (husk_seccomp_build_profile (json, strlen (json), 0, &p, &err) < 0 && err                 \
              && strstr (err->msg, needle) != NULL,                                                \
          what);                                                                                   \
      if (err)                                                                                     \
        printf ("# %s\n", err->msg);                                                               \
      husk_error_free (&err);                                                                      \
      husk_seccomp_prog_clear (&p);                                                                \
    }                                                                                              \
  while (0)
  BAD ("[1,2]", "not an object", "seccomp profile");
  BAD ("{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "an unknown default action", "SCMP_ACT_NOPE");
  BAD ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}",
       "a rule without an action", "syscalls[0]");
  BAD ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":9,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
       "an argument index past 5", "args[0]");
  BAD ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
       "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_ODD\"}]}]}",
       "an unknown operator", "args[0]");
  BAD ("{\"defaultAction\":", "truncated JSON", "seccomp profile");
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
      if (setxattr (full, type == 'O' && geteuid () == 0 ? "trusted.overlay.opaque"
                                                        : "user.overlay.opaque", "y", 1, 0) < 0)
        printf ("# setxattr %s: %s\n", full, strerror (errno));
      break;
    }
}

static void
test_diff (void)
{
  static const char *const tree[] = {
    /* The base layer.  */
    "dl1", "dl1/etc", "fl1/etc/motd", "fl1/etc/passwd", "fl1/gone", "dl1/dir", "fl1/dir/a",
    "fl1/dir/b", "dl1/dir/sub", "fl1/dir/sub/x", "fl1/wh2", "fl1/keep", "dl1/l1opq",
    "fl1/l1opq/hidden", "dl1/l2dir",
    /* The layer above: a whiteout and an opaque directory of its own.  */
    "dl2", "dl2/etc", "fl2/etc/motd", "wl2/wh2", "dl2/l2dir", "fl2/l2dir/y", "Ol2/l1opq",
    "fl2/l1opq/n",
    /* The container's upper directory.  */
    "dup", "dup/etc", "fup/etc/motd", "wup/gone", "fup/new", "dup/newdir", "fup/newdir/f",
    "oup/dir", "fup/dir/a", "dup/dir/sub", "fup/dir/sub/z", "fup/wh2", "dup/l1opq",
    "fup/l1opq/hidden", "dup/l2dir", "wup/l2dir/ghost",
  };
  static const char *const expected[] = {
    "C /dir", "C /dir/a", "D /dir/b", "C /dir/sub", "D /dir/sub/x", "A /dir/sub/z", "C /etc",
    "C /etc/motd", "D /gone", "C /l1opq", "A /l1opq/hidden", "C /l2dir", "A /new", "A /newdir",
    "A /newdir/f", "A /wh2",
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

  ok (husk_diff_dirs (up, lowers, &v, &n, &err) == 0, "diff: a tree with whiteouts and opaque "
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

int
main (void)
{
  test_user ();
  test_caps ();
  test_seccomp ();
  test_diff ();
  return tap_done ();
}
