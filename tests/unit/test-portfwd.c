/* engine/portfwd.h against the real kernel: a "container" of the test's own (a child in a
   network namespace of its own with lo up, and a user namespace too when the test is not root)
   runs a TCP and a UDP echo server on 127.0.0.1; a forwarder started from the test's
   namespace publishes them on a free host port.  Checked: 1 and 16 MiB echoed both ways with
   a half-close each way, IPv6, two connections at once, no descriptor kept of a closed
   connection, UDP per client, a refused container port, SIGTERM, a busy port's error (and no
   child left), a namespace that cannot be joined, and the forwarder's end when the process
   that started it ends.  As root it also goes through a user namespace, as a rootless husk
   does.  Then a user network as husk makes it: a holder's namespace with a bridge, a
   container's namespace joined to it by a veth pair, the servers on the container's address,
   reached from either namespace.  Skipped when no namespace can be made.  Built twice: as
   the engine has it, and with the forwarder's read and write path instead of splice
   (test-portfwd-rw).  */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "netlink.h"
#include "portfwd.h"
#include "tap.h"
#include "util.h"

/* The container's ports, inside its namespace.  */
#define CTR_TCP 7000
#define CTR_UDP 7001
#define CTR_CLOSED 7002

#define skip(...)                                                                                  \
  do                                                                                               \
    {                                                                                              \
      tap_n++;                                                                                     \
      printf ("ok %d # SKIP ", tap_n);                                                             \
      printf (__VA_ARGS__);                                                                        \
      printf ("\n");                                                                               \
    }                                                                                              \
  while (0)

static void
write_file (const char *path, const char *s)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    husk_write_all (fd, s, strlen (s));
}

/* A connection of the echo server: everything read is written back; after the client's end,
   "bye" and an end of its own (the client's half-close passed on, and the way back still
   open after it).  */
static void __attribute__ ((noreturn)) echo_conn (int fd)
{
  static char buf[65536];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (husk_write_all (fd, buf, (size_t) n) < 0)
        _exit (1);
    }
  husk_write_all (fd, "bye", 3);
  shutdown (fd, SHUT_WR);
  close (fd);
  _exit (0);
}

/* Send what failed (WHAT and errno, or *ERR's message) on READY, and end.  */
static void __attribute__ ((noreturn))
setup_fail (int ready, const char *what, struct husk_error *err)
{
  char res[160];
  snprintf (res, sizeof (res), "%s: %s", what, err ? err->msg : strerror (errno));
  husk_write_all (ready, res, strlen (res));
  _exit (1);
}

static void
lo_up (int ready)
{
  struct ifreq ifr;
  cleanup_close int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  memset (&ifr, 0, sizeof (ifr));
  snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "lo");
  if (s < 0 || ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    setup_fail (ready, "lo", NULL);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    setup_fail (ready, "lo up", NULL);
}

/* The echo servers on IP, TCP on CTR_TCP and UDP on CTR_UDP: "ok PID" on READY (the process
   whose network namespace they are in), then they serve until the test ends.  */
static void __attribute__ ((noreturn)) serve_echo (const char *ip, int ready)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  int tfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ufd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
  char msg[32];

  inet_pton (AF_INET, ip, &a.sin_addr);
  setsockopt (tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  a.sin_port = htons (CTR_TCP);
  if (tfd < 0 || bind (tfd, (struct sockaddr *) &a, sizeof (a)) < 0 || listen (tfd, 64) < 0)
    setup_fail (ready, "echo server: tcp", NULL);
  a.sin_port = htons (CTR_UDP);
  if (ufd < 0 || bind (ufd, (struct sockaddr *) &a, sizeof (a)) < 0)
    setup_fail (ready, "echo server: udp", NULL);
  snprintf (msg, sizeof (msg), "ok %d", (int) getpid ());
  if (husk_write_all (ready, msg, strlen (msg)) < 0)
    _exit (1);
  close (ready);
  if (fork () == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (tfd);
      for (;;)
        {
          static char buf[65536];
          struct sockaddr_storage from;
          socklen_t len = sizeof (from);
          ssize_t n = recvfrom (ufd, buf, sizeof (buf), 0, (struct sockaddr *) &from, &len);
          if (n > 0)
            sendto (ufd, buf, (size_t) n, 0, (struct sockaddr *) &from, len);
        }
    }
  close (ufd);
  signal (SIGCHLD, SIG_IGN);
  for (;;)
    {
      int c = accept4 (tfd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      if (fork () == 0)
        {
          prctl (PR_SET_PDEATHSIG, SIGKILL);
          close (tfd);
          echo_conn (c);
        }
      close (c);
    }
}

/* In the holder's namespace (the caller): a bridge br0 with 10.88.0.1/24, and a child in a
   network namespace of its own (owned by the holder's user namespace) joined to it by a veth
   pair, eth0 with BRIDGED_ADDR/24 on its side, where it serves the echo servers: a user
   network as husk makes it.  */
#define BRIDGED_ADDR "10.88.0.5"
static void __attribute__ ((noreturn)) holder_with_bridge (int ready)
{
  struct husk_error *err = NULL;
  struct husk_nl *nl = husk_nl_open (NETLINK_ROUTE, &err);
  struct in_addr gw, addr;
  int sv[2], nsfd;
  char c, path[64];
  pid_t child;

  inet_pton (AF_INET, "10.88.0.1", &gw);
  inet_pton (AF_INET, BRIDGED_ADDR, &addr);
  if (nl == NULL || husk_nl_bridge_add (nl, "br0", &err) < 0
      || husk_nl_addr_add (nl, "br0", AF_INET, &gw, 24, &err) < 0
      || husk_nl_link_up (nl, "br0", &err) < 0)
    setup_fail (ready, "bridge", err);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    setup_fail (ready, "socketpair", NULL);
  child = fork ();
  if (child == 0)
    {
      struct husk_nl *cnl;
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (sv[0]);
      if (unshare (CLONE_NEWNET) < 0)
        setup_fail (ready, "unshare the container's network namespace", NULL);
      if (write (sv[1], "u", 1) != 1 || read (sv[1], &c, 1) != 1 || c != 'v')
        _exit (1);
      lo_up (ready);
      cnl = husk_nl_open (NETLINK_ROUTE, &err);
      if (cnl == NULL || husk_nl_addr_add (cnl, "eth0", AF_INET, &addr, 24, &err) < 0
          || husk_nl_link_up (cnl, "eth0", &err) < 0)
        setup_fail (ready, "eth0", err);
      husk_nl_close (cnl);
      serve_echo (BRIDGED_ADDR, ready);
    }
  close (sv[1]);
  if (child < 0 || read (sv[0], &c, 1) != 1)
    setup_fail (ready, "the container's process", NULL);
  snprintf (path, sizeof (path), "/proc/%d/ns/net", (int) child);
  nsfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || husk_nl_veth_add (nl, "veth0", "eth0", nsfd, 0, &err) < 0
      || husk_nl_link_set_master (nl, "veth0", "br0", &err) < 0
      || husk_nl_link_up (nl, "veth0", &err) < 0)
    setup_fail (ready, "veth", err);
  close (ready);
  if (write (sv[0], "v", 1) != 1)
    _exit (1);
  for (;;)
    pause ();
}

/* The container: a child in a new network namespace (and a new user namespace, mapping the
   test's user to root, when USERNS), lo up, the echo servers on 127.0.0.1; or, BRIDGED, the
   holder of a user network whose container has them on BRIDGED_ADDR.  Its pid (the process
   to stop), the pid of the process in the servers' network namespace in *RET_SERVER; or -1
   with a reason in WHY.  They end with the test (PR_SET_PDEATHSIG).  */
static pid_t
start_ctr (bool userns, bool bridged, pid_t *ret_server, char *why, size_t why_size)
{
  int ready[2];
  char res[160] = "";
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  ssize_t got = 0;
  pid_t pid;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    return -1;
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      char map[64];

      close (ready[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (unshare (CLONE_NEWNET | (userns ? CLONE_NEWUSER : 0)) < 0)
        setup_fail (ready[1], "unshare", NULL);
      if (userns)
        {
          write_file ("/proc/self/setgroups", "deny");
          snprintf (map, sizeof (map), "0 %u 1", (unsigned) uid);
          write_file ("/proc/self/uid_map", map);
          snprintf (map, sizeof (map), "0 %u 1", (unsigned) gid);
          write_file ("/proc/self/gid_map", map);
        }
      lo_up (ready[1]);
      if (bridged)
        holder_with_bridge (ready[1]);
      serve_echo ("127.0.0.1", ready[1]);
    }
  close (ready[1]);
  /* Everything the first writer sends, until every write end is closed.  */
  while (pid > 0 && got < (ssize_t) sizeof (res) - 1)
    {
      ssize_t n = read (ready[0], res + got, sizeof (res) - 1 - (size_t) got);
      if (n <= 0)
        break;
      got += n;
    }
  close (ready[0]);
  res[got > 0 ? got : 0] = '\0';
  if (strncmp (res, "ok ", 3) == 0)
    {
      *ret_server = atoi (res + 3);
      return pid;
    }
  snprintf (why, why_size, "%s", res[0] ? res : "the container's process failed");
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
  return -1;
}

static void
stop_ctr (pid_t pid)
{
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}

static int
open_ns (pid_t pid, const char *type)
{
  char path[64];
  snprintf (path, sizeof (path), "/proc/%d/ns/%s", (int) pid, type);
  return open (path, O_RDONLY | O_CLOEXEC);
}

/* A port free for both TCP and UDP on every address of the test's namespace.  */
static int
free_port (void)
{
  for (int tries = 0; tries < 50; tries++)
    {
      struct sockaddr_in a = { .sin_family = AF_INET };
      socklen_t len = sizeof (a);
      cleanup_close int t = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      cleanup_close int u = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (t < 0 || u < 0 || bind (t, (struct sockaddr *) &a, sizeof (a)) < 0
          || getsockname (t, (struct sockaddr *) &a, &len) < 0)
        return -1;
      if (bind (u, (struct sockaddr *) &a, sizeof (a)) == 0)
        return ntohs (a.sin_port);
    }
  return -1;
}

static socklen_t
addr_of (const char *ip, int port, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof (*ss));
  if (strchr (ip, ':'))
    {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *) ss;
      a->sin6_family = AF_INET6;
      a->sin6_port = htons ((uint16_t) port);
      inet_pton (AF_INET6, ip, &a->sin6_addr);
      return sizeof (*a);
    }
  struct sockaddr_in *a = (struct sockaddr_in *) ss;
  a->sin_family = AF_INET;
  a->sin_port = htons ((uint16_t) port);
  inet_pton (AF_INET, ip, &a->sin_addr);
  return sizeof (*a);
}

static int
connect_to (const char *ip, int port, int type)
{
  struct sockaddr_storage ss;
  socklen_t len = addr_of (ip, port, &ss);
  int fd = socket (ss.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect (fd, (struct sockaddr *) &ss, len) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Whether IP:PORT of TYPE can be bound in the test's namespace (nothing holds it).  */
static bool
port_free (const char *ip, int port, int type)
{
  struct sockaddr_storage ss;
  socklen_t len = addr_of (ip, port, &ss);
  cleanup_close int fd = socket (ss.ss_family, type | SOCK_CLOEXEC, 0);
  int one = 1;
  /* TCP: a connection of the port's in TIME_WAIT is no holder (a listener still is).  */
  if (fd >= 0 && type == SOCK_STREAM)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  return fd >= 0 && bind (fd, (struct sockaddr *) &ss, len) == 0;
}

static unsigned char
pattern (size_t i)
{
  return (unsigned char) (i * 7 + (i >> 9));
}

/* Send LEN bytes of a pattern on FD, half-close it, and read until the end: whether what came
   back is the same bytes and then "bye" (the echo server's answer to the half-close).  */
static bool
echo_check (int fd, size_t len)
{
  static unsigned char out[65536], in[65536];
  size_t sent = 0, recvd = 0;
  bool shut = false, good = true;

  fcntl (fd, F_SETFL, O_NONBLOCK);
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT) };
      ssize_t n;
      if (poll (&p, 1, 10000) <= 0)
        {
          printf ("# echo: timed out after %zu sent, %zu received\n", sent, recvd);
          return false;
        }
      if (!shut && (p.revents & POLLOUT))
        {
          size_t chunk = len - sent < sizeof (out) ? len - sent : sizeof (out);
          for (size_t i = 0; i < chunk; i++)
            out[i] = pattern (sent + i);
          n = write (fd, out, chunk);
          if (n > 0)
            sent += (size_t) n;
          if (sent == len)
            {
              shutdown (fd, SHUT_WR);
              shut = true;
            }
        }
      if (p.revents & (POLLIN | POLLHUP | POLLERR))
        {
          n = read (fd, in, sizeof (in));
          if (n < 0 && errno == EAGAIN)
            continue;
          if (n < 0)
            {
              printf ("# echo: read: %s\n", strerror (errno));
              return false;
            }
          if (n == 0)
            break;
          for (ssize_t i = 0; i < n; i++, recvd++)
            {
              unsigned char want = recvd < len
                                       ? pattern (recvd)
                                       : (unsigned char) "bye"[recvd - len < 3 ? recvd - len : 0];
              if (recvd >= len + 3 || in[i] != want)
                good = false;
            }
        }
    }
  if (!good || recvd != len + 3 || !shut)
    printf ("# echo: %zu sent, %zu received, %s\n", sent, recvd, good ? "same" : "different");
  return good && shut && recvd == len + 3;
}

/* One datagram MSG from a fresh socket connected to IP:PORT: whether the same comes back
   (from IP:PORT, since the socket is connected).  */
static bool
udp_check (int fd, const char *msg)
{
  char buf[128];
  struct pollfd p = { .fd = fd, .events = POLLIN };
  ssize_t n;

  /* The first datagram may go before the forwarder's flow exists: resend until answered.  */
  for (int tries = 0; tries < 20; tries++)
    {
      if (send (fd, msg, strlen (msg), 0) < 0)
        return false;
      if (poll (&p, 1, 250) == 1)
        {
          n = recv (fd, buf, sizeof (buf) - 1, 0);
          if (n < 0)
            return false;
          buf[n] = '\0';
          return strcmp (buf, msg) == 0;
        }
    }
  return false;
}

/* The children of the test process (/proc/self/task/PID/children), as a string; NULL when
   the kernel does not list them.  */
static char *
children (void)
{
  char path[64], *buf = NULL;
  size_t len;
  snprintf (path, sizeof (path), "/proc/self/task/%d/children", (int) getpid ());
  if (husk_read_file_at (AT_FDCWD, path, 65536, &buf, &len, NULL) < 0)
    return NULL;
  return buf;
}

/* Whether PID is gone (or a zombie nobody of the test's can reap), waiting up to 5 s.  */
static bool
gone_soon (pid_t pid)
{
  for (int i = 0; i < 500; i++)
    {
      char path[64], *buf = NULL;
      size_t len;
      snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
      if (husk_read_file_at (AT_FDCWD, path, 4096, &buf, &len, NULL) < 0)
        return true;
      char *close_paren = strrchr (buf, ')');
      bool zombie = close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
      free (buf);
      if (zombie)
        return true;
      usleep (10000);
    }
  return false;
}

/* How many descriptors PID has open; -1 when they cannot be listed.  */
static int
count_fds (pid_t pid)
{
  char path[64];
  cleanup_dir DIR *d = NULL;
  struct dirent *e;
  int n = 0;

  snprintf (path, sizeof (path), "/proc/%d/fd", (int) pid);
  d = opendir (path);
  if (d == NULL)
    return -1;
  while ((e = readdir (d)))
    if (e->d_name[0] != '.')
      n++;
  return n;
}

static void
port_set (struct husk_port *p, int host_port, int ctr_port, const char *proto)
{
  memset (p, 0, sizeof (*p));
  p->host_port = host_port;
  p->ctr_port = ctr_port;
  p->proto = (char *) proto;
}

/* Everything against one container (its namespaces NETNS, USERNS or -1).  */
static void
suite (int netns, int userns, const char *ctr_addr, const char *how)
{
  struct husk_error *err = NULL;
  struct husk_port ports[3];
  bool have_v6 = port_free ("::1", 0, SOCK_STREAM);
  int hp = free_port (), fd;
  pid_t fwd = 0;
  int status, fds_at_start, hp2;

  port_set (&ports[0], hp, CTR_TCP, "tcp");
  port_set (&ports[1], hp, CTR_UDP, "udp");
  do
    hp2 = free_port ();
  while (hp2 == hp);
  port_set (&ports[2], hp2, CTR_CLOSED, "tcp");
  ok (husk_portfwd_start (ports, 3, ctr_addr, netns, userns, &fwd, &err) == 0 && fwd > 0,
      "%s: forwarder started on port %d%s%s", how, hp, err ? ": " : "", err ? err->msg : "");
  husk_error_free (&err);
  if (fwd <= 0)
    return;
  fds_at_start = count_fds (fwd);

  fd = connect_to ("127.0.0.1", hp, SOCK_STREAM);
  ok (fd >= 0 && echo_check (fd, 1 << 20),
      "%s: 1 MiB echoed through 127.0.0.1:%d, half-closed both ways", how, hp);
  if (fd >= 0)
    close (fd);
  fd = connect_to ("127.0.0.1", hp, SOCK_STREAM);
  ok (fd >= 0 && echo_check (fd, 16 << 20), "%s: 16 MiB echoed", how);
  if (fd >= 0)
    close (fd);
  if (have_v6)
    {
      fd = connect_to ("::1", hp, SOCK_STREAM);
      ok (fd >= 0 && echo_check (fd, 100000), "%s: echoed through [::1]:%d", how, hp);
      if (fd >= 0)
        close (fd);
    }
  else
    skip ("no IPv6 on the host");
  {
    /* Two connections at once, the second finished while the first waits.  */
    int a = connect_to ("127.0.0.1", hp, SOCK_STREAM),
        b = connect_to ("127.0.0.1", hp, SOCK_STREAM);
    bool okb = b >= 0 && echo_check (b, 4096), oka = a >= 0 && echo_check (a, 300000);
    ok (oka && okb, "%s: two connections at once", how);
    if (a >= 0)
      close (a);
    if (b >= 0)
      close (b);
  }
  if (fds_at_start >= 0)
    {
      /* The connections' descriptors are closed once both ends have ended: right after
         the client sees its end, so wait a little.  */
      int fds = -1;
      for (int i = 0; i < 200 && (fds = count_fds (fwd)) != fds_at_start; i++)
        usleep (10000);
      ok (fds == fds_at_start,
          "%s: the forwarder holds no descriptor of the closed connections (%d, %d at its start)",
          how, fds, fds_at_start);
    }
  else
    skip ("the forwarder's descriptors cannot be listed");
  {
    int a = connect_to ("127.0.0.1", hp, SOCK_DGRAM), b = connect_to ("127.0.0.1", hp, SOCK_DGRAM);
    ok (a >= 0 && b >= 0 && udp_check (a, "ping from a") && udp_check (b, "ping from b")
            && udp_check (a, "again from a"),
        "%s: UDP echoed to each client, from the published address", how);
    if (a >= 0)
      close (a);
    if (b >= 0)
      close (b);
  }
  if (have_v6)
    {
      int a = connect_to ("::1", hp, SOCK_DGRAM);
      ok (a >= 0 && udp_check (a, "ping over IPv6"), "%s: UDP echoed over [::1]", how);
      if (a >= 0)
        close (a);
    }
  else
    skip ("no IPv6 on the host");
  {
    /* Nothing listens on the container's port: the client sees the refusal.  */
    char c;
    ssize_t n = -1;
    struct pollfd p;
    fd = connect_to ("127.0.0.1", ports[2].host_port, SOCK_STREAM);
    p.fd = fd;
    p.events = POLLIN;
    if (fd >= 0 && poll (&p, 1, 5000) == 1)
      n = read (fd, &c, 1);
    ok (fd >= 0 && (n == 0 || (n < 0 && errno == ECONNRESET)),
        "%s: a refused container port ends the client's connection (%zd, %s)", how, n,
        n < 0 ? strerror (errno) : "eof");
    if (fd >= 0)
      close (fd);
  }

  ok (kill (fwd, SIGTERM) == 0 && waitpid (fwd, &status, 0) == fwd && WIFEXITED (status)
          && WEXITSTATUS (status) == 0,
      "%s: SIGTERM ends the forwarder (status %d)", how, status);
  ok (port_free ("0.0.0.0", hp, SOCK_STREAM) && port_free ("0.0.0.0", hp, SOCK_DGRAM),
      "%s: its ports are free again", how);
}

/* The forwarder started by a process that then ends: it ends too.  That process has no
   stdio, so the listeners are descriptors 0 and 1 (which the forwarder must move before its
   stdio becomes /dev/null): it serves before that.  */
static void
parent_death (int netns, int userns)
{
  int pfd[2], go[2], hp = free_port ();
  pid_t mid, fwd = 0;
  struct husk_port port;
  char c = 0;
  int fd;

  port_set (&port, hp, CTR_TCP, "tcp");
  if (pipe2 (pfd, O_CLOEXEC) < 0 || pipe2 (go, O_CLOEXEC) < 0)
    abort ();
  fflush (stdout);
  mid = fork ();
  if (mid == 0)
    {
      struct husk_error *err = NULL;
      pid_t p = 0;
      close (pfd[0]);
      close (go[1]);
      close (0);
      close (1);
      close (2);
      if (husk_portfwd_start (&port, 1, "127.0.0.1", netns, userns, &p, &err) < 0)
        p = 0;
      if (write (pfd[1], &p, sizeof (p)) != sizeof (p) || read (go[0], &c, 1) < 0)
        _exit (1);
      _exit (0);
    }
  close (pfd[1]);
  close (go[0]);
  if (read (pfd[0], &fwd, sizeof (fwd)) != sizeof (fwd))
    fwd = 0;
  close (pfd[0]);
  fd = fwd > 0 ? connect_to ("127.0.0.1", hp, SOCK_STREAM) : -1;
  ok (fd >= 0 && echo_check (fd, 100000), "a forwarder started without stdio serves");
  if (fd >= 0)
    close (fd);
  close (go[1]);
  waitpid (mid, NULL, 0);
  ok (fwd > 0 && gone_soon (fwd), "the forwarder ends when the process that started it ends");
  ok (fwd > 0 && port_free ("0.0.0.0", hp, SOCK_STREAM), "... and its port is free again");
}

static void
errors (int netns, int userns)
{
  struct husk_error *err = NULL;
  struct husk_port port;
  cleanup_free char *before = NULL, *after = NULL, *expect = NULL;
  cleanup_close int busy = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof (a);
  pid_t fwd = 0;
  int r, hp;

  if (busy < 0 || bind (busy, (struct sockaddr *) &a, sizeof (a)) < 0 || listen (busy, 1) < 0
      || getsockname (busy, (struct sockaddr *) &a, &len) < 0)
    abort ();
  hp = ntohs (a.sin_port);
  port_set (&port, hp, CTR_TCP, "tcp");
  before = children ();
  r = husk_portfwd_start (&port, 1, "127.0.0.1", netns, userns, &fwd, &err);
  after = children ();
  expect = husk_strdup_printf ("port %d/tcp: 0.0.0.0:%d: Address already in use", hp, hp);
  ok (r < 0 && err && err->errnum == EADDRINUSE && fwd == 0, "a busy port is an error");
  is_str (err ? err->msg : NULL, expect, "... naming the port and the address");
  if (before && after)
    is_str (after, before, "... and no process is left");
  else
    skip ("the kernel lists no children");
  husk_error_free (&err);

  /* A descriptor that is no namespace: the forwarder's setns fails, and it is reaped.  */
  {
    cleanup_close int bad = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    free (before);
    before = children ();
    hp = free_port ();
    port_set (&port, hp, CTR_TCP, "tcp");
    r = husk_portfwd_start (&port, 1, "127.0.0.1", bad, -1, &fwd, &err);
    ok (r < 0 && err
            && husk_str_has_prefix (err->msg, "port forwarder: join the network namespace: ")
            && fwd == 0,
        "a namespace that cannot be joined is the forwarder's error (%s)", err ? err->msg : "");
    free (after);
    after = children ();
    if (before && after)
      is_str (after, before, "... and the forwarder is reaped");
    else
      skip ("the kernel lists no children");
    ok (port_free ("0.0.0.0", hp, SOCK_STREAM), "... and the port is free again");
    husk_error_free (&err);
  }

  port_set (&port, 0, CTR_TCP, "tcp");
  r = husk_portfwd_start (&port, 1, "127.0.0.1", netns, userns, &fwd, &err);
  ok (r < 0 && err && err->errnum == EINVAL, "a host port of 0 is refused");
  husk_error_free (&err);
  port_set (&port, free_port (), CTR_TCP, "tcp");
  r = husk_portfwd_start (&port, 1, "10.88.0.300", netns, userns, &fwd, &err);
  is_str (err ? err->msg : NULL,
          "port forwarder: container address \"10.88.0.300\": Invalid argument",
          "a container address that does not parse is refused");
  husk_error_free (&err);
}

int
main (void)
{
  char why[160] = "";
  bool root = geteuid () == 0;
  pid_t ctr, server;
  int netns, userns = -1;

  alarm (300);
  signal (SIGPIPE, SIG_IGN);
  ctr = start_ctr (!root, false, &server, why, sizeof (why));
  if (ctr < 0)
    {
      skip ("no network namespace of the test's own: %s", why);
      return tap_done ();
    }
  netns = open_ns (ctr, "net");
  if (!root)
    userns = open_ns (ctr, "user");
  suite (netns, userns, "127.0.0.1", root ? "netns" : "userns");
  errors (netns, userns);
  parent_death (netns, userns);
  close (netns);
  if (userns >= 0)
    close (userns);
  stop_ctr (ctr);

  if (root)
    {
      /* A rootless husk's case: the namespace is owned by a user namespace, joined first.  */
      ctr = start_ctr (true, false, &server, why, sizeof (why));
      if (ctr < 0)
        skip ("no user namespace: %s", why);
      else
        {
          netns = open_ns (ctr, "net");
          userns = open_ns (ctr, "user");
          suite (netns, userns, "127.0.0.1", "userns");
          close (netns);
          close (userns);
          stop_ctr (ctr);
        }
    }

  /* A user network: the container's address reached over a bridge from the holder's
     namespace, and from inside the container's own.  */
  ctr = start_ctr (!root, true, &server, why, sizeof (why));
  if (ctr < 0)
    skip ("no bridge of the test's own: %s", why);
  else
    {
      int ctrns = open_ns (server, "net");
      netns = open_ns (ctr, "net");
      userns = root ? -1 : open_ns (ctr, "user");
      suite (netns, userns, BRIDGED_ADDR, "bridge, from the holder's namespace");
      suite (ctrns, userns, BRIDGED_ADDR, "bridge, from the container's namespace");
      close (ctrns);
      close (netns);
      if (userns >= 0)
        close (userns);
      stop_ctr (ctr);
    }
  return tap_done ();
}
