/* The user's network namespace, its holder and its keeper (netns.h).  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "cleanup.h"
#include "net.h"
#include "netns.h"
#include "network.h"
#include "proc.h"
#include "rundir.h"
#include "store.h"
#include "userns.h"
#include "util.h"
#include "banned.h"

#define MAX_USERS 1024

/* RUNDIR/netns-DEV-INO: one namespace per store (its root's device and inode), since the
   networks, their bridges and addresses are the store's.  */
static char *
netns_dir (struct husk_store *s, struct husk_error **err)
{
  cleanup_free char *run = NULL;
  struct stat st;
  char *dir;

  if (husk_rundir (&run, err) < 0)
    return NULL;
  if (fstat (husk_store_rootfd (s), &st) < 0)
    {
      husk_error_set (err, errno, "store \"%s\"", husk_store_root (s));
      return NULL;
    }
  dir = husk_strdup_printf ("%s/netns-%llx-%llx", run, (unsigned long long) st.st_dev,
                            (unsigned long long) st.st_ino);
  if ((mkdir (dir, 0700) < 0 && errno != EEXIST))
    {
      husk_error_set (err, errno, "create \"%s\"", dir);
      free (dir);
      return NULL;
    }
  {
    cleanup_free char *users = husk_strdup_printf ("%s/users", dir);
    if (mkdir (users, 0700) < 0 && errno != EEXIST)
      {
        husk_error_set (err, errno, "create \"%s\"", users);
        free (dir);
        return NULL;
      }
  }
  return dir;
}

static int
lock_dir (const char *dir, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("%s/lock", dir);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s\"", path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        close (fd);
        return husk_error_set (err, errno, "lock \"%s\"", path);
      }
  return fd;
}

/* The holder from DIR/holder when the keeper and the holder both still run, else 0.  */
static pid_t
read_holder (const char *dir)
{
  cleanup_free char *path = husk_strdup_printf ("%s/holder", dir), *buf = NULL;
  size_t len;
  int kp, hp;
  uint64_t ks, hs;

  if (husk_read_file_at (AT_FDCWD, path, 256, &buf, &len, NULL) < 0
      || sscanf (buf, "%d %" SCNu64 " %d %" SCNu64, &kp, &ks, &hp, &hs) != 4)
    return 0;
  if (!husk_proc_alive (kp, ks) || !husk_proc_alive (hp, hs))
    return 0;
  return hp;
}

/* DIR/users/ID naming the calling process.  */
static int
write_user (const char *dir, const char *id, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("%s/users/%s", dir, id);
  char buf[64];
  int len = snprintf (buf, sizeof (buf), "%d %" PRIu64 "\n", (int) getpid (),
                      husk_proc_start_time (getpid ()));
  return husk_write_file_replace_at (AT_FDCWD, path, buf, (size_t) len, 0600, err);
}

/* The keeper's view of one user: its process's pidfd.  */
struct user
{
  char name[256];
  int pidfd;
};

/* Read DIR/users: every entry whose process runs gets a pidfd; the others are removed.
   Returns how many there are.  */
static size_t
scan_users (const char *dir, struct user *users, size_t *n)
{
  cleanup_free char *udir = husk_strdup_printf ("%s/users", dir);
  cleanup_dir DIR *d = opendir (udir);
  struct dirent *e;

  for (size_t i = 0; i < *n; i++)
    close (users[i].pidfd);
  *n = 0;
  while (d && (e = readdir (d)) && *n < MAX_USERS)
    {
      cleanup_free char *path = NULL, *buf = NULL;
      size_t len;
      int pid, fd = -1;
      uint64_t start;
      /* Only IDs: a write's temporary file is no user, and must not be taken for a dead one.  */
      if (strspn (e->d_name, "0123456789abcdef") != strlen (e->d_name))
        continue;
      path = husk_strdup_printf ("%s/%s", udir, e->d_name);
      if (husk_read_file_at (AT_FDCWD, path, 128, &buf, &len, NULL) == 0
          && sscanf (buf, "%d %" SCNu64, &pid, &start) == 2)
        fd = husk_proc_pidfd (pid, start);
      if (fd < 0)
        {
          unlink (path);
          continue;
        }
      snprintf (users[*n].name, sizeof (users[*n].name), "%s", e->d_name);
      users[(*n)++].pidfd = fd;
    }
  return *n;
}

/* The keeper: stops HOLDER and PASTA (pasta's watcher: pids, with their pidfds) once DIR/users is
   empty, or either of them dies.  Never returns.  */
static void __attribute__ ((noreturn))
keeper_loop (const char *dir, pid_t holder, int holder_fd, pid_t pasta, int pasta_fd)
{
  cleanup_free char *udir = husk_strdup_printf ("%s/users", dir);
  static struct user users[MAX_USERS];
  struct pollfd fds[MAX_USERS + 3];
  size_t n = 0;
  int ino = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);

  if (ino < 0
      || inotify_add_watch (ino, udir, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    goto stop;
  for (;;)
    {
      size_t nf = 0;
      if (scan_users (dir, users, &n) == 0)
        {
          /* Nobody needs it: stop, under the lock, so that no acquire finds it up and counts
             on it meanwhile.  */
          cleanup_error struct husk_error *err = NULL;
          int lock = lock_dir (dir, &err);
          if (scan_users (dir, users, &n) == 0)
            {
              cleanup_free char *hf = husk_strdup_printf ("%s/holder", dir);
              unlink (hf);
              kill (pasta, SIGTERM);
              kill (holder, SIGKILL);
              if (lock >= 0)
                close (lock);
              _exit (0);
            }
          if (lock >= 0)
            close (lock);
        }
      fds[nf++] = (struct pollfd){ .fd = ino, .events = POLLIN };
      fds[nf++] = (struct pollfd){ .fd = holder_fd, .events = POLLIN };
      fds[nf++] = (struct pollfd){ .fd = pasta_fd, .events = POLLIN };
      for (size_t i = 0; i < n; i++)
        fds[nf++] = (struct pollfd){ .fd = users[i].pidfd, .events = POLLIN };
      if (poll (fds, nf, -1) < 0 && errno != EINTR)
        break;
      if (fds[1].revents || fds[2].revents)
        break;
      if (fds[0].revents)
        {
          char buf[4096];
          while (read (ino, buf, sizeof (buf)) > 0)
            ;
        }
      /* A user whose process ended: its entry goes (the next scan sees it gone).  */
      for (size_t i = 0; i < n; i++)
        if (fds[3 + i].revents)
          {
            cleanup_free char *path = husk_strdup_printf ("%s/%s", udir, users[i].name);
            unlink (path);
          }
    }
stop:
  {
    cleanup_free char *hf = husk_strdup_printf ("%s/holder", dir);
    unlink (hf);
  }
  kill (pasta, SIGTERM);
  kill (holder, SIGKILL);
  _exit (1);
}

/* The holder: in a new user namespace (rootless; its map written by the keeper) and network
   namespace, lo up, forwarding on; then nothing, until the keeper is gone (SYNC's end).  */
static void __attribute__ ((noreturn)) holder_main (bool userns, int sync_r, int sync_w)
{
  cleanup_error struct husk_error *err = NULL;
  char c;

  husk_proc_set_title ("husk-netns-holder");
  if (userns && unshare (CLONE_NEWUSER) < 0)
    _exit (1);
  if (write (sync_w, "u", 1) != 1 || read (sync_r, &c, 1) != 1 || c != 'g')
    _exit (1);
  /* After the credentials changed: the kernel drops a parent-death signal when they do.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () == 1)
    _exit (1);
  if (unshare (CLONE_NEWNET) < 0 || husk_network_lo_up (&err) < 0)
    _exit (1);
  {
    int fd = open ("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write (fd, "1\n", 2) != 2)
      _exit (1);
    close (fd);
  }
  if (write (sync_w, "r", 1) != 1)
    _exit (1);
  while (read (sync_r, &c, 1) != 0)
    ;
  _exit (0);
}

/* pasta's arguments for the holder's namespace: no ports either way (containers publish
   theirs through their own forwarders), DNS forwarded at 169.254.1.1 when the host's resolver
   is on its loopback.  */
static char **
pasta_args (pid_t holder, const char *pidfile, char *pidbuf, size_t size)
{
  char **argv = husk_xcalloc (1, sizeof (char *));
  static const char *const fixed[]
      = { "pasta", "--config-net", "--quiet", "-t",   "none",          "-u",          "none",
          "-T",    "none",         "-U",      "none", "--dns-forward", "169.254.1.1", "--pid" };

  for (size_t i = 0; i < sizeof (fixed) / sizeof (fixed[0]); i++)
    husk_strv_append (&argv, fixed[i]);
  husk_strv_append (&argv, pidfile);
  if (geteuid () == 0)
    {
      husk_strv_append (&argv, "--runas");
      husk_strv_append (&argv, "0:0");
      husk_strv_append (&argv, "--netns-only");
      husk_strv_append (&argv, "--netns");
      husk_strv_append (&argv, "/proc/self/fd/3");
    }
  else
    {
      snprintf (pidbuf, size, "%d", (int) holder);
      husk_strv_append (&argv, pidbuf);
    }
  return argv;
}

/* The keeper, forked by the first acquire: starts the holder, writes its map, runs pasta on
   it, writes DIR/holder, reports "0" (or "1" and a message) on REPORT, then keeps.  */
static void __attribute__ ((noreturn))
keeper_main (const char *dir, const struct husk_idmap *map, int report)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *pidfile = husk_strdup_printf ("%s/pasta.pid", dir);
  cleanup_free char *holderfile = husk_strdup_printf ("%s/holder", dir);
  int to_holder[2], from_holder[2], holder_fd, pasta_fd, nsfd = -1;
  char c, pidbuf[16], line[128];
  pid_t holder, pasta;

  setsid ();
  husk_proc_set_title ("husk-netns-keeper");
  {
    int keep[] = { report };
    husk_close_fds_except (keep, 1);
  }
  {
    int null = open ("/dev/null", O_RDWR);
    if (null >= 0)
      {
        dup2 (null, 0);
        dup2 (null, 1);
        dup2 (null, 2);
        if (null > 2)
          close (null);
      }
  }
  signal (SIGPIPE, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  if (pipe2 (to_holder, O_CLOEXEC) < 0 || pipe2 (from_holder, O_CLOEXEC) < 0)
    {
      husk_error_set (&err, errno, "network: pipe");
      goto fail;
    }
  holder = fork ();
  if (holder < 0)
    {
      husk_error_set (&err, errno, "network: fork");
      goto fail;
    }
  if (holder == 0)
    {
      close (to_holder[1]);
      close (from_holder[0]);
      close (report);
      holder_main (map != NULL, to_holder[0], from_holder[1]);
    }
  close (to_holder[0]);
  close (from_holder[1]);
  if (read (from_holder[0], &c, 1) != 1 || c != 'u')
    {
      husk_error_set (&err, 0, "network: its namespace's holder failed to start");
      goto fail_holder;
    }
  if (map && husk_idmap_apply (map, holder, &err) < 0)
    goto fail_holder;
  if (write (to_holder[1], "g", 1) != 1 || read (from_holder[0], &c, 1) != 1 || c != 'r')
    {
      husk_error_set (&err, 0, "network: its namespace's holder failed");
      goto fail_holder;
    }
  holder_fd = (int) syscall (SYS_pidfd_open, holder, 0);
  if (geteuid () == 0)
    {
      char path[64];
      snprintf (path, sizeof (path), "/proc/%d/ns/net", (int) holder);
      nsfd = open (path, O_RDONLY | O_CLOEXEC);
    }
  {
    cleanup_strv char **argv = pasta_args (holder, pidfile, pidbuf, sizeof (pidbuf));
    /* Through a watcher, a child of this keeper's that stops pasta when the keeper dies,
       even by SIGKILL; the keeper then watches and stops the watcher, not pasta.  */
    if (husk_pasta_start_watched (argv, nsfd, pidfile, &pasta, &err) < 0)
      {
        husk_error_wrap (&err, "network: pasta");
        goto fail_holder;
      }
  }
  if (nsfd >= 0)
    close (nsfd);
  pasta_fd = (int) syscall (SYS_pidfd_open, pasta, 0);
  if (holder_fd < 0 || pasta_fd < 0)
    {
      husk_error_set (&err, errno, "network: pidfd_open");
      kill (pasta, SIGTERM);
      goto fail_holder;
    }
  snprintf (line, sizeof (line), "%d %" PRIu64 " %d %" PRIu64 "\n", (int) getpid (),
            husk_proc_start_time (getpid ()), (int) holder, husk_proc_start_time (holder));
  if (husk_write_file_replace_at (AT_FDCWD, holderfile, line, strlen (line), 0600, &err) < 0)
    {
      kill (pasta, SIGTERM);
      goto fail_holder;
    }
  if (write (report, "0", 1) != 1)
    {
      kill (pasta, SIGTERM);
      goto fail_holder;
    }
  close (report);
  keeper_loop (dir, holder, holder_fd, pasta, pasta_fd);

fail_holder:
  kill (holder, SIGKILL);
fail:
  {
    const char *msg = err ? err->msg : "network: failed";
    if (write (report, "1", 1) == 1 && write (report, msg, strlen (msg)) < 0)
      _exit (1);
  }
  _exit (1);
}

/* Start the keeper (and through it the holder and pasta) and wait for its word.  */
static int
start_keeper (const char *dir, struct husk_error **err)
{
  struct husk_idmap map, *mapp = NULL;
  int report[2];
  pid_t pid;
  char buf[600];
  ssize_t got;
  size_t total = 0;

  if (husk_net_tun_check (err) < 0)
    return husk_error_wrap (err, "network: pasta");
  if (geteuid () != 0)
    {
      if (husk_idmap_for_user (geteuid (), getegid (), NULL, NULL, &map, err) < 0)
        return -1;
      mapp = &map;
    }
  if (pipe2 (report, O_CLOEXEC) < 0)
    return husk_error_set (err, errno, "network: pipe");
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      close (report[0]);
      close (report[1]);
      return husk_error_set (err, errno, "network: fork");
    }
  if (pid == 0)
    {
      close (report[0]);
      /* Its own session and no parent to wait for it: a second fork, so that the keeper is
         nobody's child but pid 1's (or a subreaper's).  */
      if (fork () == 0)
        keeper_main (dir, mapp, report[1]);
      _exit (0);
    }
  close (report[1]);
  waitpid (pid, NULL, 0);
  while (total < sizeof (buf) - 1
         && (got = read (report[0], buf + total, sizeof (buf) - 1 - total)) != 0)
    {
      if (got < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      total += (size_t) got;
      if (buf[0] == '0')
        break;
    }
  close (report[0]);
  buf[total] = '\0';
  if (total > 0 && buf[0] == '0')
    return 0;
  return husk_error_set (err, 0, "%s", total > 1 ? buf + 1 : "network: its keeper ended");
}

int
husk_netns_acquire (struct husk_store *s, const char *id, pid_t *ret_holder,
                    struct husk_error **err)
{
  cleanup_free char *dir = netns_dir (s, err);
  cleanup_close int lock = -1;
  pid_t holder;

  if (dir == NULL || (lock = lock_dir (dir, err)) < 0)
    goto fail;
  /* The entry first: a keeper that is up sees a user before it could decide to stop.  */
  if (write_user (dir, id, err) < 0)
    goto fail;
  holder = read_holder (dir);
  if (holder == 0)
    {
      if (start_keeper (dir, err) < 0)
        {
          cleanup_free char *path = husk_strdup_printf ("%s/users/%s", dir, id);
          unlink (path);
          goto fail;
        }
      holder = read_holder (dir);
      if (holder == 0)
        {
          husk_error_set (err, 0, "network: its namespace's holder is gone");
          goto fail;
        }
    }
  *ret_holder = holder;
  return 0;
fail:
  (*err)->status = 125;
  return -1;
}

int
husk_netns_claim (struct husk_store *s, const char *id, struct husk_error **err)
{
  cleanup_free char *dir = netns_dir (s, err);
  if (dir == NULL)
    return -1;
  return write_user (dir, id, err);
}

void
husk_netns_release (struct husk_store *s, const char *id)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *dir = netns_dir (s, &err);
  cleanup_free char *path = NULL;

  if (dir == NULL)
    return;
  path = husk_strdup_printf ("%s/users/%s", dir, id);
  unlink (path);
}

pid_t
husk_netns_holder (struct husk_store *s)
{
  cleanup_error struct husk_error *err = NULL;
  cleanup_free char *dir = netns_dir (s, &err);
  return dir ? read_holder (dir) : 0;
}
