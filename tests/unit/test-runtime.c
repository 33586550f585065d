/* Unit tests for runtime/: USER resolution, capability names, seccomp filters, the stdio relay,
   processes by pid and start time, OCI hooks.  Linked with runtime/ and lib/ alone (Makefile.am).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "container.h"
#include "hooks.h"
#include "json.h"
#include "jsonmap.h"
#include "proc.h"
#include "relay.h"
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
  snprintf (path, sizeof (path), "%s/etc/%s", etc, name);
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
  int root;

  if (mkdtemp (etc) == NULL)
    {
      ok (0, "mkdtemp");
      return;
    }
  {
    char path[256];
    snprintf (path, sizeof (path), "%s/etc", etc);
    mkdir (path, 0755);
  }
  root = open (etc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  write_file ("passwd", "root:x:0:0:root:/root:/bin/sh\n"
                        "# a comment line is skipped\n"
                        "broken line\n"
                        "app:x:1000:1000:app:/home/app:/bin/sh\n"
                        "nohome:x:1001:50:::/bin/sh\n");
  write_file ("group", "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:63:other,app\n"
                       "video:x:44:\n");

  ok (husk_user_resolve (NULL, root, &u, &err) == 0 && u.uid == 0 && u.gid == 0
          && strcmp (u.home, "/root") == 0,
      "no user is root, home /root");
  ok (husk_user_resolve ("app", root, &u, &err) == 0 && u.uid == 1000 && u.gid == 1000
          && u.n_groups == 2 && u.groups[0] == 50 && u.groups[1] == 63
          && strcmp (u.home, "/home/app") == 0,
      "a name: ids, home and supplementary groups from passwd and group");
  ok (husk_user_resolve ("1000", root, &u, &err) == 0 && u.uid == 1000 && u.n_groups == 2,
      "a number with a passwd entry gets its groups");
  ok (husk_user_resolve ("4242", root, &u, &err) == 0 && u.uid == 4242 && u.gid == 0
          && u.n_groups == 0 && strcmp (u.home, "/") == 0,
      "a number without an entry: gid 0, home /");
  ok (husk_user_resolve ("app:video", root, &u, &err) == 0 && u.gid == 44, "name:group by name");
  ok (husk_user_resolve ("4242:77", root, &u, &err) == 0 && u.uid == 4242 && u.gid == 77,
      "uid:gid numbers");
  ok (husk_user_resolve ("nohome", root, &u, &err) == 0 && u.gid == 50 && strcmp (u.home, "/") == 0,
      "an empty home field becomes /");

  ok (husk_user_resolve ("ghost", root, &u, &err) < 0 && err
          && strstr (err->msg, "user \"ghost\": no such user") != NULL,
      "an unknown name is an error naming it");
  husk_error_free (&err);
  ok (husk_user_resolve ("app:ghosts", root, &u, &err) < 0 && err
          && strstr (err->msg, "no such group") != NULL,
      "an unknown group is an error");
  husk_error_free (&err);
  ok (husk_user_resolve ("4294967295", root, &u, &err) < 0, "the invalid id -1 is not a number");
  husk_error_free (&err);

  {
    /* Hostile images: a FIFO must not block the reader, and a symlink out of the root stays
       inside it.  */
    char path[256], host[256];
    snprintf (path, sizeof (path), "%s/etc/group", etc);
    unlink (path);
    mkfifo (path, 0644);
    ok (husk_user_resolve ("app", root, &u, &err) < 0 && err
            && strstr (err->msg, "not a regular file") != NULL,
        "a FIFO as /etc/group is refused without blocking");
    husk_error_free (&err);
    unlink (path);
    snprintf (path, sizeof (path), "%s/etc/passwd", etc);
    snprintf (host, sizeof (host), "%s.passwd", etc);
    rename (path, host);
    symlink ("../../../../../../../../../../..", path);
    ok (husk_user_resolve ("root", root, &u, &err) < 0 && err
            && strstr (err->msg, "no such user") == NULL,
        "a symlink from /etc/passwd up and out stays in the root");
    husk_error_free (&err);
    unlink (path);
    symlink (host, path);
    ok (husk_user_resolve ("app", root, &u, &err) < 0 && err
            && strstr (err->msg, "no such user") != NULL,
        "an absolute symlink to a host file is resolved inside the root");
    husk_error_free (&err);
    unlink (path);
    unlink (host);
  }

  {
    char path[256];
    snprintf (path, sizeof (path), "%s/etc", etc);
    rmdir (path);
    rmdir (etc);
  }
  ok (husk_user_resolve ("0:0", root, &u, &err) == 0 && u.uid == 0,
      "numbers work without /etc/passwd");
  ok (husk_user_resolve ("app", root, &u, &err) < 0, "names do not");
  husk_error_free (&err);
  close (root);
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
        "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}"
        ","
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
  ok (husk_seccomp_build_default (husk_caps_default () | (UINT64_C (1) << CAP_NET_ADMIN), &p, &err)
              == 0
          && husk_seccomp_compile_default (husk_caps_default () | (UINT64_C (1) << CAP_NET_ADMIN),
                                           &q, &err)
                 == 0
          && p.len == q.len
          && memcmp (p.filter, q.filter, p.len * sizeof (struct sock_filter)) == 0,
      "a capability the profile ignores (CAP_NET_ADMIN) gets the same program");
  husk_seccomp_prog_clear (&p);
  husk_seccomp_prog_clear (&q);
  ok (husk_seccomp_build_default (husk_caps_default () | (UINT64_C (1) << CAP_SYS_PTRACE), &p, &err)
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

/* In a child (fds 0-2 are the test's to change there): 0 when the relay behaved.  MODE 0: no
   terminal on stdio, nothing to relay.  MODE 1: a pseudo-terminal on fds 0-2, a "container"
   writing to both pipes; its output reaches the terminal apart, its status stays its own, the
   terminal's modes are untouched.  MODE 2: the "container" exits at once but leaves a process
   holding its stdout: the relay gives up after HUSK_RELAY_DRAIN_MS.  */
static int
relay_case (int mode, int master, const char *slave_name)
{
  struct husk_relay r = HUSK_RELAY_INIT;
  struct husk_error *err = NULL;
  struct termios before, after;
  struct stat st;
  struct timespec t0, t1;
  int fd, status;
  pid_t pid;

  fd = mode == 0 ? open ("/dev/null", O_RDWR) : open (slave_name, O_RDWR);
  if (fd < 0 || dup2 (fd, 0) < 0 || dup2 (fd, 1) < 0 || dup2 (fd, 2) < 0)
    return 10;
  if (mode != 0)
    close (master);
  if (husk_relay_open (&r, false, &err) < 0)
    return 11;
  if (mode == 0)
    return husk_relay_active (&r) || r.child[0] != -1 || r.child[1] != -1 ? 12 : 0;
  /* Without -i, stdin is not relayed; stdout and stderr are pipes above stdio.  */
  if (r.child[0] != -1 || r.mine[0] != -1 || r.child[1] < 3 || r.child[2] < 3
      || fstat (r.child[1], &st) < 0 || !S_ISFIFO (st.st_mode))
    return 13;
  tcgetattr (0, &before);
  pid = fork ();
  if (pid == 0)
    {
      husk_relay_child_stdio (r.child, &err);
      if (isatty (1) || isatty (2))
        _exit (20);
      if (mode == 2 && fork () == 0)
        {
          sleep (HUSK_RELAY_DRAIN_MS / 1000 + 4);
          _exit (0);
        }
      if (mode == 1)
        {
          (void) !write (1, "to-out\n", 7);
          (void) !write (2, "to-err\n", 7);
        }
      _exit (5);
    }
  husk_relay_close_child (&r);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  if (husk_relay_run (&r, pid, &err) < 0)
    return 14;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 5)
    return 15;
  tcgetattr (0, &after);
  if (before.c_lflag != after.c_lflag)
    return 16;
  if (mode == 2
      && (t1.tv_sec - t0.tv_sec < HUSK_RELAY_DRAIN_MS / 1000 - 1
          || t1.tv_sec - t0.tv_sec > HUSK_RELAY_DRAIN_MS / 1000 + 3))
    return 17;
  return 0;
}

static int
relay_run_case (int mode, char *out, size_t size)
{
  int master, status;
  size_t len = 0;
  pid_t pid;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0)
    return -1;
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    _exit (relay_case (mode, master, ptsname (master)));
  if (waitpid (pid, &status, 0) != pid)
    return -1;
  /* The child and its children are gone: read what reached the terminal, without waiting
     (in mode 0 the slave was never opened, and a read would block).  */
  fcntl (master, F_SETFL, O_NONBLOCK);
  for (;;)
    {
      ssize_t n;
      if (len + 1 >= size)
        break;
      n = read (master, out + len, size - 1 - len);
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  out[len] = '\0';
  close (master);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 100 + WTERMSIG (status);
}

static void
test_relay (void)
{
  char out[4096];
  int r;

  r = relay_run_case (0, out, sizeof (out));
  ok (r == 0, "relay: no terminal on stdio, no pipes (got %d)", r);
  r = relay_run_case (1, out, sizeof (out));
  ok (r == 0, "relay: a terminal on stdio becomes pipes, the status and modes stay (got %d)", r);
  ok (strstr (out, "to-out") && strstr (out, "to-err"),
      "relay: stdout and stderr reach the terminal");
  r = relay_run_case (2, out, sizeof (out));
  ok (r == 0, "relay: a process left holding stdout does not hold the relay (got %d)", r);
}

/* husk_proc_alive: a process that has exited is gone even while it is a zombie nobody has
   reaped yet (a monitor re-parented to a pid 1 that reaps slowly); a pid whose start time
   differs is another process.  */
static void
test_proc_alive (void)
{
  int p[2];
  pid_t pid;
  uint64_t start;
  char path[64], buf[512];
  bool zombie = false;

  if (pipe (p) < 0)
    {
      ok (false, "pipe: %s", strerror (errno));
      return;
    }
  pid = fork ();
  if (pid == 0)
    {
      char c;
      close (p[1]);
      (void) !read (p[0], &c, 1);
      _exit (0);
    }
  close (p[0]);
  start = husk_proc_start_time (pid);
  ok (start != 0 && husk_proc_alive (pid, start), "a running child is alive");
  ok (!husk_proc_alive (pid, start + 1), "another start time is another process");
  close (p[1]); /* The child exits; it stays a zombie until waited for.  */
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  for (int i = 0; i < 2000 && !zombie; i++)
    {
      FILE *f = fopen (path, "re");
      char *rp;
      if (f && fgets (buf, sizeof (buf), f) && (rp = strrchr (buf, ')')) && rp[1] == ' '
          && rp[2] == 'Z')
        zombie = true;
      if (f)
        fclose (f);
      if (!zombie)
        usleep (1000);
    }
  ok (zombie, "the child became a zombie");
  ok (!husk_proc_alive (pid, start), "a zombie is not alive");
  ok (husk_proc_pidfd (pid, start) < 0 && errno == ESRCH, "no pidfd is handed out for a zombie");
  waitpid (pid, NULL, 0);
  ok (!husk_proc_alive (pid, start), "a reaped child is not alive");
}

/* ---------------------------------------------------------------- OCI hooks (hooks.h)  */

static char hookdir[] = "/var/tmp/husk-test-hooks.XXXXXX";
static bool hookdir_made;

/* hook.sh PHASE LOG [STATUS]: appends "PHASE STDIN MNTNS USERNS" to LOG, then exits with STATUS.
   sleep.sh PIDFILE: starts a sleep in the background (its pid to PIDFILE) and sleeps.
   env.sh LOG: appends its argv[0] and its whole environment to LOG.  */
static void
hook_scripts (void)
{
  static const char *const scripts[][2] = {
    { "hook.sh", "#!/bin/sh\n"
                 "in=$(cat)\n"
                 "printf '%s %s %s %s\\n' \"$1\" \"$in\" \"$(readlink /proc/self/ns/mnt)\" "
                 "\"$(readlink /proc/self/ns/user)\" >>\"$2\"\n"
                 "exit ${3:-0}\n" },
    { "sleep.sh", "#!/bin/sh\nsleep 30 &\necho $! >\"$1\"\nsleep 30\n" },
    { "env.sh", "#!/bin/sh\n{ echo \"$0\"; env | sort; } >>\"$1\"\n" },
    { "size.sh", "#!/bin/sh\nwc -c >>\"$1\"\n" },
  };

  for (size_t i = 0; i < sizeof (scripts) / sizeof (scripts[0]); i++)
    {
      char path[256];
      FILE *f;
      snprintf (path, sizeof (path), "%s/%s", hookdir, scripts[i][0]);
      f = fopen (path, "we");
      if (f)
        {
          fputs (scripts[i][1], f);
          fclose (f);
        }
      chmod (path, 0755);
    }
}

/* The whole of hookdir/NAME (empty when missing), in BUF.  */
static const char *
hook_read (const char *name, char *buf, size_t size)
{
  char path[256];
  int fd;
  ssize_t n = 0;

  snprintf (path, sizeof (path), "%s/%s", hookdir, name);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      n = husk_read_all (fd, buf, size - 1);
      close (fd);
    }
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

static void
hook_unlink (const char *name)
{
  char path[256];
  snprintf (path, sizeof (path), "%s/%s", hookdir, name);
  unlink (path);
}

/* A struct husk_hook of hookdir/SCRIPT with up to three arguments (NULL ends them); HOOK
   owns nothing but its vectors.  */
static void
hook_make (struct husk_hook *h, const char *script, const char *a1, const char *a2, const char *a3)
{
  char path[256];
  const char *args[] = { a1, a2, a3 };

  memset (h, 0, sizeof (*h));
  snprintf (path, sizeof (path), "%s/%s", hookdir, script);
  h->path = husk_xstrdup (path);
  husk_strv_append (&h->args, script);
  for (size_t i = 0; i < 3 && args[i]; i++)
    husk_strv_append (&h->args, args[i]);
  husk_strv_append (&h->env, "PATH=/usr/local/bin:/usr/bin:/bin");
}

static void
hook_clear (struct husk_hook *h)
{
  free (h->path);
  husk_strv_free (h->args);
  husk_strv_free (h->env);
  memset (h, 0, sizeof (*h));
}

static void
collect_warning (void *arg, const char *msg)
{
  char ***v = arg;
  husk_strv_append (v, msg);
}

/* Whether PID is gone: no such process, or one that is only waiting to be reaped.  */
static bool
pid_gone (pid_t pid)
{
  for (int i = 0; i < 500; i++)
    {
      char path[64], buf[512], *rp;
      FILE *f;
      bool zombie = false;
      snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
      f = fopen (path, "re");
      if (f == NULL)
        return true;
      if (fgets (buf, sizeof (buf), f) && (rp = strrchr (buf, ')')) && rp[1] == ' ' && rp[2] == 'Z')
        zombie = true;
      fclose (f);
      if (zombie)
        return true;
      usleep (10000);
    }
  return false;
}

/* Containers with hooks, as root: an overlay of the host's "/" (of /usr with USERNS), hookdir
   bound on /hk.  With USERNS, in a user namespace of its own (root mapped to itself: husk's
   rootless path, without needing a subordinate range).  */
struct hook_line
{
  char phase[32], mnt[64], user[64];
  husk_json *state;
};

/* The lines hook.sh appended to hookdir/log: "PHASE STATE MNTNS USERNS".  Returns how many
   (at most MAX).  */
static size_t
hook_lines (struct hook_line *lines, size_t max)
{
  static char buf[65536];
  size_t n = 0;
  char *save = NULL;

  hook_read ("log", buf, sizeof (buf));
  for (char *l = strtok_r (buf, "\n", &save); l && n < max; l = strtok_r (NULL, "\n", &save))
    {
      char json[4096];
      struct husk_error *err = NULL;
      if (sscanf (l, "%31s %4095s %63s %63s", lines[n].phase, json, lines[n].mnt, lines[n].user)
          != 4)
        continue;
      lines[n].state = husk_json_parse (json, strlen (json), &err);
      husk_error_free (&err);
      n++;
    }
  return n;
}

/* On a failure, hookdir/log as TAP comments.  */
static void
hook_log_diag (bool failed)
{
  static char buf[65536];
  char *save = NULL;

  if (!failed)
    return;
  hook_read ("log", buf, sizeof (buf));
  for (char *l = strtok_r (buf, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    printf ("#   %s\n", l);
}

static void
hook_lines_clear (struct hook_line *lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      husk_json_free (lines[i].state);
      lines[i].state = NULL;
    }
}

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

static int64_t
state_pid (const struct hook_line *l)
{
  int64_t v = 0;
  if (!husk_json_int64 (husk_json_get (l->state, "pid"), &v))
    return 0;
  return v;
}

static int
record_pid (void *arg, pid_t pid)
{
  *(pid_t *) arg = pid;
  return 0;
}

struct hook_ctr
{
  char ovl[64];
  char upper[96], work[96], rootfs[96], log[256], hk_log[32];
  char *lower[2], *args[4], *env[2], *ann[3];
  struct husk_mount mount;
  struct husk_idmap map;
  struct husk_hook list[HUSK_N_HOOK_PHASES];
  struct husk_hooks hooks;
  struct husk_container_spec spec;
  char **warnings;
};

static bool
hook_ctr_setup (struct hook_ctr *c, bool userns)
{
  memset (c, 0, sizeof (*c));
  snprintf (c->ovl, sizeof (c->ovl), "/tmp/husk-test-hooks-ovl.XXXXXX");
  if (mkdtemp (c->ovl) == NULL)
    return false;
  snprintf (c->upper, sizeof (c->upper), "%s/upper", c->ovl);
  snprintf (c->work, sizeof (c->work), "%s/work", c->ovl);
  snprintf (c->rootfs, sizeof (c->rootfs), "%s/rootfs", c->ovl);
  mkdir (c->upper, 0755);
  mkdir (c->work, 0755);
  mkdir (c->rootfs, 0755);
  snprintf (c->log, sizeof (c->log), "%s/log", hookdir);
  snprintf (c->hk_log, sizeof (c->hk_log), "/hk/log");
  /* In a user namespace overlayfs refuses a lower layer with mounts below it (they are locked
     in the namespace's copy of the mount table): there, /usr alone (with /bin, /lib and /lib64
     merged into it) is the container's "/".  */
  c->lower[0] = (char *) (userns ? "/usr" : "/");
  c->args[0] = (char *) "/bin/sh";
  c->args[1] = (char *) "-c";
  c->args[2] = (char *) "{ readlink /proc/self/ns/mnt; readlink /proc/self/ns/user; } >/hk/prog";
  c->env[0] = (char *) "PATH=/usr/bin:/bin";
  c->ann[0] = (char *) "org.example.hooks";
  c->ann[1] = (char *) "yes";
  c->mount = (struct husk_mount){ .kind = HUSK_MOUNT_BIND, .source = hookdir, .dest = "/hk" };
  c->map = (struct husk_idmap){ .n_uids = 1, .n_gids = 1 };
  c->map.uids[0] = (struct husk_idrange){ 0, 0, 1 };
  c->map.gids[0] = (struct husk_idrange){ 0, 0, 1 };

  hook_make (&c->list[HUSK_HOOK_PRESTART], "hook.sh", "prestart", c->log, NULL);
  hook_make (&c->list[HUSK_HOOK_CREATE_RUNTIME], "hook.sh", "createRuntime", c->log, NULL);
  hook_make (&c->list[HUSK_HOOK_CREATE_CONTAINER], "hook.sh", "createContainer", c->log, NULL);
  /* Resolved in the container: /hk is not on the host.  */
  hook_make (&c->list[HUSK_HOOK_START_CONTAINER], "hook.sh", "startContainer", c->hk_log, NULL);
  free (c->list[HUSK_HOOK_START_CONTAINER].path);
  c->list[HUSK_HOOK_START_CONTAINER].path = husk_xstrdup ("/hk/hook.sh");
  hook_make (&c->list[HUSK_HOOK_POSTSTART], "hook.sh", "poststart", c->log, NULL);
  hook_make (&c->list[HUSK_HOOK_POSTSTOP], "hook.sh", "poststop", c->log, NULL);
  for (int p = 0; p < HUSK_N_HOOK_PHASES; p++)
    {
      c->hooks.list[p] = &c->list[p];
      c->hooks.n[p] = 1;
    }
  c->hooks.warn = collect_warning;
  c->hooks.warn_arg = &c->warnings;

  c->spec = (struct husk_container_spec){
    .lowerdirs = c->lower,
    .upperdir = c->upper,
    .workdir = c->work,
    .rootfs = c->rootfs,
    .args = c->args,
    .env = c->env,
    .cwd = "/",
    .hostname = "hooks",
    .idmap = userns ? &c->map : NULL,
    .mounts = &c->mount,
    .n_mounts = 1,
    .network = HUSK_NETWORK_NONE,
    .hooks = &c->hooks,
    .id = "hooktest",
    .bundle = "/var/lib/husk-test/bundle",
    .annotations = c->ann,
  };
  hook_unlink ("log");
  hook_unlink ("prog");
  return true;
}

static void
hook_ctr_clear (struct hook_ctr *c)
{
  struct husk_error *err = NULL;

  for (int p = 0; p < HUSK_N_HOOK_PHASES; p++)
    hook_clear (&c->list[p]);
  husk_strv_free (c->warnings);
  c->warnings = NULL;
  if (c->ovl[0] && husk_rm_rf_at (AT_FDCWD, c->ovl, &err) < 0)
    printf ("# remove %s: %s\n", c->ovl, err->msg);
  husk_error_free (&err);
}

static void
test_hook_container (bool userns)
{
  static const char *const phases[] = { "prestart",       "createRuntime", "createContainer",
                                        "startContainer", "poststart",     "poststop" };
  static const char *const statuses[]
      = { "creating", "creating", "creating", "created", "running", "stopped" };
  const char *how = userns ? "hooks (user namespace)" : "hooks";
  struct hook_ctr c;
  struct hook_line lines[8] = { 0 };
  struct husk_error *err = NULL;
  char own_mnt[64] = "", own_user[64] = "", ctr_mnt[64] = "", ctr_user[64] = "";
  char buf[4096], expect[512];
  pid_t pid = 0;
  int status = -1, r;
  size_t n;

  if (getuid () != 0)
    {
      printf ("ok %d - # SKIP %s: containers need root here\n", ++tap_n, how);
      return;
    }
  if (!hookdir_made)
    {
      ok (0, "%s: no directory for the hooks", how);
      return;
    }
  r = (int) readlink ("/bin", buf, sizeof (buf) - 1);
  buf[r > 0 ? r : 0] = '\0';
  if (userns && strcmp (buf, "usr/bin") != 0 && strcmp (buf, "/usr/bin") != 0)
    {
      printf ("ok %d - # SKIP %s: /bin is not merged into /usr\n", ++tap_n, how);
      return;
    }
  if (!hook_ctr_setup (&c, userns))
    {
      ok (0, "%s: mkdtemp: %s", how, strerror (errno));
      return;
    }
  r = (int) readlink ("/proc/self/ns/mnt", own_mnt, sizeof (own_mnt) - 1);
  own_mnt[r > 0 ? r : 0] = '\0';
  r = (int) readlink ("/proc/self/ns/user", own_user, sizeof (own_user) - 1);
  own_user[r > 0 ? r : 0] = '\0';

  /* Every phase, once, in order, each with the state the spec gives it.  */
  fflush (stdout);
  r = husk_container_run (&c.spec, record_pid, &pid, &status, &err);
  ok (r == 0 && status == 0, "%s: the container runs (%s, status %d)", how,
      err ? err->msg : "no error", status);
  husk_error_free (&err);
  sscanf (hook_read ("prog", buf, sizeof (buf)), "%63s %63s", ctr_mnt, ctr_user);
  n = hook_lines (lines, 8);
  ok (n == 6, "%s: six hooks ran (%zu)", how, n);
  hook_log_diag (n != 6);
  for (size_t i = 0; i < n && i < 6; i++)
    {
      const char *st = husk_json_get_string (lines[i].state, "status");
      const husk_json *ann = husk_json_get (lines[i].state, "annotations");
      bool in_ctr = i == 2 || i == 3;
      is_str (lines[i].phase, phases[i], "%s: hook %zu is %s", how, i, phases[i]);
      is_str (st, statuses[i], "%s: %s's state says %s", how, phases[i], statuses[i]);
      ok (husk_json_get_string (lines[i].state, "ociVersion")
              && strcmp (or_empty (husk_json_get_string (lines[i].state, "id")), "hooktest") == 0
              && strcmp (or_empty (husk_json_get_string (lines[i].state, "bundle")),
                         "/var/lib/husk-test/bundle")
                     == 0
              && strcmp (or_empty (husk_json_get_string (ann, "org.example.hooks")), "yes") == 0,
          "%s: %s's state has ociVersion, the id, the bundle and the annotations", how, phases[i]);
      if (i < 5)
        ok (pid > 0 && state_pid (&lines[i]) == pid,
            "%s: %s's state names the container's pid %d (got %lld)", how, phases[i], (int) pid,
            (long long) state_pid (&lines[i]));
      else
        ok (state_pid (&lines[i]) == 0, "%s: poststop's state has no pid", how);
      if (in_ctr)
        ok (*ctr_mnt && strcmp (lines[i].mnt, ctr_mnt) == 0 && strcmp (lines[i].mnt, own_mnt) != 0
                && strcmp (lines[i].user, ctr_user) == 0,
            "%s: %s runs in the container's namespaces (%s %s; the container %s %s)", how,
            phases[i], lines[i].mnt, lines[i].user, ctr_mnt, ctr_user);
      else
        ok (strcmp (lines[i].mnt, own_mnt) == 0 && strcmp (lines[i].user, own_user) == 0,
            "%s: %s runs in husk's namespaces (%s %s)", how, phases[i], lines[i].mnt,
            lines[i].user);
    }
  ok (*ctr_user && (strcmp (ctr_user, own_user) != 0) == userns,
      "%s: the container has a user namespace exactly when asked", how);
  ok (husk_strv_len (c.warnings) == 0, "%s: no warnings", how);
  hook_lines_clear (lines, n);
  hook_ctr_clear (&c);

  /* A failing createRuntime hook fails the spawn, names itself, and the container is gone;
     nothing later runs.  */
  if (!hook_ctr_setup (&c, userns))
    return;
  {
    struct husk_container_proc proc = { .pid = -1 };
    husk_strv_free (c.list[HUSK_HOOK_CREATE_RUNTIME].args);
    c.list[HUSK_HOOK_CREATE_RUNTIME].args = NULL;
    husk_strv_append (&c.list[HUSK_HOOK_CREATE_RUNTIME].args, "hook.sh");
    husk_strv_append (&c.list[HUSK_HOOK_CREATE_RUNTIME].args, "createRuntime");
    husk_strv_append (&c.list[HUSK_HOOK_CREATE_RUNTIME].args, c.log);
    husk_strv_append (&c.list[HUSK_HOOK_CREATE_RUNTIME].args, "3");
    fflush (stdout);
    r = husk_container_spawn (&c.spec, NULL, &proc, &err);
    snprintf (expect, sizeof (expect), "createRuntime hook \"%s/hook.sh\": exited with status 3",
              hookdir);
    ok (r < 0 && err && err->status == 125 && proc.pid == -1,
        "%s: a failed createRuntime hook fails the spawn with status 125", how);
    is_str (err ? err->msg : NULL, expect, "%s: the error names the hook and its status", how);
    husk_error_free (&err);
    n = hook_lines (lines, 8);
    ok (n == 2 && strcmp (lines[0].phase, "prestart") == 0
            && strcmp (lines[1].phase, "createRuntime") == 0,
        "%s: nothing runs after the failed hook", how);
    hook_log_diag (n != 2);
    pid = n == 2 ? (pid_t) state_pid (&lines[1]) : 0;
    ok (pid > 0 && waitpid (pid, NULL, WNOHANG) < 0 && errno == ECHILD && kill (pid, 0) < 0
            && errno == ESRCH,
        "%s: the container's process (%d) is gone, reaped", how, (int) pid);
    hook_lines_clear (lines, n);
  }
  hook_ctr_clear (&c);

  /* A createContainer hook that outlives its timeout is killed, and fails the spawn.  */
  if (!hook_ctr_setup (&c, userns))
    return;
  {
    struct husk_container_proc proc = { .pid = -1 };
    struct husk_hook *h = &c.list[HUSK_HOOK_CREATE_CONTAINER];
    struct timespec t0, t1;
    husk_strv_free (h->args);
    h->args = NULL;
    husk_strv_append (&h->args, "sh");
    husk_strv_append (&h->args, "-c");
    husk_strv_append (&h->args, "cat >/dev/null; sleep 30");
    free (h->path);
    h->path = husk_xstrdup ("/bin/sh");
    h->timeout = 1;
    fflush (stdout);
    clock_gettime (CLOCK_MONOTONIC, &t0);
    r = husk_container_spawn (&c.spec, NULL, &proc, &err);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    ok (r < 0 && err && err->status == 125 && t1.tv_sec - t0.tv_sec < 10,
        "%s: a createContainer hook past its timeout fails the spawn, in time", how);
    is_str (err ? err->msg : NULL, "createContainer hook \"/bin/sh\": timed out after 1 s, killed",
            "%s: the timeout is reported", how);
    husk_error_free (&err);
    n = hook_lines (lines, 8);
    pid = n == 2 ? (pid_t) state_pid (&lines[1]) : 0;
    ok (pid > 0 && waitpid (pid, NULL, WNOHANG) < 0 && errno == ECHILD && kill (pid, 0) < 0
            && errno == ESRCH,
        "%s: the container's process (%d) is gone after a hook's timeout", how, (int) pid);
    hook_lines_clear (lines, n);
  }
  hook_ctr_clear (&c);

  /* A failed startContainer hook fails the start; poststop still runs (runtime.md
     "Lifecycle").  A failed poststart hook is a warning: the container runs on.  */
  if (!hook_ctr_setup (&c, userns))
    return;
  husk_strv_append (&c.list[HUSK_HOOK_START_CONTAINER].args, "2");
  fflush (stdout);
  r = husk_container_run (&c.spec, NULL, NULL, &status, &err);
  ok (r < 0 && err && err->status == 125
          && strcmp (err->msg, "startContainer hook \"/hk/hook.sh\": exited with status 2") == 0,
      "%s: a failed startContainer hook fails the start (%s)", how, err ? err->msg : "no error");
  husk_error_free (&err);
  hook_read ("log", buf, sizeof (buf));
  hook_read ("prog", expect, sizeof (expect));
  {
    bool good = strstr (buf, "\nstartContainer ") && !strstr (buf, "poststart ")
                && strstr (buf, "poststop ") && expect[0] == '\0';
    ok (good, "%s: the program never ran, poststop did", how);
    hook_log_diag (!good);
  }
  hook_ctr_clear (&c);

  if (!hook_ctr_setup (&c, userns))
    return;
  husk_strv_append (&c.list[HUSK_HOOK_POSTSTART].args, "1");
  fflush (stdout);
  r = husk_container_run (&c.spec, NULL, NULL, &status, &err);
  ok (r == 0 && status == 0, "%s: a failed poststart hook does not fail the run (%s)", how,
      err ? err->msg : "no error");
  husk_error_free (&err);
  snprintf (expect, sizeof (expect), "poststart hook \"%s/hook.sh\": exited with status 1",
            hookdir);
  ok (husk_strv_len (c.warnings) == 1, "%s: one warning", how);
  is_str (c.warnings ? c.warnings[0] : NULL, expect, "%s: the warning names the hook", how);
  ok (strstr (hook_read ("log", buf, sizeof (buf)), "poststop ") != NULL,
      "%s: poststop runs after a failed poststart", how);
  hook_ctr_clear (&c);
}

static void
hook_cleanup (void)
{
  struct husk_error *err = NULL;

  if (hookdir_made && husk_rm_rf_at (AT_FDCWD, hookdir, &err) < 0)
    printf ("# remove %s: %s\n", hookdir, err->msg);
  husk_error_free (&err);
}

static void
test_hook_state (void)
{
  char *ann[] = { "org.example.k", "v 1", "b", "", NULL };
  struct husk_oci_state st
      = { .id = "c1", .status = HUSK_OCI_CREATING, .pid = 42, .bundle = "/b", .annotations = ann };
  cleanup_free char *json = NULL, *json2 = NULL;
  size_t len;

  json = husk_oci_state_json (&st, &len);
  is_str (json,
          "{\"ociVersion\":\"" HUSK_OCI_VERSION "\",\"id\":\"c1\",\"status\":\"creating\","
          "\"pid\":42,\"bundle\":\"/b\",\"annotations\":{\"org.example.k\":\"v 1\",\"b\":\"\"}}",
          "hooks: the state as runtime.md \"State\" has it");
  ok (len == strlen (json), "hooks: the state's length");
  st = (struct husk_oci_state){ .status = HUSK_OCI_STOPPED };
  json2 = husk_oci_state_json (&st, &len);
  is_str (json2,
          "{\"ociVersion\":\"" HUSK_OCI_VERSION "\",\"id\":\"\",\"status\":\"stopped\","
          "\"bundle\":\"\"}",
          "hooks: no pid and no annotations are left out; id and bundle are always there");
}

static void
test_hook_decode (void)
{
  static const char doc[]
      = "{\"prestart\":[{\"path\":\"/usr/libexec/"
        "husk-test-hook\",\"args\":[\"husk-test-hook\",\"a\"],"
        "\"env\":[\"K=v\"]}],\"createRuntime\":[{\"path\":\"/a\"},{\"path\":\"/b\",\"timeout\":5}],"
        "\"poststop\":[{\"path\":\"/c\"}]}";
  static const char nopath[] = "{\"poststart\":[{\"args\":[\"x\"]}]}";
  struct husk_hooks h = { 0 };
  struct husk_error *err = NULL;

  ok (husk_jsonmap_parse (doc, strlen (doc), husk_hooks_fields, &h, &err) == 0,
      "hooks: config.json's \"hooks\" decodes");
  ok (h.n[HUSK_HOOK_PRESTART] == 1 && h.n[HUSK_HOOK_CREATE_RUNTIME] == 2
          && h.n[HUSK_HOOK_CREATE_CONTAINER] == 0 && h.n[HUSK_HOOK_START_CONTAINER] == 0
          && h.n[HUSK_HOOK_POSTSTART] == 0 && h.n[HUSK_HOOK_POSTSTOP] == 1,
      "hooks: each phase gets its own list");
  ok (h.n[HUSK_HOOK_PRESTART] == 1
          && strcmp (h.list[HUSK_HOOK_PRESTART][0].path, "/usr/libexec/husk-test-hook") == 0
          && husk_strv_len (h.list[HUSK_HOOK_PRESTART][0].args) == 2
          && strcmp (h.list[HUSK_HOOK_PRESTART][0].env[0], "K=v") == 0
          && h.n[HUSK_HOOK_CREATE_RUNTIME] == 2 && h.list[HUSK_HOOK_CREATE_RUNTIME][0].timeout == 0
          && h.list[HUSK_HOOK_CREATE_RUNTIME][1].timeout == 5,
      "hooks: path, args, env and timeout");
  husk_jsonmap_clear (husk_hooks_fields, &h);
  ok (husk_jsonmap_parse (nopath, strlen (nopath), husk_hooks_fields, &h, &err) < 0 && err
          && strstr (err->msg, "poststart[0].path") != NULL,
      "hooks: a hook without a path is refused, naming it");
  husk_error_free (&err);
}

static void
test_hook_run (void)
{
  static const char state[] = "{\"ociVersion\":\"1.2.0\",\"id\":\"x\"}";
  struct husk_error *err = NULL;
  struct husk_hook h;
  char buf[8192], log[256], mnt[128], user[128], expect[512];
  int r;

  if (mkdtemp (hookdir) == NULL)
    {
      ok (0, "mkdtemp %s: %s", hookdir, strerror (errno));
      return;
    }
  hookdir_made = true;
  hook_scripts ();
  snprintf (log, sizeof (log), "%s/log", hookdir);
  r = (int) readlink ("/proc/self/ns/mnt", mnt, sizeof (mnt) - 1);
  mnt[r > 0 ? r : 0] = '\0';
  r = (int) readlink ("/proc/self/ns/user", user, sizeof (user) - 1);
  user[r > 0 ? r : 0] = '\0';

  hook_make (&h, "hook.sh", "one", log, NULL);
  r = husk_hook_run (&h, HUSK_HOOK_CREATE_RUNTIME, state, strlen (state), STDERR_FILENO, &err);
  ok (r == 0, "hook: one that exits 0 succeeds (%s)", err ? err->msg : "");
  husk_error_free (&err);
  snprintf (expect, sizeof (expect), "one %s %s %s\n", state, mnt, user);
  is_str (hook_read ("log", buf, sizeof (buf)), expect,
          "hook: its argv reaches it, the state is its stdin");
  hook_clear (&h);

  hook_make (&h, "hook.sh", "two", log, "3");
  r = husk_hook_run (&h, HUSK_HOOK_CREATE_RUNTIME, state, strlen (state), STDERR_FILENO, &err);
  snprintf (expect, sizeof (expect), "createRuntime hook \"%s/hook.sh\": exited with status 3",
            hookdir);
  ok (r < 0 && err, "hook: one that exits 3 fails");
  is_str (err ? err->msg : NULL, expect, "hook: the error names the phase, the hook, the status");
  husk_error_free (&err);
  hook_clear (&h);

  {
    char pidfile[256];
    struct timespec t0, t1;
    uint64_t bg = 0;
    snprintf (pidfile, sizeof (pidfile), "%s/bg.pid", hookdir);
    hook_make (&h, "sleep.sh", pidfile, NULL, NULL);
    h.timeout = 1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    r = husk_hook_run (&h, HUSK_HOOK_CREATE_CONTAINER, state, strlen (state), STDERR_FILENO, &err);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    snprintf (expect, sizeof (expect),
              "createContainer hook \"%s/sleep.sh\": timed out after 1 s, killed", hookdir);
    ok (r < 0 && err, "hook: one that outlives its timeout fails");
    is_str (err ? err->msg : NULL, expect, "hook: a timeout is reported as one");
    ok (t1.tv_sec - t0.tv_sec < 10, "hook: its timeout ends the wait (not its 30 s sleep)");
    husk_error_free (&err);
    hook_read ("bg.pid", buf, sizeof (buf));
    buf[strcspn (buf, "\n")] = '\0';
    ok (husk_parse_u64 (buf, INT_MAX, &bg) == 0 && bg > 0 && pid_gone ((pid_t) bg),
        "hook: what a timed-out hook started is killed with it (pid %s)", buf);
    hook_clear (&h);
  }

  memset (&h, 0, sizeof (h));
  h.path = (char *) "/nonexistent/husk-hook";
  r = husk_hook_run (&h, HUSK_HOOK_POSTSTOP, state, strlen (state), STDERR_FILENO, &err);
  is_str (err ? err->msg : NULL,
          "poststop hook \"/nonexistent/husk-hook\": exec: No such file or directory",
          "hook: one that cannot be executed says why");
  husk_error_free (&err);
  h.path = (char *) "hook.sh";
  r = husk_hook_run (&h, HUSK_HOOK_POSTSTOP, state, strlen (state), STDERR_FILENO, &err);
  is_str (err ? err->msg : NULL, "poststop hook \"hook.sh\": not an absolute path",
          "hook: a relative path is refused (no PATH look-up)");
  husk_error_free (&err);
  h.path = (char *) "/bin/true";
  h.timeout = -1;
  r = husk_hook_run (&h, HUSK_HOOK_POSTSTOP, state, strlen (state), STDERR_FILENO, &err);
  is_str (err ? err->msg : NULL, "poststop hook \"/bin/true\": timeout -1: must be greater than 0",
          "hook: a negative timeout is refused");
  husk_error_free (&err);

  /* Only its own environment, and argv[0] as given.  */
  hook_unlink ("log");
  hook_make (&h, "env.sh", log, NULL, NULL);
  husk_strv_free (h.env);
  h.env = NULL;
  husk_strv_append (&h.env, "HUSK_HOOK_TEST=yes");
  setenv ("HUSK_LEAK", "1", 1);
  r = husk_hook_run (&h, HUSK_HOOK_POSTSTART, state, strlen (state), STDERR_FILENO, &err);
  unsetenv ("HUSK_LEAK");
  hook_read ("log", buf, sizeof (buf));
  ok (r == 0 && strstr (buf, "HUSK_HOOK_TEST=yes\n") && !strstr (buf, "HUSK_LEAK"),
      "hook: its env is exactly the one given");
  husk_error_free (&err);
  hook_clear (&h);
  {
    /* argv[0] as given (a script's is replaced by its interpreter: run a shell itself).  */
    char cmd[512];
    memset (&h, 0, sizeof (h));
    h.path = (char *) "/bin/sh";
    snprintf (cmd, sizeof (cmd), "tr '\\0' ' ' </proc/$$/cmdline >%s/argv", hookdir);
    char *args[] = { (char *) "husk-arg0", (char *) "-c", cmd, NULL };
    h.args = args;
    r = husk_hook_run (&h, HUSK_HOOK_POSTSTART, state, strlen (state), STDERR_FILENO, &err);
    ok (r == 0 && strncmp (hook_read ("argv", buf, sizeof (buf)), "husk-arg0 -c ", 13) == 0,
        "hook: its argv is args, args[0] included (%s)", buf);
    husk_error_free (&err);
  }

  {
    /* A state larger than a pipe's default 64 KiB reaches the hook whole.  */
    size_t n = 300 * 1024;
    cleanup_free char *big = husk_xmalloc (n + 1);
    memset (big, 'a', n);
    big[n] = '\0';
    hook_unlink ("log");
    hook_make (&h, "size.sh", log, NULL, NULL);
    r = husk_hook_run (&h, HUSK_HOOK_POSTSTART, big, n, STDERR_FILENO, &err);
    ok (r == 0 && strtoul (hook_read ("log", buf, sizeof (buf)), NULL, 10) == n,
        "hook: a state of %zu bytes arrives whole (%s)", n, err ? err->msg : buf);
    husk_error_free (&err);
    hook_clear (&h);
  }

  {
    /* A phase: the first failure stops a create phase; a post phase warns and goes on.  */
    struct husk_hook list[2];
    struct husk_hooks hooks = { 0 };
    cleanup_strv char **warnings = NULL;
    hook_make (&list[0], "hook.sh", "first", log, "1");
    hook_make (&list[1], "hook.sh", "second", log, NULL);
    hooks.warn = collect_warning;
    hooks.warn_arg = &warnings;
    for (int p = HUSK_HOOK_START_CONTAINER; p <= HUSK_HOOK_POSTSTART; p++)
      {
        hooks.list[p] = list;
        hooks.n[p] = 2;
      }
    hook_unlink ("log");
    r = husk_hooks_run (&hooks, HUSK_HOOK_START_CONTAINER, state, strlen (state), STDERR_FILENO,
                        &err);
    hook_read ("log", buf, sizeof (buf));
    ok (r < 0 && err && strstr (err->msg, "startContainer hook") && strstr (buf, "first ")
            && !strstr (buf, "second "),
        "hooks: a failed startContainer hook stops its phase");
    husk_error_free (&err);
    hook_unlink ("log");
    r = husk_hooks_run (&hooks, HUSK_HOOK_POSTSTART, state, strlen (state), STDERR_FILENO, &err);
    hook_read ("log", buf, sizeof (buf));
    ok (r == 0 && strstr (buf, "first ") && strstr (buf, "second "),
        "hooks: a failed poststart hook does not stop the next");
    snprintf (expect, sizeof (expect), "poststart hook \"%s/hook.sh\": exited with status 1",
              hookdir);
    ok (husk_strv_len (warnings) == 1, "hooks: one warning for one failed poststart hook");
    is_str (warnings ? warnings[0] : NULL, expect, "hooks: the warning names the hook");
    husk_error_free (&err);
    hook_clear (&list[0]);
    hook_clear (&list[1]);
  }
}

int
main (void)
{
  test_user ();
  test_caps ();
  test_seccomp ();
  test_relay ();
  test_proc_alive ();
  test_hook_state ();
  test_hook_decode ();
  test_hook_run ();
  test_hook_container (false);
  test_hook_container (true);
  hook_cleanup ();
  return tap_done ();
}
