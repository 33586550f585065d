/* Containers that join namespaces by path (runtime/namespaces.h), through the container core's
   own API: a network namespace made with `ip netns add` holding a link of its own, another
   container's pid namespace, the one-line errors of a wrong type and a missing path, husk exec
   ending up in what the first process joined, and, as the user husk-sub, a rootless container
   joining another's user and network namespaces (and refused, in one line, without its user
   namespace).  Each container's root is an overlay of a layer holding a static busybox.
   Starts containers: it runs as root and is skipped otherwise; the rootless part is skipped
   without husk-sub and its subordinate ids.  Linked with runtime/ and lib/ alone.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "exec.h"
#include "namespaces.h"
#include "proc.h"
#include "tap.h"
#include "userns.h"
#include "util.h"

static char top[] = "/tmp/husk-test-nsjoin.XXXXXX";
static char lower[256];
static int devnull = -1;

#define skip(...)                                                                                  \
  do                                                                                               \
    {                                                                                              \
      tap_n++;                                                                                     \
      printf ("ok %d # SKIP ", tap_n);                                                             \
      printf (__VA_ARGS__);                                                                        \
      printf ("\n");                                                                               \
    }                                                                                              \
  while (0)

static int
copy_file (const char *from, const char *to, mode_t mode)
{
  cleanup_close int in = open (from, O_RDONLY | O_CLOEXEC);
  cleanup_close int out = open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  char buf[65536];
  ssize_t n;

  if (in < 0 || out < 0)
    return -1;
  while ((n = read (in, buf, sizeof (buf))) > 0)
    if (husk_write_all (out, buf, (size_t) n) < 0)
      return -1;
  return n < 0 ? -1 : 0;
}

/* TOP/lower: /bin/busybox (static) and the applets the tests run.  */
static int
make_lower (void)
{
  static const char *const applets[] = { "sh", "cat", "sleep", "readlink", "ls", "echo" };
  static const char *const dirs[] = { "bin", "proc", "sys", "dev", "etc", "tmp" };
  const char *bb = access ("/bin/busybox", X_OK) == 0 ? "/bin/busybox" : "/usr/bin/busybox";
  char path[512];

  snprintf (lower, sizeof (lower), "%s/lower", top);
  if (mkdir (lower, 0755) < 0)
    return -1;
  for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/%s", lower, dirs[i]);
      if (mkdir (path, 0755) < 0)
        return -1;
    }
  snprintf (path, sizeof (path), "%s/bin/busybox", lower);
  if (copy_file (bb, path, 0755) < 0)
    return -1;
  for (size_t i = 0; i < sizeof (applets) / sizeof (applets[0]); i++)
    {
      snprintf (path, sizeof (path), "%s/bin/%s", lower, applets[i]);
      if (symlink ("busybox", path) < 0)
        return -1;
    }
  return 0;
}

struct ctr
{
  char dir[256], upper[300], work[300], rootfs[300];
  char *lowerdirs[2];
  struct husk_container_spec spec;
  struct husk_container_proc proc;
};

static char *env[] = { "PATH=/bin", NULL };

/* A container named NAME below TOP, its directories owned by the caller.  */
static int
ctr_init (struct ctr *c, const char *name)
{
  memset (c, 0, sizeof (*c));
  snprintf (c->dir, sizeof (c->dir), "%s/%s", top, name);
  snprintf (c->upper, sizeof (c->upper), "%s/upper", c->dir);
  snprintf (c->work, sizeof (c->work), "%s/work", c->dir);
  snprintf (c->rootfs, sizeof (c->rootfs), "%s/rootfs", c->dir);
  if (mkdir (c->dir, 0755) < 0 || mkdir (c->upper, 0755) < 0 || mkdir (c->work, 0700) < 0
      || mkdir (c->rootfs, 0755) < 0)
    return -1;
  c->lowerdirs[0] = lower;
  c->spec.lowerdirs = c->lowerdirs;
  c->spec.upperdir = c->upper;
  c->spec.workdir = c->work;
  c->spec.rootfs = c->rootfs;
  c->spec.env = env;
  c->spec.cwd = "/";
  c->spec.hostname = "nsjoin";
  c->proc.pid = -1;
  c->proc.master = -1;
  c->proc.userns = -1;
  return 0;
}

/* Start C running "sh -c SCRIPT" with the namespaces NS (N entries) and MAP.  */
static int
ctr_start (struct ctr *c, const char *script, const struct husk_namespace *ns, size_t n,
           const struct husk_idmap *map, struct husk_error **err)
{
  static char sh[] = "sh", dash_c[] = "-c";
  static char *args[4][4];
  static int slot;
  const int stdio[3] = { devnull, devnull, devnull };
  char **argv = args[slot++ % 4];

  argv[0] = sh;
  argv[1] = dash_c;
  argv[2] = (char *) script;
  argv[3] = NULL;
  c->spec.args = argv;
  c->spec.namespaces = ns;
  c->spec.n_namespaces = n;
  c->spec.idmap = map;
  return husk_container_spawn (&c->spec, stdio, &c->proc, err);
}

static int
ctr_wait (struct ctr *c)
{
  int status = -1;

  if (c->proc.pid <= 0)
    return -1;
  while (waitpid (c->proc.pid, &status, 0) < 0 && errno == EINTR)
    ;
  c->proc.pid = -1;
  return husk_wait_status (status);
}

static void
ctr_kill (struct ctr *c)
{
  if (c->proc.pid > 0)
    {
      kill (c->proc.pid, SIGKILL);
      ctr_wait (c);
    }
  if (c->proc.master >= 0)
    close (c->proc.master);
  c->proc.master = -1;
}

/* What the container wrote to /NAME (its upper directory), without the final newline; ""
   when it is not there within 10 seconds.  */
static char *
ctr_file (struct ctr *c, const char *name)
{
  char path[400];
  char *buf = NULL;
  size_t len = 0;

  snprintf (path, sizeof (path), "%s/%s", c->upper, name);
  for (int i = 0; i < 1000; i++)
    {
      struct stat st;
      if (stat (path, &st) == 0 && st.st_size > 0)
        break;
      usleep (10000);
    }
  if (husk_read_file_at (AT_FDCWD, path, 1 << 20, &buf, &len, NULL) < 0)
    return husk_xstrdup ("");
  while (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  return buf;
}

/* "net:[INODE]", as readlink /proc/self/ns/net shows the namespace PATH is.  */
static char *
ns_link (const char *type, const char *path)
{
  struct stat st;

  if (stat (path, &st) < 0)
    return husk_strdup_printf ("(%s: %s)", path, strerror (errno));
  return husk_strdup_printf ("%s:[%llu]", type, (unsigned long long) st.st_ino);
}

/* husk exec of "sh -c SCRIPT" in C, as husk exec runs it; its exit status, or -1.  */
static int
exec_in (struct ctr *c, const char *script, struct husk_error **err)
{
  char sh[] = "sh", dash_c[] = "-c";
  char *argv[] = { sh, dash_c, (char *) script, NULL };
  struct husk_exec_opts o = { .args = argv };
  struct husk_exec_target t = { .id = "nsjoin", .spec = &c->spec, .pid = c->proc.pid };
  int status = -1;

  t.pid_start = husk_proc_start_time (c->proc.pid);
  if (husk_exec (&t, &o, &status, err) < 0)
    return -1;
  return status;
}

/* Mount, pid, uts, ipc and cgroup new, as husk makes them; more added by the caller.  */
static size_t
base_list (struct husk_namespace *ns, bool with_pid)
{
  size_t n = 0;

  ns[n++] = (struct husk_namespace){ HUSK_NS_MOUNT, NULL };
  if (with_pid)
    ns[n++] = (struct husk_namespace){ HUSK_NS_PID, NULL };
  ns[n++] = (struct husk_namespace){ HUSK_NS_UTS, NULL };
  ns[n++] = (struct husk_namespace){ HUSK_NS_IPC, NULL };
  ns[n++] = (struct husk_namespace){ HUSK_NS_CGROUP, NULL };
  return n;
}

/* As root: a network namespace made by `ip netns add`, with a bridge of its own in it.  */
static void
test_netns_path (void)
{
  char name[64], path[128], cmd[512];
  struct husk_namespace ns[8];
  struct ctr a, b;
  struct husk_error *err = NULL;
  size_t n;
  int r;

  snprintf (name, sizeof (name), "husk-nsjoin-%d", (int) getpid ());
  snprintf (path, sizeof (path), "/run/netns/%s", name);
  snprintf (cmd, sizeof (cmd),
            "ip netns add %s && { ip -n %s link add hsknsj0 type dummy 2>/dev/null"
            " || ip -n %s link add hsknsj0 type bridge; }",
            name, name, name);
  if (system (cmd) != 0)
    {
      skip ("ip netns add and a link in it: not possible here");
      snprintf (cmd, sizeof (cmd), "ip netns del %s 2>/dev/null", name);
      (void) !system (cmd);
      return;
    }

  n = base_list (ns, true);
  ns[n++] = (struct husk_namespace){ HUSK_NS_NET, path };
  r = ctr_init (&a, "netns-a") == 0
              && ctr_start (&a,
                            "readlink /proc/self/ns/net >/netns; cat /proc/net/dev >/netdev;"
                            " ls /sys/class/net >/sysnet",
                            ns, n, NULL, &err)
                     == 0
          ? ctr_wait (&a)
          : -1;
  ok (r == 0, "a container joining %s by path runs (%s)", path, err ? err->msg : "");
  husk_error_free (&err);
  {
    cleanup_free char *want = ns_link ("net", path);
    cleanup_free char *got = ctr_file (&a, "netns");
    cleanup_free char *netdev = ctr_file (&a, "netdev");
    cleanup_free char *sysnet = ctr_file (&a, "sysnet");
    is_str (got, want, "its process is in that network namespace");
    ok (strstr (netdev, "hsknsj0:") != NULL, "/proc/net/dev inside shows the link made in it");
    ok (strstr (sysnet, "hsknsj0") != NULL, "and so does its /sys/class/net (a sysfs of its own)");
  }

  /* husk exec joins the first process's namespaces: the joined one.  */
  r = ctr_init (&b, "netns-b") == 0 && ctr_start (&b, "exec sleep 100", ns, n, NULL, &err) == 0;
  ok (r, "a second one, running (%s)", err ? err->msg : "");
  husk_error_free (&err);
  if (r)
    {
      cleanup_free char *want = ns_link ("net", path);
      cleanup_free char *got = NULL;
      r = exec_in (&b, "readlink /proc/self/ns/net >/exec-netns", &err);
      ok (r == 0, "husk exec in it (%s)", err ? err->msg : "");
      husk_error_free (&err);
      got = ctr_file (&b, "exec-netns");
      is_str (got, want, "husk exec ends up in the network namespace it joined by path");
    }
  ctr_kill (&b);

  snprintf (cmd, sizeof (cmd), "ip netns del %s", name);
  (void) !system (cmd);
}

/* As root: the one-line errors, before anything starts.  */
static void
test_errors (void)
{
  struct husk_namespace ns[8];
  struct ctr c;
  struct husk_error *err = NULL;
  size_t n = base_list (ns, true);

  if (ctr_init (&c, "errors") < 0)
    {
      ok (0, "container directories");
      return;
    }
  ns[n] = (struct husk_namespace){ HUSK_NS_NET, "/proc/self/ns/uts" };
  ok (ctr_start (&c, "true", ns, n + 1, NULL, &err) < 0 && c.proc.pid < 0
          && strcmp (err->msg,
                     "namespace \"/proc/self/ns/uts\": is not a network namespace (it is a uts "
                     "one)")
                 == 0,
      "a uts namespace given as the network one: %s", err ? err->msg : "(started)");
  husk_error_free (&err);
  ns[n] = (struct husk_namespace){ HUSK_NS_NET, "/run/netns/husk-nsjoin-missing" };
  ok (ctr_start (&c, "true", ns, n + 1, NULL, &err) < 0 && c.proc.pid < 0
          && strcmp (err->msg, "namespace \"/run/netns/husk-nsjoin-missing\": No such file or "
                               "directory")
                 == 0,
      "a missing path: %s", err ? err->msg : "(started)");
  husk_error_free (&err);
  ctr_kill (&c);
}

/* As root: another container's pid namespace, joined by path; the joiner's child is in it
   (not its pid 1), and so is what husk exec starts.  */
static void
test_pidns_path (void)
{
  struct husk_namespace ns_a[8], ns_b[8];
  struct ctr a, b;
  struct husk_error *err = NULL;
  char pidns[64];
  size_t na, nb;
  int r;

  na = base_list (ns_a, true);
  ns_a[na++] = (struct husk_namespace){ HUSK_NS_NET, NULL };
  r = ctr_init (&a, "pid-a") == 0 && ctr_start (&a, "exec sleep 100", ns_a, na, NULL, &err) == 0;
  ok (r, "a container with a pid namespace of its own runs (%s)", err ? err->msg : "");
  husk_error_free (&err);
  if (!r)
    return;
  snprintf (pidns, sizeof (pidns), "/proc/%d/ns/pid", (int) a.proc.pid);
  nb = base_list (ns_b, false);
  ns_b[nb++] = (struct husk_namespace){ HUSK_NS_NET, NULL };
  ns_b[nb++] = (struct husk_namespace){ HUSK_NS_PID, pidns };
  r = ctr_init (&b, "pid-b") == 0
      && ctr_start (&b,
                    "readlink /proc/self/ns/pid >/pidns; cat /proc/1/cmdline >/init;"
                    " echo $$ >/mypid; exec sleep 100",
                    ns_b, nb, NULL, &err)
             == 0;
  ok (r, "another joins it by path (%s)", err ? err->msg : "");
  husk_error_free (&err);
  if (r)
    {
      cleanup_free char *want = ns_link ("pid", pidns);
      cleanup_free char *got = ctr_file (&b, "pidns");
      cleanup_free char *init = ctr_file (&b, "init");
      cleanup_free char *mypid = ctr_file (&b, "mypid");
      cleanup_free char *exec_got = NULL;
      is_str (got, want, "its process is in the first one's pid namespace");
      ok (strncmp (init, "sleep", 5) == 0, "its /proc shows the first one's pid 1 (\"%s\")", init);
      ok (*mypid != '\0' && strcmp (mypid, "1") != 0, "and it is not pid 1 there (%s)", mypid);
      r = exec_in (&b, "readlink /proc/self/ns/pid >/exec-pidns", &err);
      ok (r == 0, "husk exec in it (%s)", err ? err->msg : "");
      husk_error_free (&err);
      exec_got = ctr_file (&b, "exec-pidns");
      is_str (exec_got, want, "husk exec ends up in the pid namespace it joined");
    }
  ctr_kill (&b);
  ctr_kill (&a);
}

/* What the rootless child found, sent back to the test on a pipe.  */
struct rootless_report
{
  int stage; /* How far it got: 3 is all.  */
  char err[512];
  char want_net[64], got_net[64], exec_net[64];
  int exec_status;
  int refused;
  char refusal[512];
};

static void
report_err (struct rootless_report *rep, struct husk_error **err)
{
  snprintf (rep->err, sizeof (rep->err), "%s", *err ? (*err)->msg : "failed");
  husk_error_free (err);
}

/* As husk-sub: A with a user namespace (its id map) and a network namespace of its own; B
   joins A's user and network namespaces by path, without an id map; C makes a user namespace
   of its own and cannot join A's network namespace.  */
static void
rootless_child (int out)
{
  struct rootless_report rep;
  struct husk_idmap map;
  struct husk_namespace ns_a[8], ns_b[8], ns_c[8];
  struct ctr a, b, c;
  struct husk_error *err = NULL;
  char user_a[64], net_a[64];
  size_t na, nb, nc;

  memset (&rep, 0, sizeof (rep));
  if (husk_idmap_for_user (getuid (), getgid (), NULL, NULL, &map, &err) < 0)
    {
      report_err (&rep, &err);
      goto out;
    }
  na = base_list (ns_a, true);
  ns_a[na++] = (struct husk_namespace){ HUSK_NS_USER, NULL };
  ns_a[na++] = (struct husk_namespace){ HUSK_NS_NET, NULL };
  if (ctr_init (&a, "rootless-a") < 0 || ctr_start (&a, "exec sleep 100", ns_a, na, &map, &err) < 0)
    {
      report_err (&rep, &err);
      goto out;
    }
  rep.stage = 1;
  snprintf (user_a, sizeof (user_a), "/proc/%d/ns/user", (int) a.proc.pid);
  snprintf (net_a, sizeof (net_a), "/proc/%d/ns/net", (int) a.proc.pid);
  {
    cleanup_free char *want = ns_link ("net", net_a);
    snprintf (rep.want_net, sizeof (rep.want_net), "%s", want);
  }

  nb = base_list (ns_b, true);
  ns_b[nb++] = (struct husk_namespace){ HUSK_NS_USER, user_a };
  ns_b[nb++] = (struct husk_namespace){ HUSK_NS_NET, net_a };
  if (ctr_init (&b, "rootless-b") < 0
      || ctr_start (&b, "readlink /proc/self/ns/net >/netns; exec sleep 100", ns_b, nb, NULL, &err)
             < 0)
    {
      report_err (&rep, &err);
      goto out_a;
    }
  rep.stage = 2;
  {
    cleanup_free char *got = ctr_file (&b, "netns");
    cleanup_free char *exec_got = NULL;
    snprintf (rep.got_net, sizeof (rep.got_net), "%s", got);
    rep.exec_status = exec_in (&b, "readlink /proc/self/ns/net >/exec-netns", &err);
    if (rep.exec_status < 0)
      report_err (&rep, &err);
    exec_got = ctr_file (&b, "exec-netns");
    snprintf (rep.exec_net, sizeof (rep.exec_net), "%s", exec_got);
  }
  ctr_kill (&b);

  nc = base_list (ns_c, true);
  ns_c[nc++] = (struct husk_namespace){ HUSK_NS_USER, NULL };
  ns_c[nc++] = (struct husk_namespace){ HUSK_NS_NET, net_a };
  if (ctr_init (&c, "rootless-c") == 0)
    {
      rep.refused = ctr_start (&c, "true", ns_c, nc, &map, &err) < 0;
      snprintf (rep.refusal, sizeof (rep.refusal), "%s", err ? err->msg : "(started)");
      if (err && err->errnum != EPERM)
        rep.refused = 0;
      husk_error_free (&err);
      ctr_kill (&c);
      rep.stage = 3;
    }
out_a:
  ctr_kill (&a);
out:
  (void) !husk_write_all (out, &rep, sizeof (rep));
}

static void
test_rootless (void)
{
  struct passwd *pw = getpwnam ("husk-sub");
  struct rootless_report rep;
  int p[2], status;
  pid_t pid;
  ssize_t n;

  if (pw == NULL)
    {
      skip ("rootless: no user husk-sub");
      return;
    }
  if (chown (top, pw->pw_uid, pw->pw_gid) < 0 || pipe2 (p, O_CLOEXEC) < 0)
    {
      ok (0, "rootless: set up: %s", strerror (errno));
      return;
    }
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      if (setgroups (0, NULL) < 0 || setgid (pw->pw_gid) < 0 || setuid (pw->pw_uid) < 0)
        _exit (1);
      /* A process that changed its ids is not dumpable: its /proc files would be root's,
         which its own user namespaces' maps are written through.  */
      prctl (PR_SET_DUMPABLE, 1, 0, 0, 0);
      rootless_child (p[1]);
      fflush (stdout);
      _exit (0);
    }
  close (p[1]);
  memset (&rep, 0, sizeof (rep));
  n = husk_read_all (p[0], &rep, sizeof (rep));
  close (p[0]);
  waitpid (pid, &status, 0);
  if (chown (top, 0, 0) < 0)
    {
    }
  ok (n == (ssize_t) sizeof (rep) && rep.stage >= 1,
      "rootless: a container with its own user and network namespaces runs (%s)", rep.err);
  ok (rep.stage >= 2, "rootless: another joins its user and network namespaces by path (%s)",
      rep.err);
  ok (rep.want_net[0] && strcmp (rep.got_net, rep.want_net) == 0,
      "rootless: it is in the first one's network namespace (%s, %s)", rep.got_net, rep.want_net);
  ok (rep.exec_status == 0 && strcmp (rep.exec_net, rep.want_net) == 0,
      "rootless: husk exec in it ends up there too (%d, %s)", rep.exec_status, rep.exec_net);
  ok (rep.stage >= 3 && rep.refused
          && strstr (rep.refusal, "\": join the network namespace: it belongs to a user "
                                  "namespace this process has no CAP_SYS_ADMIN in")
                 != NULL,
      "rootless: without joining the user namespace that owns it, one line with EPERM: %s",
      rep.refusal);
}

int
main (void)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP starts containers: root only\n");
      return 0;
    }
  if (access ("/bin/busybox", X_OK) < 0 && access ("/usr/bin/busybox", X_OK) < 0)
    {
      printf ("1..0 # SKIP no static busybox (busybox-static)\n");
      return 0;
    }
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (mkdtemp (top) == NULL || chmod (top, 0755) < 0 || make_lower () < 0 || devnull < 0)
    {
      ok (0, "a layer with busybox in %s: %s", top, strerror (errno));
      return tap_done ();
    }
  test_errors ();
  test_netns_path ();
  test_pidns_path ();
  test_rootless ();
  husk_rm_rf_at (AT_FDCWD, top, NULL);
  return tap_done ();
}
