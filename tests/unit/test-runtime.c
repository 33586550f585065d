/* Unit tests for runtime/: USER resolution, capability names, seccomp filters.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
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

  /* The program seccomp-gen compiled into husk at build time is what libseccomp compiles now
     for the default capabilities, and what a default run loads.  */
  ok (husk_seccomp_embedded_caps == husk_caps_default (),
      "the embedded program is for the default capabilities");
  ok (husk_seccomp_compile_default (husk_caps_default (), &p, &err) == 0
          && p.len == husk_seccomp_embedded_len
          && memcmp (p.filter, husk_seccomp_embedded, p.len * sizeof (struct sock_filter)) == 0,
      "the embedded default program equals libseccomp's at run time (%zu instructions)",
      husk_seccomp_embedded_len);
  husk_seccomp_prog_clear (&p);
  ok (husk_seccomp_build_default (husk_caps_default () | (UINT64_C (1) << CAP_NET_ADMIN), &p,
                                  &err)
              == 0
          && husk_seccomp_compile_default (husk_caps_default () | (UINT64_C (1) << CAP_NET_ADMIN),
                                           &q, &err)
                 == 0
          && p.len == q.len && memcmp (p.filter, q.filter, p.len * sizeof (struct sock_filter)) == 0,
      "a capability the profile ignores (CAP_NET_ADMIN) gets the same program");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);
  ok (husk_seccomp_build_default (husk_caps_default () | (UINT64_C (1) << CAP_SYS_PTRACE), &p,
                                  &err)
              == 0
          && husk_seccomp_compile_default (husk_caps_default () | (UINT64_C (1) << CAP_SYS_PTRACE),
                                           &q, &err)
                 == 0
          && p.len == q.len && p.len != husk_seccomp_embedded_len
          && memcmp (p.filter, q.filter, p.len * sizeof (struct sock_filter)) == 0,
      "CAP_SYS_PTRACE, which the profile looks at, gets a program compiled at run time");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);

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

int
main (void)
{
  test_user ();
  test_caps ();
  test_seccomp ();
  return tap_done ();
}
