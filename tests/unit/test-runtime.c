/* Unit tests for runtime/: USER resolution, capability names, seccomp filters, the stdio relay,
   processes by pid and start time, the start gate of a container (as root, or rootless with
   the calling user's id map), OCI hooks, resource limits (cgroups).  Linked with runtime/ and lib/
   alone (Makefile.am).  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
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
#include "hooks.h"
#include "json.h"
#include "jsonmap.h"
#include "namespaces.h"
#include "proc.h"
#include "relay.h"
#include "seccomp-filter.h"
#include "tap.h"
#include "user.h"
#include "userns.h"
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

/* The namespaces husk's engine lists for a container without --network host (new mount, pid,
   uts, ipc, cgroup and network; a user namespace with an id map), as a static array.  */
static const struct husk_namespace *
engine_namespaces (bool userns, size_t *ret_n)
{
  static struct husk_namespace ns[2][HUSK_NS_N_TYPES];
  static const enum husk_ns_type types[]
      = { HUSK_NS_MOUNT, HUSK_NS_PID, HUSK_NS_UTS, HUSK_NS_IPC, HUSK_NS_CGROUP, HUSK_NS_NET };
  size_t k = 0;

  for (; k < sizeof (types) / sizeof (types[0]); k++)
    ns[userns][k] = (struct husk_namespace){ types[k], NULL };
  if (userns)
    ns[userns][k++] = (struct husk_namespace){ HUSK_NS_USER, NULL };
  *ret_n = k;
  return ns[userns];
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

/* husk_container_start_gate alone, against a process that holds the FIFO as a waiting
   container does (read-write) and starts no container.  */
static void
test_start_gate (void)
{
  char dir[] = "/tmp/husk-test-start.XXXXXX";
  struct husk_error *err = NULL;
  cleanup_free char *fifo = NULL, *plain = NULL;
  struct stat st;
  int p[2], q[2], status, r, fd;
  char c = 0;
  pid_t pid;

  if (mkdtemp (dir) == NULL || pipe2 (p, O_CLOEXEC) < 0 || pipe2 (q, O_CLOEXEC) < 0)
    {
      ok (false, "start gate: set up: %s", strerror (errno));
      return;
    }
  fifo = husk_strdup_printf ("%s/gate", dir);
  plain = husk_strdup_printf ("%s/plain", dir);

  r = husk_container_start_gate (fifo, &err);
  ok (r < 0 && err && err->errnum == ENOENT && strstr (err->msg, fifo)
          && strstr (err->msg, "no such gate"),
      "start gate: no FIFO: %s", err ? err->msg : "it succeeded");
  husk_error_free (&err);

  fd = open (plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
  r = husk_container_start_gate (plain, &err);
  ok (r < 0 && err && err->errnum == EINVAL && strstr (err->msg, "not a FIFO"),
      "start gate: a regular file: %s", err ? err->msg : "it succeeded");
  husk_error_free (&err);
  ok (lstat (plain, &st) == 0, "start gate: which is left alone");

  mkfifo (fifo, 0600);
  r = husk_container_start_gate (fifo, &err);
  ok (r < 0 && err && err->errnum == ESRCH && strstr (err->msg, "gone"),
      "start gate: a FIFO no process waits on: %s", err ? err->msg : "it succeeded");
  husk_error_free (&err);
  ok (lstat (fifo, &st) == 0 && S_ISFIFO (st.st_mode), "start gate: which is left in place");

  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      /* The waiting side: open read-write, say so, wait for the byte, pass it on.  */
      int g = open (fifo, O_RDWR | O_CLOEXEC);
      if (g < 0 || write (p[1], "o", 1) != 1 || read (g, &c, 1) != 1 || write (q[1], &c, 1) != 1)
        _exit (1);
      _exit (0);
    }
  close (p[1]);
  close (q[1]);
  r = read (p[0], &c, 1) == 1 ? husk_container_start_gate (fifo, &err) : -2;
  ok (r == 0, "start gate: a process waiting on it is let go (%s)", err ? err->msg : "ok");
  husk_error_free (&err);
  c = 0;
  ok (read (q[0], &c, 1) == 1 && c != 0 && waitpid (pid, &status, 0) == pid && WIFEXITED (status)
          && WEXITSTATUS (status) == 0,
      "start gate: it read the start's byte");
  ok (lstat (fifo, &st) < 0 && errno == ENOENT, "start gate: the opened gate is removed");
  r = husk_container_start_gate (fifo, &err);
  ok (r < 0 && err && err->errnum == ENOENT && strstr (err->msg, "already started"),
      "start gate: a second start: %s", err ? err->msg : "it succeeded");
  husk_error_free (&err);
  close (p[0]);
  close (q[0]);
  unlink (plain);
  rmdir (dir);
}

/* The start gate (runtime/container.h, start_fifo): containers of the host's /usr, bound
   read-only over an empty layer that has the host's /bin, /lib... symlinks (or binds of them
   where they are directories); root's without a user namespace, a user's with its id map.  */
static char gate_dir[] = "/tmp/husk-test-gate.XXXXXX";
static struct husk_idmap gate_map;
static bool gate_rootless;
static char gate_lower[128];
static struct husk_mount gate_mounts[8];
static size_t gate_n_mounts;

static int
gate_box_init (void)
{
  static const char *const tops[] = { "bin", "sbin", "lib", "lib64", "lib32", "libx32" };
  struct husk_error *err = NULL;
  char path[256];

  if (mkdtemp (gate_dir) == NULL)
    return -1;
  snprintf (gate_lower, sizeof (gate_lower), "%s/lower", gate_dir);
  if (mkdir (gate_lower, 0755) < 0)
    return -1;
  snprintf (path, sizeof (path), "%s/usr", gate_lower);
  mkdir (path, 0755);
  gate_mounts[gate_n_mounts++] = (struct husk_mount){ HUSK_MOUNT_BIND, "/usr", "/usr", NULL, true };
  for (size_t i = 0; i < sizeof (tops) / sizeof (tops[0]); i++)
    {
      char host[32], target[256];
      struct stat st;
      ssize_t n;
      snprintf (host, sizeof (host), "/%s", tops[i]);
      snprintf (path, sizeof (path), "%s/%s", gate_lower, tops[i]);
      if (lstat (host, &st) < 0)
        continue;
      if (S_ISLNK (st.st_mode) && (n = readlink (host, target, sizeof (target) - 1)) > 0)
        {
          target[n] = '\0';
          symlink (target, path);
        }
      else if (S_ISDIR (st.st_mode))
        {
          mkdir (path, 0755);
          gate_mounts[gate_n_mounts++] = (struct husk_mount){ HUSK_MOUNT_BIND, husk_xstrdup (host),
                                                              husk_xstrdup (host), NULL, true };
        }
    }
  gate_rootless = getuid () != 0;
  if (gate_rootless && husk_idmap_for_user (getuid (), getgid (), NULL, NULL, &gate_map, &err) < 0)
    {
      printf ("# %s\n", err->msg);
      husk_error_free (&err);
      return -1;
    }
  return 0;
}

/* Container N's spec (its own upper and work directories) running "sh -c SCRIPT", with a
   gate at FIFO (NULL: none).  Docker's confinement: its capabilities, no_new_privs, the
   default seccomp filter.  */
static void
gate_spec (int n, const char *script, const char *fifo, struct husk_container_spec *spec)
{
  static char *lowers[2] = { gate_lower, NULL };
  static char *env[] = { "PATH=/usr/bin:/bin", NULL };
  static char *args[8][4];
  static char upper[8][128], work[8][128], rootfs[8][128];

  snprintf (upper[n], sizeof (upper[n]), "%s/upper%d", gate_dir, n);
  snprintf (work[n], sizeof (work[n]), "%s/work%d", gate_dir, n);
  snprintf (rootfs[n], sizeof (rootfs[n]), "%s/rootfs%d", gate_dir, n);
  mkdir (upper[n], 0755);
  mkdir (work[n], 0755);
  mkdir (rootfs[n], 0755);
  args[n][0] = "sh";
  args[n][1] = "-c";
  args[n][2] = (char *) script;
  args[n][3] = NULL;
  memset (spec, 0, sizeof (*spec));
  spec->lowerdirs = lowers;
  spec->upperdir = upper[n];
  spec->workdir = work[n];
  spec->rootfs = rootfs[n];
  spec->args = args[n];
  spec->env = env;
  spec->cwd = "/";
  spec->hostname = "gate";
  spec->idmap = gate_rootless ? &gate_map : NULL;
  spec->user = "0:0";
  spec->mounts = gate_mounts;
  spec->n_mounts = gate_n_mounts;
  spec->namespaces = engine_namespaces (gate_rootless, &spec->n_namespaces);
  spec->caps = husk_caps_default ();
  spec->no_new_privs = true;
  spec->seccomp = HUSK_SECCOMP_DEFAULT;
  spec->start_fifo = fifo;
}

static char *
gate_fifo (const char *name)
{
  char *path = husk_strdup_printf ("%s/%s", gate_dir, name);
  if (mkfifo (path, 0600) < 0)
    printf ("# mkfifo \"%s\": %s\n", path, strerror (errno));
  return path;
}

static int
gate_wait_status (pid_t pid)
{
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return husk_wait_status (status);
}

/* A line of /proc/PID/status that starts with KEY, or "".  */
static void
proc_status_line (pid_t pid, const char *key, char *buf, size_t size)
{
  char path[64], line[256];
  FILE *f;

  buf[0] = '\0';
  snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
  f = fopen (path, "re");
  while (f && fgets (line, sizeof (line), f))
    if (husk_str_has_prefix (line, key))
      {
        snprintf (buf, size, "%s", line);
        break;
      }
  if (f)
    fclose (f);
}

static void
proc_comm (pid_t pid, char *buf, size_t size)
{
  char path[64];
  FILE *f;

  buf[0] = '\0';
  snprintf (path, sizeof (path), "/proc/%d/comm", (int) pid);
  f = fopen (path, "re");
  if (f && fgets (buf, (int) size, f))
    buf[strcspn (buf, "\n")] = '\0';
  if (f)
    fclose (f);
}

/* Whether PID comes to block in read(2) on FIFO, which it holds open: seen in
   /proc/PID/syscall (the call and its first argument) and /proc/PID/fd.  Looked at until it
   is, for at most 30 s: a bound against a hang, not a measure.  */
static bool
blocked_reading (pid_t pid, const char *fifo)
{
  for (int i = 0; i < 3000; i++)
    {
      char path[64], buf[256], target[256];
      long nr = -1;
      unsigned long fd = 0;
      ssize_t n;
      FILE *f;

      snprintf (path, sizeof (path), "/proc/%d/syscall", (int) pid);
      f = fopen (path, "re");
      if (f && fgets (buf, sizeof (buf), f) && sscanf (buf, "%ld %lx", &nr, &fd) == 2
          && nr == SYS_read)
        {
          snprintf (path, sizeof (path), "/proc/%d/fd/%lu", (int) pid, fd);
          n = readlink (path, target, sizeof (target) - 1);
          if (n > 0)
            {
              target[n] = '\0';
              if (strcmp (target, fifo) == 0)
                {
                  fclose (f);
                  return true;
                }
            }
        }
      if (f)
        fclose (f);
      usleep (10000);
    }
  return false;
}

/* husk_container_start_gate from a forked process, as another command would: its status
   (0 when it opened the gate).  */
static int
start_from_other_process (const char *fifo)
{
  pid_t pid;
  int status;

  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      struct husk_error *err = NULL;
      if (husk_container_start_gate (fifo, &err) < 0)
        {
          printf ("# %s\n", err->msg);
          fflush (stdout);
          _exit (1);
        }
      _exit (0);
    }
  if (pid < 0 || waitpid (pid, &status, 0) != pid)
    return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 100 + WTERMSIG (status);
}

static void
test_gate (void)
{
  struct husk_container_spec spec;
  struct husk_container_proc proc;
  struct husk_error *err = NULL;
  char self_comm[64], comm[64], line[256], out[8192];
  int r;

  /* A gate that never opens must not hang make check: fail instead.  */
  alarm (300);
  if (gate_box_init () < 0)
    {
      ok (false, "gate: set up the test's root (%s)", strerror (errno));
      return;
    }
  printf ("# gate tests %s\n", gate_rootless ? "rootless, in a user namespace" : "as root");

  /* Without a gate nothing changed: the command runs at once, its status is its own.  */
  gate_spec (0, "exit 3", NULL, &spec);
  r = husk_container_spawn (&spec, NULL, &proc, &err);
  ok (r == 0, "gate: a container without a gate starts (%s)", err ? err->msg : "ok");
  if (r < 0)
    {
      husk_error_free (&err);
      return;
    }
  r = gate_wait_status (proc.pid);
  ok (r == 3, "gate: without a gate the command runs with no start and exits 3 (got %d)", r);

  {
    /* With a gate: set up and waiting, the command not run, until another process opens the
       gate; then it runs once, without the gate's descriptor, with its own status.  */
    cleanup_free char *fifo = gate_fifo ("gate-one");
    int p[2], stdio[3] = { -1, -1, -1 };
    struct pollfd pfd;
    size_t len = 0;
    struct stat root_st, self_root_st;
    char path[64];

    if (pipe2 (p, O_CLOEXEC) < 0)
      {
        ok (false, "pipe: %s", strerror (errno));
        return;
      }
    stdio[1] = p[1];
    gate_spec (1, "echo ran; ls -l /proc/self/fd/; exit 7", fifo, &spec);
    r = husk_container_spawn (&spec, stdio, &proc, &err);
    close (p[1]);
    ok (r == 0, "gate: spawn returns once the process waits at the gate (%s)",
        err ? err->msg : "ok");
    if (r < 0)
      {
        husk_error_free (&err);
        close (p[0]);
        return;
      }
    ok (blocked_reading (proc.pid, fifo), "gate: the process blocks reading the gate");
    proc_comm (getpid (), self_comm, sizeof (self_comm));
    proc_comm (proc.pid, comm, sizeof (comm));
    pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
    ok (strcmp (comm, self_comm) == 0 && poll (&pfd, 1, 0) == 0,
        "gate: the command has not run: no output, the process has not executed it (comm "
        "\"%s\")",
        comm);
    proc_status_line (proc.pid, "Seccomp:", line, sizeof (line));
    line[strcspn (line, "\n")] = '\0';
    ok (strstr (line, "2") != NULL, "gate: it waits with its seccomp filter loaded (%s)", line);
    proc_status_line (proc.pid, "NoNewPrivs:", line, sizeof (line));
    ok (strstr (line, "1") != NULL, "gate: it waits with no_new_privs set");
    snprintf (path, sizeof (path), "/proc/%d/root", (int) proc.pid);
    ok (stat (path, &root_st) == 0 && stat ("/", &self_root_st) == 0
            && (root_st.st_dev != self_root_st.st_dev || root_st.st_ino != self_root_st.st_ino),
        "gate: it waits in its own root, after pivot_root");

    r = start_from_other_process (fifo);
    ok (r == 0, "gate: another process opens the gate (got %d)", r);
    for (;;)
      {
        ssize_t n = read (p[0], out + len, sizeof (out) - 1 - len);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0 || (len += (size_t) n) >= sizeof (out) - 1)
          break;
      }
    out[len] = '\0';
    close (p[0]);
    r = gate_wait_status (proc.pid);
    ok (r == 7 && strncmp (out, "ran\n", 4) == 0,
        "gate: then the command runs and exits with its own status 7 (got %d)", r);
    ok (len > 0 && strstr (out, "gate-one") == NULL,
        "gate: the command does not hold the gate's descriptor");
    if (strstr (out, "gate-one"))
      printf ("# %s", out);

    r = husk_container_start_gate (fifo, &err);
    ok (r < 0 && err && err->errnum == ENOENT && strstr (err->msg, "already started"),
        "gate: a second start fails: %s", err ? err->msg : "it succeeded");
    husk_error_free (&err);
  }

  {
    /* The process dies while it waits: a start says the container is gone.  */
    cleanup_free char *fifo = gate_fifo ("gate-gone");
    struct stat st;

    gate_spec (2, "exit 0", fifo, &spec);
    r = husk_container_spawn (&spec, NULL, &proc, &err);
    ok (r == 0, "gate: a second container waits (%s)", err ? err->msg : "ok");
    husk_error_free (&err);
    if (r == 0)
      {
        kill (proc.pid, SIGKILL);
        gate_wait_status (proc.pid);
      }
    r = husk_container_start_gate (fifo, &err);
    ok (r < 0 && err && err->errnum == ESRCH && strstr (err->msg, "gone")
            && strstr (err->msg, fifo),
        "gate: a start after its process died fails: %s", err ? err->msg : "it succeeded");
    husk_error_free (&err);
    ok (lstat (fifo, &st) == 0 && S_ISFIFO (st.st_mode), "gate: that FIFO is left in place");
    unlink (fifo);
    r = husk_container_start_gate (fifo, &err);
    ok (r < 0 && err && err->errnum == ENOENT && strstr (err->msg, "no such gate"),
        "gate: a start with no FIFO fails: %s", err ? err->msg : "it succeeded");
    husk_error_free (&err);
  }

  {
    /* Create's errors come back from create: a command not in PATH, a gate that is no FIFO.  */
    cleanup_free char *fifo = gate_fifo ("gate-notfound");
    cleanup_free char *notfifo = husk_strdup_printf ("%s/plain", gate_dir);
    int fd = open (notfifo, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    if (fd >= 0)
      close (fd);

    gate_spec (3, "exit 0", fifo, &spec);
    spec.args[0] = "husk-no-such-command";
    r = husk_container_spawn (&spec, NULL, &proc, &err);
    ok (r < 0 && err && err->status == 127 && strstr (err->msg, "not found in $PATH"),
        "gate: a command not in PATH fails the spawn with 127: %s",
        err ? err->msg : "it succeeded");
    husk_error_free (&err);
    gate_spec (4, "exit 0", notfifo, &spec);
    r = husk_container_spawn (&spec, NULL, &proc, &err);
    ok (r < 0 && err && strstr (err->msg, "not a FIFO"),
        "gate: a gate that is no FIFO fails the spawn: %s", err ? err->msg : "it succeeded");
    husk_error_free (&err);
  }

  {
    /* A process killed in its set-up says nothing: a filter that kills it at its first write
       (the word that it waits) makes the spawn fail, not pass for a container waiting.  */
    cleanup_free char *fifo = gate_fifo ("gate-killed");

    static const struct husk_rlimit no_core = { RLIMIT_CORE, 0, 0 };

    gate_spec (6, "exit 0", fifo, &spec);
    spec.rlimits = &no_core; /* SIGSYS dumps no core.  */
    spec.n_rlimits = 1;
    spec.seccomp = HUSK_SECCOMP_PROFILE;
    spec.seccomp_profile = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                           "[\"write\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}";
    r = husk_container_spawn (&spec, NULL, &proc, &err);
    ok (r < 0 && err && strstr (err->msg, "ended during its set-up") && strstr (err->msg, fifo),
        "gate: a process killed before it waits fails the spawn: %s",
        err ? err->msg : "it succeeded");
    husk_error_free (&err);
  }

  {
    /* With husk's init as pid 1: the gate holds it too, and the command's status comes out.  */
    cleanup_free char *fifo = gate_fifo ("gate-init");

    gate_spec (5, "exit 5", fifo, &spec);
    spec.init = true;
    r = husk_container_spawn (&spec, NULL, &proc, &err);
    ok (r == 0, "gate: with --init the container waits (%s)", err ? err->msg : "ok");
    husk_error_free (&err);
    if (r == 0)
      {
        proc_comm (proc.pid, comm, sizeof (comm));
        ok (blocked_reading (proc.pid, fifo) && strcmp (comm, self_comm) == 0,
            "gate: with --init, pid 1 blocks reading the gate, the command has not run");
        r = husk_container_start_gate (fifo, &err);
        ok (r == 0, "gate: with --init, the gate opens (%s)", err ? err->msg : "ok");
        husk_error_free (&err);
        r = gate_wait_status (proc.pid);
        ok (r == 5, "gate: with --init, the command's status 5 comes out (got %d)", r);
      }
  }

  alarm (0);
  husk_rm_rf_at (AT_FDCWD, gate_dir, &err);
  husk_error_free (&err);
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
    .hooks = &c->hooks,
    .id = "hooktest",
    .bundle = "/var/lib/husk-test/bundle",
    .annotations = c->ann,
  };
  c->spec.namespaces = engine_namespaces (userns, &c->spec.n_namespaces);
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

  spec.namespaces = engine_namespaces (false, &spec.n_namespaces);
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
  int r;

  spec.namespaces = engine_namespaces (false, &spec.n_namespaces);
  r = husk_container_spawn (&spec, NULL, &proc, &err);
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
    .caps = husk_caps_default (),
    .seccomp = HUSK_SECCOMP_UNCONFINED,
    .interactive = true,
    .resources_cgroup = name,
    .resources = *res,
  };
  struct husk_container_proc proc;
  int in[2], out[2], stdio[3], r;

  spec.namespaces = engine_namespaces (false, &spec.n_namespaces);
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
  test_namespaces ();
  test_seccomp ();
  test_relay ();
  test_proc_alive ();
  test_start_gate ();
  test_gate ();
  test_hook_state ();
  test_hook_decode ();
  test_hook_run ();
  test_hook_container (false);
  test_hook_container (true);
  hook_cleanup ();
  test_resources_check ();
  test_cgroups_plan ();
  test_cgroups_unprivileged ();
  test_cgroups_invalid_spawn ();
  test_cgroups_containers ();
  return tap_done ();
}
