/* hsk-report: reports what a process sees from inside a husk container.
 *
 * Built statically and put in test images at /usr/bin/hsk-report, so the
 * integration tests can ask questions (ids, maps, mounts, fds) without
 * depending on what busybox prints.  Exit status 2 means bad usage; 1 means
 * the question could not be answered (the reason is on stderr).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <time.h>
#include <sys/resource.h>
#include <termios.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *prog = "hsk-report";

static int
usage (void)
{
  fprintf (stderr,
           "usage: %s COMMAND [ARG]\n"
           "commands:\n"
           "  uidmap | gidmap   print /proc/self/{u,g}id_map, one mapping per line,\n"
           "                    fields separated by one space\n"
           "  ids               print \"uid=N gid=N\"\n"
           "  euid              print the effective uid and gid, \"euid=N egid=N\"\n"
           "  pid               print getpid()\n"
           "  hostname          print the UTS nodename\n"
           "  cwd               print the working directory\n"
           "  env NAME          print $NAME, exit 1 if unset\n"
           "  udp-echo PORT     answer each UDP datagram to PORT with \"echo:\" and its bytes\n"
           "  stat PATH         print \"uid gid mode\" (mode in octal, lstat)\n"
           "  fds               print the open fd numbers, one per line\n"
           "  exit N            exit with status N\n"
           "  kill-self SIG     die from signal SIG (number or name); as the init of a\n"
           "                    pid namespace only SEGV, FPE and ILL can do it (exit 3\n"
           "                    if the signal was ignored)\n"
           "  wait-signal       block every signal, print \"ready\", then print \"signal N\"\n"
           "                    for the first one that comes (its number, as the\n"
           "                    kernel gives it) and exit 0; the target of husk stop\n"
           "  mounts            print /proc/self/mountinfo\n"
           "  status FIELD      print FIELD's value from /proc/self/status\n"
           "  groups            print the supplementary groups, space-separated\n"
           "  try OP [ARG]      attempt OP and print \"ok\" or the errno name (exit 0\n"
           "                    either way): write PATH (open for writing), mount PATH\n"
           "                    (a tmpfs), unshare user|mnt|net|pid, kill PID (SIGTERM),\n"
           "                    tiocsti [TEXT] (push TEXT, or a newline, into the\n"
           "                    terminal of the first of fds 0-2 that is one)\n"
           "  race PATH TARGET  keep a symlink to TARGET at PATH until killed: whatever\n"
           "                    else appears there is swapped (renameat2 RENAME_EXCHANGE)\n"
           "                    for a fresh link and moved aside to PATH.N; a container\n"
           "                    racing husk cp, for the tests\n"
           "  flip PATH TARGET  make PATH a directory, then swap it with a symlink to\n"
           "                    TARGET and back (RENAME_EXCHANGE) until killed: a\n"
           "                    container racing a mount destination\n"
           "  watch-husk SECS   for SECS seconds, try every new process whose executable\n"
           "                    is still husk (argv[0] husk): open /proc/PID/fd/N,\n"
           "                    /proc/PID/mem, /proc/PID/environ, PTRACE_ATTACH; print\n"
           "                    \"PID WHAT ok\" for each that worked, then \"seen N\"\n",
           prog);
  return 2;
}

static int
fail (const char *what, const char *obj)
{
  fprintf (stderr, "%s: %s \"%s\": %s\n", prog, what, obj, strerror (errno));
  return 1;
}

static bool
parse_long (const char *s, long min, long max, long *ret)
{
  char *end = NULL;
  long v;

  if (s == NULL || *s == '\0')
    return false;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return false;
  *ret = v;
  return true;
}

static int
cat_file (const char *path)
{
  char buf[8192];
  FILE *f = fopen (path, "re");
  size_t n;

  if (f == NULL)
    return fail ("open", path);
  while ((n = fread (buf, 1, sizeof (buf), f)) > 0)
    {
      if (fwrite (buf, 1, n, stdout) != n)
        {
          fclose (f);
          return fail ("write", "stdout");
        }
    }
  if (ferror (f))
    {
      fclose (f);
      return fail ("read", path);
    }
  fclose (f);
  return 0;
}

/* The kernel pads id maps with spaces to fixed widths; collapse them so the
 * tests can compare with plain strings like "0 1000 1". */
static int
print_idmap (const char *path)
{
  char line[256];
  FILE *f = fopen (path, "re");

  if (f == NULL)
    return fail ("open", path);
  while (fgets (line, sizeof (line), f) != NULL)
    {
      char *save = NULL;
      const char *sep = "";
      for (char *tok = strtok_r (line, " \t\n", &save); tok != NULL;
           tok = strtok_r (NULL, " \t\n", &save))
        {
          printf ("%s%s", sep, tok);
          sep = " ";
        }
      putchar ('\n');
    }
  if (ferror (f))
    {
      fclose (f);
      return fail ("read", path);
    }
  fclose (f);
  return 0;
}

static int
cmd_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *de;
  int self;

  if (d == NULL)
    return fail ("open", "/proc/self/fd");
  self = dirfd (d);
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      long fd;
      if (!parse_long (de->d_name, 0, INT_MAX, &fd))
        continue; /* "." and ".." */
      if (fd == self)
        continue;
      printf ("%ld\n", fd);
    }
  if (errno != 0)
    {
      closedir (d);
      return fail ("read", "/proc/self/fd");
    }
  closedir (d);
  return 0;
}

static const struct
{
  const char *name;
  int sig;
} signames[] = {
  { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "ILL", SIGILL },
  { "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS },   { "FPE", SIGFPE },
  { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
  { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
};

static int
parse_signal (const char *s)
{
  long v;

  if (parse_long (s, 1, NSIG - 1, &v))
    return (int) v;
  if (strncmp (s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof (signames) / sizeof (signames[0]); i++)
    if (strcmp (s, signames[i].name) == 0)
      return signames[i].sig;
  return -1;
}

/* The init of a pid namespace cannot kill itself: the kernel drops every
 * signal, even SIGKILL, that it sends itself while the disposition is
 * SIG_DFL (SIGNAL_UNKILLABLE).  A synchronous fault is forced through, so
 * for the fault signals we raise a real fault when kill() did nothing. */
static int
cmd_kill_self (const char *arg)
{
  struct rlimit nocore = { 0, 0 };
  struct sigaction sa;
  sigset_t set;
  int sig = parse_signal (arg);

  if (sig < 0)
    {
      fprintf (stderr, "%s: unknown signal \"%s\"\n", prog, arg);
      return 2;
    }
  /* No core file in the container's working directory. */
  (void) setrlimit (RLIMIT_CORE, &nocore);
  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = SIG_DFL;
  (void) sigaction (sig, &sa, NULL);
  sigemptyset (&set);
  sigaddset (&set, sig);
  (void) sigprocmask (SIG_UNBLOCK, &set, NULL);
  fflush (NULL);

  if (kill (getpid (), sig) < 0)
    return fail ("kill", arg);

  switch (sig)
    {
    case SIGSEGV:
      {
        volatile int *volatile p = NULL;
        *p = 1;
        break;
      }
    case SIGFPE:
      {
        /* Both volatile: gcc turns 1/x into a compare, no idiv. */
        volatile int num = 7, zero = 0;
        volatile int r = num / zero;
        (void) r;
        break;
      }
    case SIGILL:
      __builtin_trap ();
      break;
    default:
      break;
    }
  fprintf (stderr, "%s: signal %d to myself (pid %ld) was ignored\n", prog, sig, (long) getpid ());
  return 3;
}

static const char *
errno_name (int e)
{
  static char buf[32];
  switch (e)
    {
    case EPERM:
      return "EPERM";
    case EACCES:
      return "EACCES";
    case EROFS:
      return "EROFS";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EINVAL:
      return "EINVAL";
    case ENOTTY:
      return "ENOTTY";
    case EIO:
      return "EIO";
    case ETXTBSY:
      return "ETXTBSY";
    case ENOSYS:
      return "ENOSYS";
    case EBADF:
      return "EBADF";
    case ENOSPC:
      return "ENOSPC";
    default:
      snprintf (buf, sizeof (buf), "errno %d", e);
      return buf;
    }
}

static int
cmd_status (const char *field)
{
  char line[512];
  size_t n = strlen (field);
  FILE *f = fopen ("/proc/self/status", "re");

  if (f == NULL)
    return fail ("open", "/proc/self/status");
  while (fgets (line, sizeof (line), f) != NULL)
    if (strncmp (line, field, n) == 0 && line[n] == ':')
      {
        char *v = line + n + 1;
        while (*v == ' ' || *v == '\t')
          v++;
        fputs (v, stdout);
        fclose (f);
        return 0;
      }
  fclose (f);
  fprintf (stderr, "%s: no field \"%s\" in /proc/self/status\n", prog, field);
  return 1;
}

static int
cmd_try (int argc, char **argv)
{
  const char *op = argv[2], *arg = argc > 3 ? argv[3] : NULL;
  int r;

  errno = 0;
  if (strcmp (op, "write") == 0 && arg)
    {
      r = open (arg, O_WRONLY | O_APPEND | O_CLOEXEC);
      if (r >= 0)
        close (r);
    }
  else if (strcmp (op, "mount") == 0 && arg)
    r = mount ("tmpfs", arg, "tmpfs", 0, NULL);
  else if (strcmp (op, "unshare") == 0 && arg)
    {
      int flag = strcmp (arg, "user") == 0  ? CLONE_NEWUSER
                 : strcmp (arg, "mnt") == 0 ? CLONE_NEWNS
                 : strcmp (arg, "net") == 0 ? CLONE_NEWNET
                 : strcmp (arg, "pid") == 0 ? CLONE_NEWPID
                                            : 0;
      if (flag == 0)
        return usage ();
      r = unshare (flag);
    }
  else if (strcmp (op, "kill") == 0 && arg)
    {
      long pid;
      if (!parse_long (arg, 1, INT_MAX, &pid))
        return usage ();
      r = kill ((pid_t) pid, SIGTERM);
    }
  else if (strcmp (op, "tiocsti") == 0)
    {
      /* ARG, or a newline: what a shell reading that terminal next would run.  */
      const char *text = arg ? arg : "\n";
      int fd = 0;
      while (fd < 2 && !isatty (fd))
        fd++;
      r = 0;
      for (const char *c = text; *c && r == 0; c++)
        r = ioctl (fd, TIOCSTI, c);
    }
  else
    return usage ();
  printf ("%s\n", r < 0 ? errno_name (errno) : "ok");
  return 0;
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* PATH.race holds the next symlink; each time something appears at PATH it is exchanged with
   that link in one step and then moved out of the way, so PATH is a symlink again at once
   and whoever made it keeps working in the moved copy.  Only a signal ends it.  */
static int
cmd_race (const char *path, const char *target)
{
  char spare[PATH_MAX], aside[PATH_MAX];
  unsigned long n = 0;

  if (snprintf (spare, sizeof (spare), "%s.race", path) >= (int) sizeof (spare))
    return usage ();
  for (;;)
    {
      struct stat st;
      if (symlink (target, spare) < 0 && errno != EEXIST)
        {
          if (errno != ENOENT) /* The directory is not there yet.  */
            return fail ("symlink", spare);
          continue;
        }
      if (syscall (SYS_renameat2, AT_FDCWD, path, AT_FDCWD, spare, RENAME_EXCHANGE) < 0)
        {
          if (errno != ENOENT)
            return fail ("renameat2", path);
          continue;
        }
      if (lstat (spare, &st) == 0 && !S_ISLNK (st.st_mode))
        {
          snprintf (aside, sizeof (aside), "%s.%lu", path, n++);
          if (rename (spare, aside) < 0)
            return fail ("rename", spare);
        }
    }
}

/* Blocked signals are queued even for the init of a pid namespace, which drops a signal it
 * has no handler for: so block them all and take the first with sigwaitinfo. */
static int
cmd_wait_signal (void)
{
  sigset_t all;
  siginfo_t si;
  int sig;

  sigfillset (&all);
  if (sigprocmask (SIG_BLOCK, &all, NULL) < 0)
    return fail ("sigprocmask", "all");
  printf ("ready\n");
  fflush (stdout);
  do
    sig = sigwaitinfo (&all, &si);
  while (sig < 0 && errno == EINTR);
  if (sig < 0)
    return fail ("sigwaitinfo", "all");
  printf ("signal %d\n", sig);
  fflush (stdout);
  return 0;
}

/* PATH is a directory or a symlink to TARGET, alternately, as fast as renameat2 goes.  */
static int
cmd_flip (const char *path, const char *target)
{
  char other[PATH_MAX];

  if (snprintf (other, sizeof (other), "%s.flip", path) >= (int) sizeof (other))
    return usage ();
  if (mkdir (path, 0755) < 0 && errno != EEXIST)
    return fail ("mkdir", path);
  if (symlink (target, other) < 0 && errno != EEXIST)
    return fail ("symlink", other);
  for (;;)
    if (syscall (SYS_renameat2, AT_FDCWD, path, AT_FDCWD, other, RENAME_EXCHANGE) < 0)
      return fail ("renameat2", path);
}

/* Whether PID is still husk: its argv[0] (readable by anyone, unlike /proc/PID/exe of a
   non-dumpable process) names husk.  */
static bool
is_husk (const char *pid)
{
  char path[64], arg0[PATH_MAX];
  const char *base;
  ssize_t n;
  int fd;

  snprintf (path, sizeof (path), "/proc/%s/cmdline", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  n = read (fd, arg0, sizeof (arg0) - 1);
  close (fd);
  if (n <= 0)
    return false;
  arg0[n] = '\0';
  base = strrchr (arg0, '/');
  base = base ? base + 1 : arg0;
  return strcmp (base, "husk") == 0;
}

/* Every way a process of the container could reach into a husk process it can see.  Only
   what worked while the process was still husk counts: after its exec it is the command,
   which the container may rightly inspect.  */
static int
cmd_watch_husk (const char *secs)
{
  static const char *const files[] = { "mem", "environ" };
  long limit, seen = 0;
  time_t end;

  if (!parse_long (secs, 1, 3600, &limit))
    return usage ();
  end = time (NULL) + limit;
  setvbuf (stdout, NULL, _IOLBF, 0);
  while (time (NULL) < end)
    {
      DIR *d = opendir ("/proc");
      struct dirent *e;

      if (d == NULL)
        return fail ("opendir", "/proc");
      while ((e = readdir (d)) != NULL)
        {
          char path[64];
          long pid;
          int fd;
          DIR *fds;

          if (!parse_long (e->d_name, 2, INT_MAX, &pid) || pid == getpid () || !is_husk (e->d_name))
            continue;
          seen++;
          for (size_t i = 0; i < sizeof (files) / sizeof (files[0]); i++)
            {
              snprintf (path, sizeof (path), "/proc/%ld/%s", pid, files[i]);
              fd = open (path, O_RDONLY | O_CLOEXEC);
              if (fd >= 0)
                {
                  close (fd);
                  if (is_husk (e->d_name))
                    printf ("%ld %s ok\n", pid, files[i]);
                }
            }
          /* Listing the numbers is allowed to whoever may read the directory; what counts is
             reaching a descriptor through one of them.  */
          snprintf (path, sizeof (path), "/proc/%ld/fd", pid);
          fds = opendir (path);
          if (fds)
            {
              struct dirent *f;
              while ((f = readdir (fds)) != NULL)
                {
                  char fdpath[320];
                  if (f->d_name[0] == '.')
                    continue;
                  snprintf (fdpath, sizeof (fdpath), "/proc/%ld/fd/%s", pid, f->d_name);
                  fd = open (fdpath, O_PATH | O_CLOEXEC);
                  if (fd >= 0)
                    {
                      close (fd);
                      if (is_husk (e->d_name))
                        printf ("%ld fd/%s ok\n", pid, f->d_name);
                    }
                }
              closedir (fds);
            }
          /* SEIZE, then INTERRUPT and wait: a stop of the watcher's own making, undone by the
             detach, never a SIGSTOP left pending in someone else's process.  */
          if (ptrace (PTRACE_SEIZE, (pid_t) pid, NULL, NULL) == 0)
            {
              bool was_husk = is_husk (e->d_name);
              int st;
              if (ptrace (PTRACE_INTERRUPT, (pid_t) pid, NULL, NULL) == 0
                  && waitpid ((pid_t) pid, &st, __WALL) == (pid_t) pid)
                ptrace (PTRACE_DETACH, (pid_t) pid, NULL, NULL);
              if (was_husk)
                printf ("%ld ptrace ok\n", pid);
            }
        }
      closedir (d);
    }
  printf ("seen %ld\n", seen);
  return 0;
}

/* udp-echo PORT: answer every datagram to UDP PORT (every IPv4 address) with "echo:" and its
   bytes, forever: a UDP peer for the published-port tests, which busybox's nc is not.  */
static int
cmd_udp_echo (const char *port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) atoi (port)) };
  int fd = socket (AF_INET, SOCK_DGRAM, 0);

  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof (a)) < 0)
    return fail ("bind udp", port);
  for (;;)
    {
      char buf[2048] = "echo:";
      struct sockaddr_in from;
      socklen_t len = sizeof (from);
      ssize_t n = recvfrom (fd, buf + 5, sizeof (buf) - 5, 0, (struct sockaddr *) &from, &len);
      if (n < 0)
        return fail ("recvfrom", port);
      sendto (fd, buf, (size_t) n + 5, 0, (struct sockaddr *) &from, len);
    }
}

int
main (int argc, char **argv)
{
  const char *cmd;

  if (argc < 2)
    return usage ();
  cmd = argv[1];

#define NARGS(n)                                                                                   \
  do                                                                                               \
    {                                                                                              \
      if (argc != (n) + 2)                                                                         \
        return usage ();                                                                           \
    }                                                                                              \
  while (0)

  if (strcmp (cmd, "uidmap") == 0)
    {
      NARGS (0);
      return print_idmap ("/proc/self/uid_map");
    }
  else if (strcmp (cmd, "gidmap") == 0)
    {
      NARGS (0);
      return print_idmap ("/proc/self/gid_map");
    }
  else if (strcmp (cmd, "ids") == 0)
    {
      NARGS (0);
      printf ("uid=%lu gid=%lu\n", (unsigned long) getuid (), (unsigned long) getgid ());
    }
  else if (strcmp (cmd, "euid") == 0)
    {
      NARGS (0);
      printf ("euid=%lu egid=%lu\n", (unsigned long) geteuid (), (unsigned long) getegid ());
    }
  else if (strcmp (cmd, "pid") == 0)
    {
      NARGS (0);
      printf ("%ld\n", (long) getpid ());
    }
  else if (strcmp (cmd, "hostname") == 0)
    {
      struct utsname u;
      NARGS (0);
      if (uname (&u) < 0)
        return fail ("uname", "nodename");
      printf ("%s\n", u.nodename);
    }
  else if (strcmp (cmd, "cwd") == 0)
    {
      char buf[PATH_MAX];
      NARGS (0);
      if (getcwd (buf, sizeof (buf)) == NULL)
        return fail ("getcwd", ".");
      printf ("%s\n", buf);
    }
  else if (strcmp (cmd, "env") == 0)
    {
      const char *v;
      NARGS (1);
      v = getenv (argv[2]);
      if (v == NULL)
        return 1;
      printf ("%s\n", v);
    }
  else if (strcmp (cmd, "stat") == 0)
    {
      struct stat st;
      NARGS (1);
      if (lstat (argv[2], &st) < 0)
        return fail ("stat", argv[2]);
      printf ("%lu %lu %04o\n", (unsigned long) st.st_uid, (unsigned long) st.st_gid,
              (unsigned) (st.st_mode & 07777));
    }
  else if (strcmp (cmd, "fds") == 0)
    {
      NARGS (0);
      return cmd_fds ();
    }
  else if (strcmp (cmd, "exit") == 0)
    {
      long n;
      NARGS (1);
      if (!parse_long (argv[2], 0, 255, &n))
        return usage ();
      fflush (NULL);
      _exit ((int) n);
    }
  else if (strcmp (cmd, "kill-self") == 0)
    {
      NARGS (1);
      return cmd_kill_self (argv[2]);
    }
  else if (strcmp (cmd, "wait-signal") == 0)
    {
      NARGS (0);
      return cmd_wait_signal ();
    }
  else if (strcmp (cmd, "mounts") == 0)
    {
      NARGS (0);
      return cat_file ("/proc/self/mountinfo");
    }
  else if (strcmp (cmd, "status") == 0)
    {
      NARGS (1);
      return cmd_status (argv[2]);
    }
  else if (strcmp (cmd, "groups") == 0)
    {
      gid_t g[256];
      int n;
      NARGS (0);
      n = getgroups (256, g);
      if (n < 0)
        return fail ("getgroups", "self");
      for (int i = 0; i < n; i++)
        printf ("%s%lu", i ? " " : "", (unsigned long) g[i]);
      putchar ('\n');
    }
  else if (strcmp (cmd, "race") == 0)
    {
      NARGS (2);
      return cmd_race (argv[2], argv[3]);
    }
  else if (strcmp (cmd, "flip") == 0)
    {
      NARGS (2);
      return cmd_flip (argv[2], argv[3]);
    }
  else if (strcmp (cmd, "watch-husk") == 0)
    {
      NARGS (1);
      return cmd_watch_husk (argv[2]);
    }
  else if (strcmp (cmd, "udp-echo") == 0)
    {
      NARGS (1);
      return cmd_udp_echo (argv[2]);
    }
  else if (strcmp (cmd, "try") == 0)
    {
      if (argc < 3 || argc > 4)
        return usage ();
      return cmd_try (argc, argv);
    }
  else
    {
      return usage ();
    }
  if (fflush (stdout) != 0)
    return fail ("write", "stdout");
  return 0;
}
