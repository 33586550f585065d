/* Unit tests for runtime/: USER resolution, capability names, seccomp filters, the stdio relay,
   processes by pid and start time.  Linked with runtime/ and lib/ alone (Makefile.am).  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
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
#include "json.h"
#include "namespaces.h"
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

/* The namespace list: its names, the checks made before anything is opened, and the opening
   of paths with their type checked (nothing is joined here: tests/unit/test-nsjoin.c starts
   containers that join).  */
static void
test_namespaces (void)
{
  const struct husk_namespace husk_list[] = {
    { HUSK_NS_MOUNT, NULL },  { HUSK_NS_PID, NULL },  { HUSK_NS_UTS, NULL }, { HUSK_NS_IPC, NULL },
    { HUSK_NS_CGROUP, NULL }, { HUSK_NS_USER, NULL }, { HUSK_NS_NET, NULL },
  };
  const size_t n = sizeof (husk_list) / sizeof (husk_list[0]);
  struct husk_namespace ns[8];
  struct husk_ns_files files = HUSK_NS_FILES_INIT;
  struct husk_error *err = NULL;
  char file[] = "/tmp/husk-test-ns.XXXXXX";
  int fd;

  ok (strcmp (husk_ns_type_name (HUSK_NS_NET), "network") == 0
          && strcmp (husk_ns_type_name (HUSK_NS_MOUNT), "mount") == 0
          && husk_ns_type_parse ("cgroup") == HUSK_NS_CGROUP && husk_ns_type_parse ("net") == -1
          && husk_ns_type_parse ("time") == -1,
      "namespace types by their OCI names (\"network\", not \"net\")");
  ok (husk_ns_flags (husk_list, n, true)
          == (unsigned long) (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC
                              | CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWNET),
      "husk's list is the flags husk always cloned with");
  ok (husk_ns_check (husk_list, n, true, true, &err) == 0, "husk's list with an id map passes");
  husk_error_free (&err);
  ok (husk_ns_check (husk_list, n - 2, false, true, &err) == 0,
      "as root: no user namespace, the caller's network");
  husk_error_free (&err);

  memcpy (ns, husk_list, sizeof (husk_list));
  ns[n] = (struct husk_namespace){ HUSK_NS_NET, "/run/netns/x" };
  ok (husk_ns_check (ns, n + 1, true, true, &err) < 0
          && strcmp (err->msg, "namespaces: \"network\" is listed twice") == 0,
      "a type listed twice is refused (OCI)");
  husk_error_free (&err);
  ok (husk_ns_check (husk_list, n, false, true, &err) < 0
          && strcmp (err->msg, "namespaces: a new user namespace needs an id map") == 0,
      "a new user namespace without an id map is refused");
  husk_error_free (&err);
  memcpy (ns, husk_list, sizeof (husk_list));
  ns[5].path = "/proc/1/ns/user";
  ok (husk_ns_check (ns, n, true, true, &err) < 0 && strstr (err->msg, "not to a joined one"),
      "an id map for a joined user namespace is refused");
  husk_error_free (&err);
  ok (husk_ns_check (ns, n, false, true, &err) == 0, "a joined user namespace, no id map");
  husk_error_free (&err);
  ok (husk_ns_check (husk_list, n - 2, true, true, &err) < 0,
      "an id map without a user namespace is refused");
  husk_error_free (&err);
  ok (husk_ns_check (husk_list + 1, n - 1, true, true, &err) < 0
          && strstr (err->msg, "no mount namespace"),
      "no mount namespace is refused (the root filesystem is set up in one)");
  husk_error_free (&err);
  memcpy (ns, husk_list, sizeof (husk_list));
  ns[0].path = "/proc/1/ns/mnt";
  ok (husk_ns_check (ns, n, true, true, &err) < 0
          && strstr (err->msg, "joining a mount namespace is not supported"),
      "a mount namespace to join is refused");
  husk_error_free (&err);
  memcpy (ns, husk_list, sizeof (husk_list));
  ns[2] = ns[6];
  ok (husk_ns_check (ns, n - 1, true, true, &err) < 0 && strstr (err->msg, "hostname"),
      "a hostname without a uts namespace is refused");
  husk_error_free (&err);
  ok (husk_ns_check (ns, n - 1, true, false, &err) == 0, "without a hostname, no uts is fine");
  husk_error_free (&err);
  memcpy (ns, husk_list, sizeof (husk_list));
  ns[6].path = "";
  ok (husk_ns_check (ns, n, true, true, &err) < 0, "an empty path is refused");
  husk_error_free (&err);

  /* Paths: opened and their type checked.  */
  ns[0] = (struct husk_namespace){ HUSK_NS_NET, "/proc/self/ns/net" };
  ns[1] = (struct husk_namespace){ HUSK_NS_PID, NULL };
  ns[2] = (struct husk_namespace){ HUSK_NS_UTS, "/proc/self/ns/uts" };
  ok (husk_ns_files_open (ns, 3, &files, &err) == 0 && files.fds[HUSK_NS_NET] >= 0
          && files.fds[HUSK_NS_UTS] >= 0 && files.fds[HUSK_NS_PID] < 0
          && husk_ns_files_any (&files),
      "a network and a uts namespace by path are opened, the new pid one is not");
  husk_error_free (&err);
  husk_ns_files_close (&files);
  ok (!husk_ns_files_any (&files), "closed");
  ns[0].path = "/proc/self/ns/mnt";
  ok (husk_ns_files_open (ns, 3, &files, &err) < 0
          && strcmp (err->msg,
                     "namespace \"/proc/self/ns/mnt\": is not a network namespace (it is a "
                     "mount one)")
                 == 0
          && !husk_ns_files_any (&files),
      "another type of namespace is refused in one line, nothing left open");
  husk_error_free (&err);
  fd = mkstemp (file);
  if (fd >= 0)
    close (fd);
  ns[0].path = file;
  ok (husk_ns_files_open (ns, 1, &files, &err) < 0 && err->errnum == 0
          && strstr (err->msg, "\": is not a network namespace") != NULL,
      "a plain file is not a namespace: %s", err ? err->msg : "");
  husk_error_free (&err);
  unlink (file);
  ns[0].path = "/nonexistent/husk-netns";
  ok (husk_ns_files_open (ns, 1, &files, &err) < 0 && err->errnum == ENOENT
          && husk_str_has_prefix (err->msg, "namespace \"/nonexistent/husk-netns\": "),
      "a missing path names the path and ENOENT: %s", err ? err->msg : "");
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

int
main (void)
{
  test_user ();
  test_caps ();
  test_namespaces ();
  test_seccomp ();
  test_relay ();
  test_proc_alive ();
  return tap_done ();
}
