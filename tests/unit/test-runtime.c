/* Unit tests for runtime/: USER resolution, capability names, seccomp filters, the stdio relay,
   processes by pid and start time, resource limits (cgroups).  Linked with runtime/ and lib/
   alone (Makefile.am).  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cgroups.h"
#include "cleanup.h"
#include "container.h"
#include "json.h"
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

static void
skip (int n, const char *why)
{
  for (int i = 0; i < n; i++)
    printf ("ok %d - # SKIP %s\n", ++tap_n, why);
}

/* linux.resources checked before anything starts: what the kernel would refuse, or take and
   then kill the container for, is refused in one line naming the field.  */
static void
test_resources_check (void)
{
  static const struct
  {
    struct husk_resources r;
    const char *needle;
  } bad[] = {
    { { .memory_limit = 4096 }, "memory.limit: 4096 bytes is below the minimum" },
    { { .memory_limit = -2 }, "memory.limit: -2 is not a size" },
    { { .memory_swap = 64 << 20 }, "memory.swap: 67108864 needs memory.limit" },
    { { .memory_limit = 64 << 20, .memory_swap = 32 << 20 }, "is below memory.limit" },
    { { .memory_limit = 64 << 20, .memory_reservation = 128 << 20 }, "is above memory.limit" },
    { { .cpu_shares = 1 }, "cpu.shares: 1 is not between 2 and 262144" },
    { { .cpu_shares = 262145 }, "cpu.shares: 262145" },
    { { .cpu_quota = 50000 }, "cpu.quota: 50000 without cpu.period" },
    { { .cpu_quota = 500, .cpu_period = 100000 }, "cpu.quota: 500 microseconds is below" },
    { { .cpu_period = 999 }, "cpu.period: 999 microseconds" },
    { { .cpu_period = 1000001 }, "cpu.period: 1000001 microseconds" },
    { { .cpu_cpus = "all" }, "cpu.cpus: \"all\" is not a CPU list" },
    { { .cpu_cpus = "0-" }, "cpu.cpus: \"0-\"" },
    { { .cpu_cpus = "3-1" }, "cpu.cpus: \"3-1\"" },
    { { .cpu_cpus = "0,,1" }, "cpu.cpus: \"0,,1\"" },
    { { .cpu_cpus = "0-8:2" }, "cpu.cpus: \"0-8:2\"" },
    { { .pids_limit = -5 }, "pids.limit: -5" },
  };
  static const struct husk_resources good[] = {
    { .memory_limit = 6 << 20 },
    { .memory_limit = -1, .memory_swap = -1 },
    { .memory_limit = 64 << 20, .memory_swap = 64 << 20, .memory_reservation = 32 << 20 },
    { .cpu_shares = 2 },
    { .cpu_quota = -1 },
    { .cpu_quota = 50000, .cpu_period = 100000 },
    { .cpu_period = 1000000 },
    { .cpu_cpus = "0" },
    { .cpu_cpus = "0-3,6,8-10" },
    { .pids_limit = -1 },
    { .pids_limit = 1 },
  };
  struct husk_resources none = { 0 };
  struct husk_error *err = NULL;

  ok (!husk_resources_set (&none), "resources: all zero asks for nothing");
  ok (husk_resources_set (&(struct husk_resources){ .pids_limit = -1 }),
      "resources: -1 (unlimited) is asked for");
  ok (!husk_resources_set (&(struct husk_resources){ .cpu_cpus = "" }),
      "resources: an empty CPU list is not set");
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      int r = husk_resources_check (&bad[i].r, &err);
      ok (r < 0 && err && strstr (err->msg, bad[i].needle) && !strchr (err->msg, '\n'),
          "resources: refused: %s", bad[i].needle);
      if (err)
        printf ("# %s\n", err->msg);
      husk_error_free (&err);
    }
  for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++)
    {
      ok (husk_resources_check (&good[i], &err) == 0, "resources: accepted (%zu)", i);
      if (err)
        printf ("# %s\n", err->msg);
      husk_error_free (&err);
    }
}

static bool
plan_is (const struct husk_resources *r, bool v2, const char *expect)
{
  cleanup_strv char **plan = husk_cgroups_plan (r, v2);
  cleanup_free char *got = husk_xstrdup ("");

  for (size_t i = 0; plan[i]; i++)
    {
      char *next = husk_strdup_printf ("%s%s%s", got, i ? ";" : "", plan[i]);
      free (got);
      got = next;
    }
  if (strcmp (got, expect) != 0)
    printf ("#   got:      \"%s\"\n#   expected: \"%s\"\n", got, expect);
  return strcmp (got, expect) == 0;
}

/* What is written where, on both versions: the v2 conversions (memory plus swap to swap
   alone, shares to weight, quota and period to cpu.max, -1 to "max") are checked here, as
   this machine may have no cgroup v2 controller to try them on.  */
static void
test_cgroups_plan (void)
{
  const struct husk_resources all = {
    .memory_limit = 64 << 20,
    .memory_swap = 96 << 20,
    .memory_reservation = 32 << 20,
    .cpu_shares = 512,
    .cpu_quota = 50000,
    .cpu_period = 100000,
    .cpu_cpus = "0-1",
    .pids_limit = 16,
  };
  const struct husk_resources unlimited = {
    .memory_limit = -1,
    .memory_swap = -1,
    .memory_reservation = -1,
    .cpu_quota = -1,
    .pids_limit = -1,
  };

  ok (husk_cpu_shares_to_weight (2) == 1 && husk_cpu_shares_to_weight (262144) == 10000
          && husk_cpu_shares_to_weight (1024) == 39 && husk_cpu_shares_to_weight (512) == 20,
      "cpu.shares to cpu.weight: 2 -> 1, 512 -> 20, 1024 -> 39, 262144 -> 10000");
  ok (plan_is (&all, false,
               "memory.limit_in_bytes 67108864;memory.memsw.limit_in_bytes 100663296;"
               "memory.soft_limit_in_bytes 33554432;cpu.shares 512;cpu.cfs_period_us 100000;"
               "cpu.cfs_quota_us 50000;pids.max 16;cpuset.cpus 0-1"),
      "plan v1: every limit, period before quota, limit before memory plus swap");
  ok (plan_is (&all, true,
               "memory.max 67108864;memory.swap.max 33554432;memory.low 33554432;"
               "cpu.weight 20;cpu.max 50000 100000;cpuset.cpus 0-1;pids.max 16"),
      "plan v2: swap alone, weight, \"QUOTA PERIOD\"");
  ok (plan_is (&unlimited, false,
               "memory.limit_in_bytes -1;memory.memsw.limit_in_bytes -1;"
               "memory.soft_limit_in_bytes -1;cpu.cfs_quota_us -1;pids.max max"),
      "plan v1: -1 is -1, and \"max\" for pids");
  ok (plan_is (&unlimited, true, "memory.max max;memory.swap.max max;cpu.max max;pids.max max"),
      "plan v2: -1 is \"max\"; a reservation of -1 leaves memory.low at 0");
  ok (plan_is (&(struct husk_resources){ .cpu_period = 20000 }, true, "cpu.max max 20000"),
      "plan v2: a period alone keeps no limit");
  ok (plan_is (&(struct husk_resources){ 0 }, true, ""), "plan: nothing for no limits");
}

static bool
cgroup2_unified (void)
{
  struct statfs sf;
  return statfs ("/sys/fs/cgroup", &sf) == 0 && (long) sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* A spec asking for limits that cannot be applied fails before anything starts.  Run as a
   user without root (the test drops to nobody when it is root): on cgroup v1 the limits
   cannot be applied at all; on v2 only in a delegated cgroup.  */
static void
test_cgroups_unprivileged (void)
{
  char *args[] = { "/bin/true", NULL };
  struct husk_container_spec spec = {
    .args = args,
    .resources_cgroup = "husk-test-unprivileged",
    .resources = { .pids_limit = 8 },
  };
  char msg[1024] = "";
  int p[2], status;
  pid_t pid;

  if (pipe (p) < 0)
    {
      ok (false, "pipe: %s", strerror (errno));
      return;
    }
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      struct husk_container_proc proc;
      struct husk_error *err = NULL;
      int r;

      close (p[0]);
      if (geteuid () == 0
          && (setgroups (0, NULL) < 0 || setresgid (65534, 65534, 65534) < 0
              || setresuid (65534, 65534, 65534) < 0))
        _exit (3);
      /* A delegated v2 cgroup: the limits could be applied.  */
      if (husk_cgroups_check (spec.resources_cgroup, &spec.resources, &err) == 0)
        _exit (4);
      husk_error_free (&err);
      r = husk_container_spawn (&spec, NULL, &proc, &err);
      if (r == 0)
        _exit (5);
      (void) !write (p[1], err->msg, strlen (err->msg));
      _exit (0);
    }
  close (p[1]);
  {
    ssize_t n = husk_read_all (p[0], msg, sizeof (msg) - 1);
    msg[n > 0 ? n : 0] = '\0';
  }
  close (p[0]);
  waitpid (pid, &status, 0);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 4)
    {
      skip (2, "this user has a delegated cgroup v2: its limits can be applied");
      return;
    }
  printf ("# %s\n", msg);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0 && strncmp (msg, "resource limits: ", 17) == 0
          && strchr (msg, '\n') == NULL,
      "without root, a spec with limits fails in one line before anything starts");
  if (!cgroup2_unified ())
    ok (strstr (msg, "cgroup v1") && strstr (msg, "without root"),
        "on cgroup v1 the reason is that only root can write it");
  else
    ok (strstr (msg, "not writable") || strstr (msg, "controller"),
        "on cgroup v2 the reason is the cgroup's delegation");
}

/* A limit the kernel would refuse stops the start before any process exists.  */
static void
test_cgroups_invalid_spawn (void)
{
  char *args[] = { "/bin/true", NULL };
  struct husk_container_spec spec = {
    .args = args,
    .resources_cgroup = "husk-test-invalid",
    .resources = { .cpu_quota = 50000 },
  };
  struct husk_container_proc proc = { .pid = -1 };
  struct husk_error *err = NULL;
  int r = husk_container_spawn (&spec, NULL, &proc, &err);

  ok (r < 0 && err && strcmp (err->msg, "resource limits: cpu.quota: 50000 without cpu.period") == 0
          && proc.pid == -1,
      "spawn: a quota without a period is refused before anything starts");
  if (err)
    printf ("# %s\n", err->msg);
  husk_error_free (&err);
  spec.resources = (struct husk_resources){ .pids_limit = 8 };
  spec.resources_cgroup = NULL;
  r = husk_container_spawn (&spec, NULL, &proc, &err);
  ok (r < 0 && err && strstr (err->msg, "resource limits: invalid cgroup name") && proc.pid == -1,
      "spawn: limits without a cgroup name are refused before anything starts");
  husk_error_free (&err);
  ok (access ("/sys/fs/cgroup/cpu/husk/husk-test-invalid", F_OK) < 0
          && access ("/sys/fs/cgroup/husk/husk-test-invalid", F_OK) < 0,
      "spawn: no cgroup was made for it");
}

/* ------------------------------------------------- containers with limits

   A container of the test's own: a static busybox in a lower directory (no image: runtime/
   knows none), run as root without a user namespace, without a device cgroup, so that every
   cgroup it has comes from its resources.  Skipped without root (a container without root
   needs an id map from subordinate ranges) or without a static busybox.  */
#define BUSYBOX "/usr/bin/busybox"

static char ctr_dir[] = "/tmp/husk-test-ctr.XXXXXX";
static int ctr_runs;

static int
write_text (const char *path, const char *text)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  return fd < 0 || husk_write_all (fd, text, strlen (text)) < 0 ? -1 : 0;
}

static bool
make_ctr_root (void)
{
  static const char *const dirs[]
      = { "lower", "lower/bin", "lower/etc", "lower/proc", "lower/dev", "lower/sys", "lower/tmp" };
  static const char *const applets[] = { "sh", "sleep", "cat" };
  cleanup_free char *bin = NULL, *data = NULL;
  size_t len;

  if (mkdtemp (ctr_dir) == NULL)
    return false;
  for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
    {
      cleanup_free char *d = husk_strdup_printf ("%s/%s", ctr_dir, dirs[i]);
      if (mkdir (d, 0755) < 0)
        return false;
    }
  if (husk_read_file_at (AT_FDCWD, BUSYBOX, 16 << 20, &data, &len, NULL) < 0)
    return false;
  bin = husk_strdup_printf ("%s/lower/bin/busybox", ctr_dir);
  {
    cleanup_close int fd = open (bin, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (fd < 0 || husk_write_all (fd, data, len) < 0)
      return false;
  }
  for (size_t i = 0; i < sizeof (applets) / sizeof (applets[0]); i++)
    {
      cleanup_free char *l = husk_strdup_printf ("%s/lower/bin/%s", ctr_dir, applets[i]);
      if (symlink ("busybox", l) < 0)
        return false;
    }
  {
    cleanup_free char *pw = husk_strdup_printf ("%s/lower/etc/passwd", ctr_dir);
    cleanup_free char *gr = husk_strdup_printf ("%s/lower/etc/group", ctr_dir);
    if (write_text (pw, "root:x:0:0:root:/:/bin/sh\n") < 0 || write_text (gr, "root:x:0:\n") < 0)
      return false;
  }
  return true;
}

/* A started container: its pid, its stdin (to end it) and its stdout and stderr, merged.  */
struct test_ctr
{
  pid_t pid;
  int in, out;
  char name[64];
};

/* Start SCRIPT (busybox sh -c) as the container NAME with RES.  */
static int
start_ctr (const char *name, const struct husk_resources *res, const char *script,
           struct test_ctr *ret, struct husk_error **err)
{
  int n = ++ctr_runs;
  cleanup_free char *lower = husk_strdup_printf ("%s/lower", ctr_dir);
  cleanup_free char *upper = husk_strdup_printf ("%s/upper%d", ctr_dir, n);
  cleanup_free char *work = husk_strdup_printf ("%s/work%d", ctr_dir, n);
  cleanup_free char *rootfs = husk_strdup_printf ("%s/rootfs%d", ctr_dir, n);
  char *lowerdirs[] = { lower, NULL };
  char *args[] = { "/bin/sh", "-c", (char *) script, NULL };
  char *env[] = { "PATH=/bin", NULL };
  struct husk_container_spec spec = {
    .lowerdirs = lowerdirs,
    .upperdir = upper,
    .workdir = work,
    .rootfs = rootfs,
    .args = args,
    .env = env,
    .cwd = "/",
    .hostname = "husk-test",
    .network = HUSK_NETWORK_NONE,
    .caps = husk_caps_default (),
    .seccomp = HUSK_SECCOMP_UNCONFINED,
    .interactive = true,
    .resources_cgroup = name,
    .resources = *res,
  };
  struct husk_container_proc proc;
  int in[2], out[2], stdio[3], r;

  if (mkdir (upper, 0755) < 0 || mkdir (work, 0755) < 0 || mkdir (rootfs, 0755) < 0)
    return husk_error_set (err, errno, "mkdir in %s", ctr_dir);
  if (pipe2 (in, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return husk_error_set (err, errno, "pipe");
    }
  stdio[0] = in[0];
  stdio[1] = stdio[2] = out[1];
  r = husk_container_spawn (&spec, stdio, &proc, err);
  close (in[0]);
  close (out[1]);
  if (r < 0)
    {
      close (in[1]);
      close (out[0]);
      return -1;
    }
  ret->pid = proc.pid;
  ret->in = in[1];
  ret->out = out[0];
  snprintf (ret->name, sizeof (ret->name), "%s", name);
  return 0;
}

/* Close its stdin, read its output to the end (10 s at most), wait for it.  */
static int
finish_ctr (struct test_ctr *c, char *out, size_t size)
{
  size_t len = 0;
  int status;

  close (c->in);
  for (;;)
    {
      struct pollfd pfd = { .fd = c->out, .events = POLLIN };
      ssize_t n;
      if (poll (&pfd, 1, 10000) <= 0)
        {
          kill (c->pid, SIGKILL);
          break;
        }
      n = read (c->out, out + len, size - 1 - len);
      if (n <= 0)
        break;
      len += (size_t) n;
      if (len + 1 >= size)
        break;
    }
  out[len] = '\0';
  close (c->out);
  if (waitpid (c->pid, &status, 0) != c->pid)
    return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* The first line of PATH, or "" when it cannot be read.  */
static const char *
first_line (const char *path, char *buf, size_t size)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read (fd, buf, size - 1);

  buf[n > 0 ? n : 0] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  return buf;
}

static bool
cgroup_exists (const char *controller, const char *name)
{
  cleanup_free char *path = husk_strdup_printf ("/sys/fs/cgroup/%s/husk/%s", controller, name);
  return access (path, F_OK) == 0;
}

/* The container's output as TAP comments, a line each.  */
static void
diag_output (int status, const char *out)
{
  printf ("# exit %d, output:\n", status);
  for (const char *p = out; *p;)
    {
      size_t n = strcspn (p, "\n");
      printf ("#   %.*s\n", (int) n, p);
      p += n;
      if (*p)
        p++;
    }
}

static void
test_cgroups_containers (void)
{
  static const char *const v1[] = { "memory", "cpu", "cpuset", "pids" };
  const int n_tests = 13;
  struct husk_error *err = NULL;
  struct test_ctr c;
  char out[8192], buf[256], name[64];
  int status;

  if (geteuid () != 0)
    {
      skip (n_tests, "containers with limits need root here (cgroup v1; a container without "
                     "root needs a subordinate id map)");
      return;
    }
  if (cgroup2_unified ())
    {
      skip (n_tests, "these checks read cgroup v1 files and this machine has cgroup v2");
      return;
    }
  if (access (BUSYBOX, X_OK) < 0 || !make_ctr_root ())
    {
      skip (n_tests, "no static " BUSYBOX " to make a container's root from");
      return;
    }

  /* pids.limit: the shell (1) and three sleeps fill 4; the next fork fails, inside.  */
  snprintf (name, sizeof (name), "husk-test-pids-%d", (int) getpid ());
  if (start_ctr (name, &(struct husk_resources){ .pids_limit = 4 },
                 "i=0; while :; do sleep 30 & i=$((i+1)); echo started $i; done", &c, &err)
      < 0)
    {
      ok (false, "the container started: %s", err->msg);
      husk_error_free (&err);
      skip (3, "the container did not start");
    }
  else
    {
      cleanup_free char *max = husk_strdup_printf ("/sys/fs/cgroup/pids/husk/%s/pids.max", name);
      ok (strcmp (first_line (max, buf, sizeof (buf)), "4") == 0,
          "pids.limit 4: pids.max of its cgroup is 4 (got \"%s\")", buf);
      status = finish_ctr (&c, out, sizeof (out));
      diag_output (status, out);
      ok (strstr (out, "started 3\n") && !strstr (out, "started 4"),
          "pids.limit 4: three processes besides the shell were started, no fourth");
      ok (strstr (out, "fork") != NULL && status != 0,
          "pids.limit 4: the fork past the limit failed inside the container");
      husk_cgroups_remove (name);
      ok (!cgroup_exists ("pids", name), "pids.limit: its cgroup is gone once it ended");
    }

  /* memory.limit and cpu limits, visible in its cgroups while it runs.  */
  snprintf (name, sizeof (name), "husk-test-mem-%d", (int) getpid ());
  if (start_ctr (
          name,
          &(struct husk_resources){ .memory_limit = 64 << 20, .cpu_shares = 512, .cpu_cpus = "0" },
          "cat /proc/self/cgroup; read x; echo end", &c, &err)
      < 0)
    {
      ok (false, "the container started: %s", err->msg);
      husk_error_free (&err);
      skip (5, "the container did not start");
    }
  else
    {
      cleanup_free char *lim
          = husk_strdup_printf ("/sys/fs/cgroup/memory/husk/%s/memory.limit_in_bytes", name);
      cleanup_free char *procs
          = husk_strdup_printf ("/sys/fs/cgroup/memory/husk/%s/cgroup.procs", name);
      cleanup_free char *shares
          = husk_strdup_printf ("/sys/fs/cgroup/cpu/husk/%s/cpu.shares", name);
      cleanup_free char *cpus
          = husk_strdup_printf ("/sys/fs/cgroup/cpuset/husk/%s/cpuset.cpus", name);
      char pidline[32];
      bool gone = true;

      snprintf (pidline, sizeof (pidline), "%d", (int) c.pid);
      ok (strcmp (first_line (lim, buf, sizeof (buf)), "67108864") == 0,
          "memory.limit 64 MiB: memory.limit_in_bytes of its cgroup while it runs (got \"%s\")",
          buf);
      ok (strcmp (first_line (procs, buf, sizeof (buf)), pidline) == 0,
          "memory.limit: its pid 1 is in that cgroup");
      ok (strcmp (first_line (shares, buf, sizeof (buf)), "512") == 0,
          "cpu.shares 512: in its cpu cgroup (got \"%s\")", buf);
      ok (strcmp (first_line (cpus, buf, sizeof (buf)), "0") == 0,
          "cpu.cpus \"0\": in its cpuset cgroup (got \"%s\")", buf);
      status = finish_ctr (&c, out, sizeof (out));
      diag_output (status, out);
      ok (status == 0 && strstr (out, ":memory:/\n") && strstr (out, "end\n"),
          "memory.limit: inside, its cgroup is the root of its cgroup namespace");
      /* What the engine does when the container has ended (engine/rundir.c).  */
      husk_cgroups_remove (name);
      for (size_t i = 0; i < sizeof (v1) / sizeof (v1[0]); i++)
        gone = gone && !cgroup_exists (v1[i], name);
      ok (gone, "its memory, cpu and cpuset cgroups are gone once it ended");
    }

  /* No resources: no cgroup work at all, it stays in the caller's cgroups.  */
  snprintf (name, sizeof (name), "husk-test-none-%d", (int) getpid ());
  if (start_ctr (name, &(struct husk_resources){ 0 }, "read x; exit 0", &c, &err) < 0)
    {
      ok (false, "the container started: %s", err->msg);
      husk_error_free (&err);
      skip (2, "the container did not start");
    }
  else
    {
      cleanup_free char *theirs_path = husk_strdup_printf ("/proc/%d/cgroup", (int) c.pid);
      cleanup_free char *mine = NULL, *theirs = NULL;
      bool none = true;

      for (size_t i = 0; i < sizeof (v1) / sizeof (v1[0]); i++)
        none = none && !cgroup_exists (v1[i], name);
      ok (none, "no limits: no cgroup named for it in any hierarchy");
      ok (husk_read_file_at (AT_FDCWD, "/proc/self/cgroup", 65536, &mine, NULL, NULL) == 0
              && husk_read_file_at (AT_FDCWD, theirs_path, 65536, &theirs, NULL, NULL) == 0
              && strcmp (mine, theirs) == 0,
          "no limits: it is in the caller's cgroups, every hierarchy");
      status = finish_ctr (&c, out, sizeof (out));
      ok (status == 0, "no limits: it ran and ended (status %d)", status);
    }
  husk_rm_rf_at (AT_FDCWD, ctr_dir, NULL);
}

int
main (void)
{
  test_user ();
  test_caps ();
  test_seccomp ();
  test_relay ();
  test_proc_alive ();
  test_resources_check ();
  test_cgroups_plan ();
  test_cgroups_unprivileged ();
  test_cgroups_invalid_spawn ();
  test_cgroups_containers ();
  return tap_done ();
}
