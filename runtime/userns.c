#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "cleanup.h"
#include "passwd.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

static int
read_subid_file (const char *path, const char *name, uid_t id, struct husk_idrange *ranges,
                 size_t *n, struct husk_error **err)
{
  cleanup_file FILE *f = fopen (path, "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  uint32_t next = 1;
  char idstr[32];

  *n = 0;
  if (f == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return husk_error_set (err, errno, "open \"%s\"", path);
    }
  snprintf (idstr, sizeof (idstr), "%u", (unsigned) id);
  while (getline (&line, &cap, f) > 0)
    {
      char *owner = line, *start, *count, *end;
      uint64_t s, c;

      line[strcspn (line, "\n")] = '\0';
      start = strchr (owner, ':');
      if (start == NULL)
        continue;
      *start++ = '\0';
      count = strchr (start, ':');
      if (count == NULL)
        continue;
      *count++ = '\0';
      if ((end = strchr (count, ':')) != NULL)
        *end = '\0';
      if (strcmp (owner, idstr) != 0 && (name == NULL || strcmp (owner, name) != 0))
        continue;
      if (husk_parse_u64 (start, UINT32_MAX, &s) < 0 || husk_parse_u64 (count, UINT32_MAX, &c) < 0
          || c == 0)
        continue;
      /* Container ids must stay below 2^32 - 1 (the kernel's invalid id).  */
      if (c > (uint64_t) UINT32_MAX - 1 - next || s + c > UINT32_MAX)
        continue;
      if (*n == HUSK_IDMAP_MAX - 1)
        break;
      ranges[*n]
          = (struct husk_idrange){ .container = next, .host = (uint32_t) s, .size = (uint32_t) c };
      next += (uint32_t) c;
      (*n)++;
    }
  return 0;
}

int
husk_idmap_for_user (uid_t uid, gid_t gid, const char *subuid, const char *subgid,
                     struct husk_idmap *ret, struct husk_error **err)
{
  struct husk_idmap m;
  cleanup_free char *name = NULL;
  size_t n;

  husk_host_passwd (NULL, uid, &name, NULL);
  memset (&m, 0, sizeof (m));
  m.uid = uid;
  m.gid = gid;
  m.uids[0] = (struct husk_idrange){ .container = 0, .host = uid, .size = 1 };
  m.gids[0] = (struct husk_idrange){ .container = 0, .host = gid, .size = 1 };
  if (read_subid_file (subuid ? subuid : "/etc/subuid", name, uid, m.uids + 1, &n, err) < 0)
    return -1;
  m.n_uids = 1 + n;
  if (read_subid_file (subgid ? subgid : "/etc/subgid", name, uid, m.gids + 1, &n, err) < 0)
    return -1;
  m.n_gids = 1 + n;
  /* One file without the other would give files owners that cannot be mapped back.  */
  if (m.n_uids == 1 || m.n_gids == 1)
    m.n_uids = m.n_gids = 1;
  *ret = m;
  return 0;
}

bool
husk_idmap_has_range (const struct husk_idmap *m)
{
  return m->n_uids > 1;
}

static pid_t
spawn_helper (const char *prog, pid_t pid, const struct husk_idrange *r, size_t n,
              struct husk_error **err)
{
  char *argv[2 + 3 * HUSK_IDMAP_MAX + 1];
  char buf[3 * HUSK_IDMAP_MAX + 1][16];
  size_t a = 0;
  pid_t child;

  argv[a++] = (char *) prog;
  snprintf (buf[0], sizeof (buf[0]), "%d", (int) pid);
  argv[a++] = buf[0];
  for (size_t i = 0; i < n; i++)
    {
      snprintf (buf[1 + 3 * i], 16, "%u", r[i].container);
      snprintf (buf[2 + 3 * i], 16, "%u", r[i].host);
      snprintf (buf[3 + 3 * i], 16, "%u", r[i].size);
      argv[a++] = buf[1 + 3 * i];
      argv[a++] = buf[2 + 3 * i];
      argv[a++] = buf[3 + 3 * i];
    }
  argv[a] = NULL;

  child = fork ();
  if (child < 0)
    {
      husk_error_set (err, errno, "fork");
      return -1;
    }
  if (child == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, 0);
      execvp (prog, argv);
      if (errno == ENOENT)
        fprintf (stderr, "husk: \"%s\" not found: install the uidmap package\n", prog);
      else
        fprintf (stderr, "husk: exec \"%s\": %s\n", prog, strerror (errno));
      _exit (127);
    }
  return child;
}

static int
wait_helper (const char *prog, pid_t child, struct husk_error **err)
{
  int status;

  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "wait for \"%s\"", prog);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return husk_error_set (err, 0, "\"%s\" failed to write the id map (exit status %d)", prog,
                           WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
  return 0;
}

static int
write_proc (pid_t pid, const char *file, const char *content, struct husk_error **err)
{
  char path[64];
  cleanup_close int fd = -1;

  snprintf (path, sizeof (path), "/proc/%d/%s", (int) pid, file);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s\"", path);
  if (husk_write_all (fd, content, strlen (content)) < 0)
    return husk_error_set (err, errno, "write \"%s\"", path);
  return 0;
}

int
husk_idmap_apply (const struct husk_idmap *m, pid_t pid, struct husk_error **err)
{
  char line[64];

  if (husk_idmap_has_range (m))
    {
      /* The two helpers write different files: run them side by side.  */
      cleanup_error struct husk_error *gerr = NULL;
      pid_t u = spawn_helper ("newuidmap", pid, m->uids, m->n_uids, err), g;
      int ru, rg;
      if (u < 0)
        return -1;
      g = spawn_helper ("newgidmap", pid, m->gids, m->n_gids, &gerr);
      ru = wait_helper ("newuidmap", u, err);
      rg = g < 0 ? -1 : wait_helper ("newgidmap", g, &gerr);
      if (ru < 0)
        return -1;
      if (rg < 0)
        {
          *err = TAKE_PTR (gerr);
          return -1;
        }
      return 0;
    }
  /* A single id may be mapped by its owner without help, but only once setgroups is denied:
     otherwise the namespace's root could drop a group that was denying it access
     (CVE-2014-8989).  */
  if (write_proc (pid, "setgroups", "deny", err) < 0)
    return -1;
  snprintf (line, sizeof (line), "0 %u 1\n", (unsigned) m->uid);
  if (write_proc (pid, "uid_map", line, err) < 0)
    return -1;
  snprintf (line, sizeof (line), "0 %u 1\n", (unsigned) m->gid);
  return write_proc (pid, "gid_map", line, err);
}

void
husk_child_report (int fd, int status, const struct husk_error *err)
{
  char head[32];
  const char *msg = err && err->msg ? err->msg : "failed";
  int n = snprintf (head, sizeof (head), "%d %d\n", status, err ? err->errnum : 0);

  if (n > 0)
    husk_write_all (fd, head, (size_t) n);
  husk_write_all (fd, msg, strlen (msg));
}

int
husk_child_collect (int fd, struct husk_error **err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0;
  int status = 0, errnum = 0;
  char *nl;

  for (;;)
    {
      ssize_t r;
      if (cap - len < 1024)
        {
          cap = cap ? cap * 2 : 4096;
          buf = husk_xrealloc (buf, cap);
        }
      r = read (fd, buf + len, cap - len - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      len += (size_t) r;
      if (len > 64 * 1024)
        break;
    }
  if (len == 0)
    return 0;
  buf[len] = '\0';
  nl = strchr (buf, '\n');
  if (nl == NULL || sscanf (buf, "%d %d", &status, &errnum) != 2)
    {
      husk_error_set (err, 0, "child failed");
      return 1;
    }
  husk_error_set (err, 0, "%s", nl + 1);
  (*err)->errnum = errnum;
  (*err)->status = status;
  return 1;
}

/* In a child: FN (ARG), its error (if any) reported on REPORT for husk_child_collect, and the
   child's exit, 0 or 1, with stdio flushed first.  */
static void __attribute__ ((noreturn))
child_run (int (*fn) (void *arg, struct husk_error **err), void *arg, int report)
{
  struct husk_error *cerr = NULL;

  if (fn (arg, &cerr) < 0)
    {
      fflush (NULL);
      husk_child_report (report, husk_error_status (cerr, 0), cerr);
      _exit (1);
    }
  fflush (NULL);
  _exit (0);
}

/* The end of a helper child: its report from REPORT_R (the error it sent, if any), then its
   exit status, reaped (*CHILD is zeroed once reaped).  WHAT names it in the error for a
   status other than 0: "WHAT failed (status N)".  */
static int
collect_child (int report_r, pid_t *child, const char *what, struct husk_error **err)
{
  int status, r = husk_child_collect (report_r, err);

  while (waitpid (*child, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_set (err, errno, "wait");
  *child = 0;
  if (r > 0)
    return -1;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return husk_error_set (err, 0, "%s failed (status %d)", what, status);
  return 0;
}

int
husk_userns_run (const struct husk_idmap *m, int (*fn) (void *arg, struct husk_error **err),
                 void *arg, struct husk_error **err)
{
  int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, report[2] = { -1, -1 };
  cleanup_close int ready_r = -1, go_w = -1, report_r = -1;
  cleanup_pid pid_t child = 0;
  int r;
  char c;

  if (m == NULL)
    return fn (arg, err);

  if (pipe2 (ready, O_CLOEXEC) < 0 || pipe2 (go, O_CLOEXEC) < 0 || pipe2 (report, O_CLOEXEC) < 0)
    {
      int e = errno;
      for (int i = 0; i < 2; i++)
        {
          if (ready[i] >= 0)
            close (ready[i]);
          if (go[i] >= 0)
            close (go[i]);
          if (report[i] >= 0)
            close (report[i]);
        }
      return husk_error_set (err, e, "pipe");
    }
  fflush (NULL);
  child = fork ();
  if (child < 0)
    {
      child = 0;
      return husk_error_set (err, errno, "fork");
    }
  if (child == 0)
    {
      struct husk_error *cerr = NULL;
      close (ready[0]);
      close (go[1]);
      close (report[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (unshare (CLONE_NEWUSER) < 0)
        {
          husk_error_set (&cerr, errno, "create user namespace");
          husk_child_report (report[1], 1, cerr);
          _exit (1);
        }
      if (write (ready[1], "r", 1) != 1 || read (go[0], &c, 1) != 1)
        _exit (1);
      /* Now root of the namespace; drop the host's supplementary groups where allowed.  */
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        {
          husk_error_set (&cerr, errno, "become root in the user namespace");
          husk_child_report (report[1], 1, cerr);
          _exit (1);
        }
      setgroups (0, NULL);
      child_run (fn, arg, report[1]);
    }
  close (ready[1]);
  close (go[0]);
  close (report[1]);
  ready_r = ready[0];
  go_w = go[1];
  report_r = report[0];

  do
    r = (int) read (ready_r, &c, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1)
    {
      if (husk_child_collect (report_r, err) > 0)
        return -1;
      return husk_error_set (err, 0, "user namespace helper died");
    }
  if (husk_idmap_apply (m, child, err) < 0)
    return husk_error_wrap (err, "user namespace");
  if (write (go_w, "g", 1) != 1)
    return husk_error_set (err, errno, "user namespace helper");
  close (TAKE_FD (go_w));

  return collect_child (report_r, &child, "user namespace helper", err);
}

/* FN in a forked child; its error comes back through a pipe.  */
int
husk_child_run (int (*fn) (void *arg, struct husk_error **err), void *arg, struct husk_error **err)
{
  int report[2];
  cleanup_close int report_r = -1;
  cleanup_pid pid_t child = 0;

  if (pipe2 (report, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "pipe");
  report_r = report[0];
  fflush (NULL);
  child = fork ();
  if (child < 0)
    {
      child = 0;
      close (report[1]);
      return husk_error_set (err, errno, "fork");
    }
  if (child == 0)
    {
      close (report[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      child_run (fn, arg, report[1]);
    }
  close (report[1]);
  return collect_child (report_r, &child, "helper process", err);
}
